# XDS.b black-box tests (issue 4): real nodes over the wire.
add_test(NAME crash.iti41 COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/crash_iti41.sh ${CMAKE_BINARY_DIR})
set_tests_properties(crash.iti41 PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# Benchmarks (scripts/bench registry)
include(${CMAKE_CURRENT_SOURCE_DIR}/bench/xds.cmake)
