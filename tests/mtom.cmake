# MTOM/XOP tests (node/mtom.c): the unit test, and interop both ways with an
# independent implementation (Python's standard email package), through a
# small driver, tests/interop/mtom_tool.c.
add_executable(test_mtom unit/test_mtom.c)
target_link_libraries(test_mtom hie_testutil hie_xca hie_registry hie_mpi hie_certs hie_core
                      nng::nng PkgConfig::CMOCKA pthread)
add_test(NAME unit.mtom COMMAND test_mtom)
set_tests_properties(unit.mtom PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 120)

add_executable(mtom_tool interop/mtom_tool.c)
target_link_libraries(mtom_tool hie_core)
add_test(NAME interop.mtom COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop_mtom.sh $<TARGET_FILE:mtom_tool>)
set_tests_properties(interop.mtom PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 120)
