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

set_tests_properties(corpus.hl7v2 interop.mllp_send PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 120)

# ADT^A04 ingest over MLLP with pipelining (scripts/bench hl7, crash.hl7);
# never run as a test by itself.
add_executable(bench_hl7 bench/bench_hl7.c)
target_link_libraries(bench_hl7 pthread)
