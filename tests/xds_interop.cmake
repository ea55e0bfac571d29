# XDS.b interop (tests/interop_xds.sh): one real node, the IHE samples of
# ${HIE_CORPUS}/ihe and our own ITI-18/41/43 requests sent by an independent
# python3-lxml/xmlsec client, every response validated with xmllint against
# the official schemas in ${HIE_CORPUS}/schemas.  Skipped (77) without the
# corpus: the schemas live there.
add_test(NAME interop.xds COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/interop_xds.sh ${CMAKE_BINARY_DIR})
set_tests_properties(interop.xds PROPERTIES
  ENVIRONMENT "HIE_SOURCE_DIR=${CMAKE_SOURCE_DIR};HIE_CORPUS=${HIE_CORPUS}"
  SKIP_RETURN_CODE 77 TIMEOUT 300)
