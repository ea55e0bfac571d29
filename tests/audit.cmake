# Audit, privacy and consent (issue 9): ATNA records (and their schema
# validity with the corpus), consent enforcement in the responder, and the
# node-level test (consent on real nodes, disclosures, fail-closed audit).
foreach(t atna consent)
  add_executable(test_${t} unit/test_${t}.c)
  target_link_libraries(test_${t} hie_testutil hie_xca hie_registry hie_mpi hie_certs hie_core
                        nng::nng PkgConfig::CMOCKA pthread)
  add_test(NAME unit.${t} COMMAND test_${t})
  set_tests_properties(unit.${t} PROPERTIES
    ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

add_test(NAME corpus.atna_schema COMMAND test_atna schema)
set_tests_properties(corpus.atna_schema PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 120)

# Real nodes: consent through the CLI and the JSON API, invisible patients,
# the disclosures report, ATNA from the running trail, fail-closed audit.
add_executable(lmdb_fill unit/lmdb_fill.c)
target_link_libraries(lmdb_fill hie_core)
add_test(NAME audit.node COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/audit_node.sh ${CMAKE_BINARY_DIR} ${HIE_CORPUS})
set_tests_properties(audit.node PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# Forwarding to an audit repository (ITI-20, RFC 5424 syslog over TLS): a
# real node and an independent Python receiver (tests/audit/syslog_receiver.py).
add_test(NAME audit.forward COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/audit_forward.sh ${CMAKE_BINARY_DIR} ${HIE_CORPUS})
set_tests_properties(audit.forward PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)
