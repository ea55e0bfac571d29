#!/usr/bin/python3
"""tests/interop/xmlsec_py.py -- python3-xmlsec (lxml) as an independent
WS-Security peer for hie-node.

  verify SIGNED.xml CERT.pem   verify the message signature and the XUA
                               assertion's signature of a hie-node message
  sign IN.xml KEY.pem CERT.pem write IN.xml signed as a WS-Security response
                               (Timestamp, X.509 token, signature over
                               Timestamp, wsa headers and Body) to stdout
Exit 0 on success.
"""
import base64
import datetime
import sys
import uuid

import xmlsec
from lxml import etree

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml2": "urn:oasis:names:tc:SAML:2.0:assertion",
}
WSU_ID = "{%s}Id" % NS["wsu"]
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
B64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"


def register_ids(root):
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get(WSU_ID) is not None:
            xmlsec.tree.add_ids(el, [WSU_ID.split("}")[1]])
        if el.get("ID") is not None:
            xmlsec.tree.add_ids(el, ["ID"])


def verify(path, cert):
    root = etree.parse(path).getroot()
    register_ids(root)
    key = xmlsec.Key.from_file(cert, xmlsec.constants.KeyDataFormatCertPem)
    sigs = [
        root.find("s:Header/wsse:Security/ds:Signature", NS),
        root.find("s:Header/wsse:Security/saml2:Assertion/ds:Signature", NS),
    ]
    for sig in sigs:
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        ctx.verify(sig)  # raises on failure
    print("ok: %d signatures verified" % len(sigs))


def sign(path, keyfile, certfile):
    root = etree.parse(path).getroot()
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    sec = etree.SubElement(header, "{%s}Security" % NS["wsse"], nsmap={"wsse": NS["wsse"], "wsu": NS["wsu"]})
    sec.set("{%s}mustUnderstand" % NS["s"], "true")
    now = datetime.datetime.utcnow().replace(microsecond=0)
    ts = etree.SubElement(sec, "{%s}Timestamp" % NS["wsu"])
    etree.SubElement(ts, "{%s}Created" % NS["wsu"]).text = now.isoformat() + "Z"
    etree.SubElement(ts, "{%s}Expires" % NS["wsu"]).text = (now + datetime.timedelta(minutes=4)).isoformat() + "Z"
    der = open(certfile).read().split("-----")[2]
    bst = etree.SubElement(sec, "{%s}BinarySecurityToken" % NS["wsse"], ValueType=X509V3, EncodingType=B64)
    bst.text = "".join(der.split())
    bst.set(WSU_ID, "X509-" + uuid.uuid4().hex)
    targets = [ts] + [h for h in header if h.tag.startswith("{%s}" % NS["a"])] + [body]
    for t in targets:
        t.set(WSU_ID, "id-" + uuid.uuid4().hex)
    register_ids(root)
    sig = xmlsec.template.create(root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.ECDSA_SHA256, ns="ds")
    sec.append(sig)
    for t in targets:
        ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256, uri="#" + t.get(WSU_ID))
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    ki = xmlsec.template.ensure_key_info(sig)
    strf = etree.SubElement(ki, "{%s}SecurityTokenReference" % NS["wsse"])
    etree.SubElement(strf, "{%s}Reference" % NS["wsse"], URI="#" + bst.get(WSU_ID), ValueType=X509V3)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(keyfile, xmlsec.constants.KeyDataFormatPem)
    ctx.sign(sig)
    sys.stdout.write(etree.tostring(root).decode())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
