# XCPD, PIX v3, PDQ v3 (issue 5) and XCPD discovery (issue 8): the HL7 v3
# codec on our own messages, the corpus samples and the NE2008 schemas
# (corpus.v3, skipped without the corpus), and the responders and
# discovery between real peers (mTLS, signatures, LMDB MPIs).
foreach(t v3 xcpd)
  add_executable(test_${t} unit/test_${t}.c)
  target_link_libraries(test_${t} hie_testutil hie_xca hie_registry hie_mpi hie_certs hie_core
                        nng::nng PkgConfig::CMOCKA m pthread)
  add_test(NAME unit.${t} COMMAND test_${t})
  set_tests_properties(unit.${t} PROPERTIES
    ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

add_test(NAME corpus.v3 COMMAND test_v3 corpus)
set_tests_properties(corpus.v3 PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 120)

# Real nodes (hie-node, hie-certs, hie-mpi) on loopback: ITI-55, PIX v3,
# PDQ v3 over HTTP, and issue 8's discovery-first query between four nodes.
add_test(NAME xcpd.e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/xcpd_e2e.sh ${CMAKE_BINARY_DIR})
set_tests_properties(xcpd.e2e PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# Benchmark (scripts/bench xcpd); built with the tests, never run by ctest.
add_executable(bench_xcpd bench/bench_xcpd.c)
target_link_libraries(bench_xcpd hie_xca hie_registry hie_mpi hie_core)
