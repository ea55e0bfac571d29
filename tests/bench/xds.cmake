# XDS.b over HTTP benchmark (scripts/bench registry); never run by ctest.
add_executable(bench_xds_http bench/bench_xds_http.c)
target_link_libraries(bench_xds_http hie_registry hie_core PkgConfig::CURL pthread)
