#!/usr/bin/python3
"""tests/interop/xcpd_py.py -- an independent HL7 v3 client (lxml,
python3-xmlsec, urllib; the signing code of xds_py.py) for
tests/xcpd_e2e.sh: sends the IHE sample messages of the corpus and our own
queries to a node, signed as a member node, and checks each answer.

  xcpd_py.py --url http://127.0.0.1:PORT --key K --cert C --community URN
             --audience URN --node-cert NODE.crt --corpus DIR --out DIR
             --eve FILE

Each case: HTTP 200, the response signature verifies with the node's
certificate (python3-xmlsec), the v3 payload validates with xmllint against
the NE2008 schema of its interaction, and acknowledgement / queryResponseCode
are what the case expects.  One line per case; exit 1 on any failure.
"""
import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xds_py  # noqa: E402  (Signer, envelope, verify_response)
from lxml import etree  # noqa: E402

V3 = "urn:hl7-org:v3"
NSV = {"v": V3}


def v3_payload(path, community_oid):
    """The sample's v3 message, its sender speaking for our community."""
    # From bytes: after python3-xmlsec has verified a signature, lxml's
    # parse(filename) fails with an empty XMLSyntaxError here.
    with open(path, "rb") as f:
        root = etree.fromstring(f.read())
    if root.tag != "{%s}PRPA_IN201305UV02" % V3 and root.tag != "{%s}PRPA_IN201309UV02" % V3:
        root = root.find(".//{%s}PRPA_IN201305UV02" % V3)
    for org_id in root.findall("v:sender/v:device/v:asAgent/v:representedOrganization/v:id", NSV):
        org_id.set("root", community_oid)
    return root


def main():
    p = argparse.ArgumentParser()
    for a in ("url", "key", "cert", "community", "audience", "node-cert", "corpus", "out", "eve"):
        p.add_argument("--" + a, required=True)
    a = p.parse_args()
    signer = xds_py.Signer(a.key, a.cert, a.community, a.audience)
    xsd_dir = os.path.join(a.corpus, "schemas", "ihe-iti", "HL7V3", "NE2008", "multicacheschemas")
    os.makedirs(a.out, exist_ok=True)
    oid = a.community.replace("urn:oid:", "")
    ihe = os.path.join(a.corpus, "ihe")
    pix = os.path.join(a.corpus, "schemas", "samples", "pixv3_ITI-45_PRPA_IN201309UV02_query.xml")
    cases = [
        # name, path, action, payload file, expected ack/qrc, response interaction
        ("IHE ITI-55 sample (Jimmy Jones, unknown here)", "/xcpd/iti55",
         "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery",
         os.path.join(ihe, "ipf_ITI-55_XCPD_request.xml"), "AA/NF", "PRPA_IN201306UV02"),
        ("our ITI-55 for Eve", "/xcpd/iti55", "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery",
         a.eve, "AA/OK", "PRPA_IN201306UV02"),
        ("IHE ITI-47 sample (unknown scoping organizations)", "/pdq/iti47", "urn:hl7-org:v3:PRPA_IN201305UV02",
         os.path.join(ihe, "ipf_ITI-47_PDQv3_query.xml"), "AA/NF", "PRPA_IN201306UV02"),
        ("our ITI-47 for Eve", "/pdq/iti47", "urn:hl7-org:v3:PRPA_IN201305UV02", a.eve, "AA/OK",
         "PRPA_IN201306UV02"),
        ("IHE ITI-45 sample (an id this node never saw)", "/pix/iti45", "urn:hl7-org:v3:PRPA_IN201309UV02", pix,
         "AE/AE", "PRPA_IN201310UV02"),
    ]
    fail = 0
    for i, (name, path, action, src, want, interaction) in enumerate(cases):
        url = a.url + path
        root = xds_py.envelope(action, url, v3_payload(src, oid))
        signer.sign(root)
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": 'application/soap+xml; charset=UTF-8; action="%s"' % action})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        problems = []
        if status != 200:
            problems.append("HTTP %d" % status)
        sig = xds_py.verify_response(body, a.node_cert)
        if sig != "ok":
            problems.append("signature " + sig)
        got = "?"
        try:
            resp = etree.fromstring(body)
            msg = resp.find(".//{%s}%s" % (V3, interaction))
            ack = msg.find("v:acknowledgement/v:typeCode", NSV).get("code")
            qrc = msg.find("v:controlActProcess/v:queryAck/v:queryResponseCode", NSV).get("code")
            got = "%s/%s" % (ack, qrc)
            out = os.path.join(a.out, "resp%d.xml" % i)
            etree.ElementTree(etree.fromstring(etree.tostring(msg))).write(out)
            r = subprocess.run(["xmllint", "--noout", "--nonet", "--schema",
                                os.path.join(xsd_dir, interaction + ".xsd"), out], capture_output=True, text=True)
            if r.returncode != 0:
                problems.append("schema: " + " | ".join(r.stderr.strip().splitlines()[:2]))
        except Exception as ex:  # not XML, not the interaction
            problems.append("unreadable response: %s" % ex)
        if got != want:
            problems.append("got %s, want %s" % (got, want))
        print("%s - %s: %s%s" % ("ok  " if not problems else "FAIL", name, got,
                                  "" if not problems else " (" + "; ".join(problems) + ")"))
        fail += bool(problems)
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
