# MPI tests (issue 5): unit tests of mpi/ and the FEBRL evaluation.
foreach(t mpi_compare mpi_em mpi_store mpi_bulk)
  add_executable(test_${t} unit/test_${t}.c)
  target_link_libraries(test_${t} hie_testutil hie_mpi hie_registry hie_certs hie_core
                        PkgConfig::CMOCKA m pthread)
  add_test(NAME unit.${t} COMMAND test_${t})
  set_tests_properties(unit.${t} PROPERTIES
    ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# Matching on every repeat of names and addresses; the HL7 v2 PID parser
# (hie_hl7feed) and the v3 query parser fill the repeats.
add_executable(test_mpi_repeat unit/test_mpi_repeat.c)
target_link_libraries(test_mpi_repeat hie_testutil hie_hl7feed hie_mpi hie_registry hie_certs hie_core
                      PkgConfig::CMOCKA m pthread)
add_test(NAME unit.mpi_repeat COMMAND test_mpi_repeat)
set_tests_properties(unit.mpi_repeat PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)

# FEBRL accuracy: hie-mpi eval on datasets 1-3, F1 >= 0.98 each (skipped
# where the corpus is absent).
add_test(NAME corpus.febrl COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/corpus_febrl.sh ${CMAKE_BINARY_DIR} ${HIE_CORPUS})
set_tests_properties(corpus.febrl PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# Benchmark (scripts/bench mpi); built with the tests, never run by ctest.
add_executable(bench_mpi bench/bench_mpi.c)
target_link_libraries(bench_mpi hie_mpi hie_core m)
