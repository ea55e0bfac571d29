# HL7 v2 tests (issue 6): parser, MLLP listener, interop with mllp_send.
