# tests/trust.cmake -- signed SOAP and network trust (issue 7): the attack
# cases against inbound verification, hostile input against a running node,
# interop with independent WS-Security implementations, the signed peer
# directory and the certificate lifecycle.
add_executable(test_wss_attacks unit/test_wss_attacks.c)
target_link_libraries(test_wss_attacks hie_testutil hie_registry hie_certs hie_core PkgConfig::CMOCKA)
add_test(NAME unit.wss_attacks COMMAND test_wss_attacks)
set_tests_properties(unit.wss_attacks PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)

# A member node's raw sender over the peer link, for black-box tests.
add_executable(peer_send trust/peer_send.c)
target_link_libraries(peer_send hie_core nng::nng)

# A running node under attack over HTTP and over the peer link.
add_test(NAME trust.hostile COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trust_hostile.sh ${CMAKE_BINARY_DIR})
set_tests_properties(trust.hostile PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# python3-zeep's WS-Security signature and the xmlsec1 CLI against
# hie-node soap verify and a running node.
add_test(NAME interop.zeep COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop_zeep.sh ${CMAKE_BINARY_DIR})
set_tests_properties(interop.zeep PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# The signed peer directory with real nodes: forged directories, identity
# from the signature, adding a hospital.
add_test(NAME trust.directory COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trust_directory.sh ${CMAKE_BINARY_DIR})
set_tests_properties(trust.directory PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# Certificate lifecycle on a running federation: queries during SIGHUPs
# and a rotation; the old certificate until revoked.
add_test(NAME trust.lifecycle COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/trust_lifecycle.sh ${CMAKE_BINARY_DIR})
set_tests_properties(trust.lifecycle PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" SKIP_RETURN_CODE 77 TIMEOUT 300)

# The signed peer directory: parsing, signatures, the verifier's members.
add_executable(test_directory unit/test_directory.c)
target_link_libraries(test_directory hie_testutil hie_registry hie_certs hie_core PkgConfig::CMOCKA)
add_test(NAME unit.directory COMMAND test_directory)
set_tests_properties(unit.directory PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)

# dsig's direct exclusive C14N against libxml2's, subtree by subtree.
add_executable(test_dsig_c14n unit/test_dsig_c14n.c)
target_link_libraries(test_dsig_c14n hie_testutil hie_registry hie_certs hie_core PkgConfig::CMOCKA)
add_test(NAME unit.dsig_c14n COMMAND test_dsig_c14n)
set_tests_properties(unit.dsig_c14n PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR}" TIMEOUT 120)

# The replay cache on a real LMDB: replays, expiry, all-or-none, the bound.
add_executable(test_replay unit/test_replay.c)
target_link_libraries(test_replay hie_testutil hie_core PkgConfig::CMOCKA)
add_test(NAME unit.replay COMMAND test_replay)

# Message and request ids: form, no repeats across threads, none shared
# with a forked child.
add_executable(test_ids unit/test_ids.c)
target_link_libraries(test_ids hie_testutil hie_core PkgConfig::CMOCKA)
add_test(NAME unit.ids COMMAND test_ids)
