#!/usr/bin/python3
"""tests/trust/xsw.py -- XML signature wrapping against a running node, made
by an independent tool (python3-lxml) from a message hie-node signed.

  xsw.py SIGNED.xml OUTDIR   writes OUTDIR/xsw-<target>-<variant>-<idmode>.xml

Variants (Somorovsky et al., "On Breaking SAML", 2012, mapped to SOAP as in
tests/unit/test_wss_attacks.c): the signed original is hidden (2: before the
message signature; 4: inside the forged copy; 5: at the end of the Header;
7: inside an unknown Extensions element) while a falsified copy -- patient
DEMO-6666, clinician Dr. Mallory -- stands where the node reads.  idmode
"same" keeps the signed id on the copy (duplicate ids), "fresh" gives it a
new one (the signature itself still verifies).
"""
import copy
import os
import sys

from lxml import etree

S = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"s": S, "wsse": WSSE, "ds": DS, "saml2": SAML}


def falsify(el):
    for e in el.iter():
        if isinstance(e.tag, str) and e.text:
            e.text = e.text.replace("DEMO-1001", "DEMO-6666").replace("Dr. Anna Lee", "Dr. Mallory")


def variant(src, target, v, idmode):
    root = etree.fromstring(src)
    sec = root.find("s:Header/wsse:Security", NS)
    orig = root.find("s:Body", NS) if target == "body" else sec.find("saml2:Assertion", NS)
    evil = copy.deepcopy(orig)
    falsify(evil)
    if idmode == "fresh":
        attr = "{%s}Id" % WSU if target == "body" else "ID"
        evil.set(attr, "_evil-0001")
    orig.addprevious(evil)
    orig.getparent().remove(orig)
    if v == 2:
        sec.find("ds:Signature", NS).addprevious(orig)
    elif v == 4:
        (evil[0] if target == "body" else evil).append(orig)
    elif v == 5:
        root.find("s:Header", NS).append(orig)
    elif v == 7:
        ext = etree.SubElement(sec, "{urn:example:wrapper}Extensions")
        ext.append(orig)
    return etree.tostring(root)


def main():
    src = open(sys.argv[1], "rb").read()
    for target in ("body", "assertion"):
        for v in (2, 4, 5, 7):
            for idmode in ("same", "fresh"):
                name = "xsw-%s-%d-%s.xml" % (target, v, idmode)
                with open(os.path.join(sys.argv[2], name), "wb") as f:
                    f.write(variant(src, target, v, idmode))


if __name__ == "__main__":
    main()
