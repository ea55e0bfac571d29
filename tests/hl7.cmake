# HL7 v2 tests (issue 6): parser, MLLP listener, interop with mllp_send.
foreach(t hl7 mllp)
  add_executable(test_${t} unit/test_${t}.c)
  target_link_libraries(test_${t} hie_testutil hie_core nng::nng PkgConfig::CMOCKA pthread)
  add_test(NAME unit.${t} COMMAND test_${t})
  set_tests_properties(unit.${t} PROPERTIES
    ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# Every message of ../shared/corpus/hl7v2 (tests/data/corpus_hl7v2.expect).
add_test(NAME corpus.hl7v2 COMMAND test_hl7 corpus)

# A listener process for black-box tests: parses and acknowledges.
add_executable(mllp_echo_server unit/mllp_echo_server.c)
target_link_libraries(mllp_echo_server hie_core nng::nng pthread)
add_test(NAME interop.mllp_send COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop_mllp.sh ${CMAKE_BINARY_DIR} ${HIE_CORPUS})

# interop.mllp_send starts python3 once per corpus file: minutes on a busy machine.
set_tests_properties(corpus.hl7v2 interop.mllp_send PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 400)

# ADT^A04 ingest over MLLP with pipelining (scripts/bench hl7, crash.hl7);
# never run as a test by itself.
add_executable(bench_hl7 bench/bench_hl7.c)
target_link_libraries(bench_hl7 pthread)

# The corpus against a real node: the answers and MPI/registry changes of
# tests/data/corpus_hl7v2.expect (columns 4-5).
add_test(NAME corpus.hl7v2_node COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/corpus_hl7v2_node.sh ${CMAKE_BINARY_DIR} ${HIE_CORPUS})
set_tests_properties(corpus.hl7v2_node PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# kill -9 during a stream of ADT: everything acknowledged AA is in the MPI.
add_test(NAME crash.hl7 COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/crash_hl7.sh ${CMAKE_BINARY_DIR})
set_tests_properties(crash.hl7 PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 600)

# python3-hl7's mllp_send against a real node: ADT to the MPI, MDM/ORU to
# the registry, PIX/PDQ over v2, retransmission, and hostile input.
add_test(NAME interop.mllp_node COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop_mllp_node.sh ${CMAKE_BINARY_DIR})
set_tests_properties(interop.mllp_node PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# The feed in process: PID mapping and the ADT/MDM cases on a real LMDB.
add_executable(test_hl7_feed unit/test_hl7_feed.c)
target_link_libraries(test_hl7_feed hie_testutil hie_hl7feed hie_core PkgConfig::CMOCKA pthread)
add_test(NAME unit.hl7_feed COMMAND test_hl7_feed)
set_tests_properties(unit.hl7_feed PROPERTIES TIMEOUT 120)

# MLLP over mutual TLS (tls+tcp://): member certificate answered, others refused.
add_test(NAME hl7.tls COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/hl7_tls.sh ${CMAKE_BINARY_DIR})
set_tests_properties(hl7.tls PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 120)

# Enhanced-mode application acknowledgements ([hl7] app_ack_routes) to an
# independent MLLP receiver (python3-hl7's asyncio server): MSH-16
# AL/ER/SU/NE, retry, a node crash, the bounded queue, a tls+tcp:// route.
add_test(NAME hl7.appack COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/hl7_appack.sh ${CMAKE_BINARY_DIR})
set_tests_properties(hl7.appack PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)
