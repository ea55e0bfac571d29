# Tests of the cross-community gateway (issue 8), kept here so that work on
# other modules does not collide with it in tests/CMakeLists.txt.
foreach(t fanout_faults xca_cache fanout_stream)
  add_executable(test_${t} unit/test_${t}.c)
  target_link_libraries(test_${t} hie_testutil hie_xca hie_registry hie_mpi hie_certs hie_core
                        nng::nng PkgConfig::CMOCKA pthread)
  add_test(NAME unit.${t} COMMAND test_${t})
  set_tests_properties(unit.${t} PROPERTIES
    ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
    SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()

# The JSON API, referral workflow and result cache on real nodes.
add_test(NAME gateway.api COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gateway_api.sh ${CMAKE_BINARY_DIR})
set_tests_properties(gateway.api PROPERTIES ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 300)

# An https:// peer (libcurl) in front of a real node, next to an nng peer.
add_test(NAME gateway.https COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gateway_https.sh ${CMAKE_BINARY_DIR})
set_tests_properties(gateway.https PROPERTIES ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 300)

# The fan-out tests' shared scaffolding (unit/fanout_peers.h): responder
# peers over mutual TLS, the coordinator's certificate and directory, and
# waiting for a query.  test_fanout and test_xcpd are defined in
# CMakeLists.txt and xcpd.cmake; they link it from here.
add_library(hie_testpeers STATIC unit/fanout_peers.c)
target_link_libraries(hie_testpeers PUBLIC hie_testutil hie_xca hie_registry hie_mpi hie_certs hie_core nng::nng)
foreach(t fanout fanout_faults fanout_stream xcpd)
  target_link_libraries(test_${t} hie_testpeers)
endforeach()
