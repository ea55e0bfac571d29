# tests/trust.cmake -- signed SOAP and network trust (issue 7): the attack
# cases against inbound verification, hostile input against a running node,
# interop with independent WS-Security implementations, the signed peer
# directory and the certificate lifecycle.
add_executable(test_wss_attacks unit/test_wss_attacks.c)
target_link_libraries(test_wss_attacks hie_testutil hie_registry hie_certs hie_core PkgConfig::CMOCKA)
add_test(NAME unit.wss_attacks COMMAND test_wss_attacks)
set_tests_properties(unit.wss_attacks PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)
