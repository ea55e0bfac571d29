#!/usr/bin/python3
"""tests/interop/zeep_py.py -- python3-zeep's WS-Security signature
(zeep.wsse.signature.BinarySignature) as an independent peer of hie-node.

  sign IN.xml KEY CERT [--assertion FROM.xml] [--plain] [--sha1]
      IN.xml signed by zeep, to stdout.  Without --plain it carries what
      hie-node's policy needs: a wsu:Timestamp (zeep.wsse.utils), the XUA
      assertion copied from FROM.xml (a message `hie-node soap sign` made:
      the assertion is issued and signed by the sending node), and
      references over the WS-Addressing headers and the assertion besides
      the Body and Timestamp zeep signs by itself; ECDSA-SHA256 and SHA-256.
      --plain: zeep exactly as it comes (Body and Timestamp only);
      --sha1: zeep's default digests (SHA-1).
  verify IN.xml CERT
      zeep.wsse.signature.verify_envelope on a hie-node response.
  post URL IN.xml OUT.xml
      POSTs IN.xml with zeep's transport (requests); writes the answer to
      OUT.xml, prints the HTTP status.
"""
import datetime
import sys

from lxml import etree  # before xmlsec: the other order breaks lxml's parser here

import xmlsec
from zeep import ns
from zeep.transports import Transport
from zeep.wsse import signature as zsig
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

WSA = "http://www.w3.org/2005/08/addressing"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def extend_references(assertion):
    """zeep signs the Body and the Timestamp.  hie-node also requires the
    wsa headers and the assertion to be covered, so wrap zeep's own
    _sign_node: when it signs the Body, sign those too in the same
    signature.  The assertion is referenced by its SAML ID (giving it a
    wsu:Id, as zeep's ensure_id would, would break its own signature)."""
    orig = zsig._sign_node

    def sign_node(ctx, signature, target, digest_method=None):
        orig(ctx, signature, target, digest_method)
        if etree.QName(target).localname != "Body":
            return
        header = target.getparent().find("{%s}Header" % SOAP12)
        for h in header:
            if isinstance(h.tag, str) and etree.QName(h).namespace == WSA:
                orig(ctx, signature, h, digest_method)
        if assertion is not None:
            ctx.register_id(assertion, "ID")
            ref = xmlsec.template.add_reference(signature, digest_method, uri="#" + assertion.get("ID"))
            xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)

    zsig._sign_node = sign_node


def sign(args):
    path, key, cert = args[:3]
    plain = "--plain" in args
    digest = xmlsec.Transform.SHA1 if "--sha1" in args else xmlsec.Transform.SHA256
    env = etree.parse(path).getroot()
    security = get_security_header(env)
    security.set("{%s}mustUnderstand" % SOAP12, "true")
    created = get_timestamp(zulu_timestamp=True)
    expires = get_timestamp(datetime.datetime.utcnow() + datetime.timedelta(minutes=4), zulu_timestamp=True)
    security.append(WSU.Timestamp(WSU.Created(created), WSU.Expires(expires)))
    assertion = None
    if "--assertion" in args:
        src = etree.parse(args[args.index("--assertion") + 1]).getroot()
        assertion = src.find(".//{%s}Assertion" % SAML)
        security.append(assertion)
    if not plain:
        extend_references(assertion)
    zsig.BinarySignature(key, cert, signature_method=xmlsec.Transform.ECDSA_SHA256, digest_method=digest).apply(env, {})
    sys.stdout.write(etree.tostring(env).decode())


def verify(args):
    env = etree.parse(args[0]).getroot()
    zsig.verify_envelope(env, args[1])  # raises SignatureVerificationFailed
    print("ok: zeep verified the signature")


def post(args):
    url, path, out = args
    env = etree.parse(path).getroot()
    action = env.find("{%s}Header/{%s}Action" % (SOAP12, WSA)).text
    headers = {"Content-Type": 'application/soap+xml; charset=utf-8; action="%s"' % action}
    r = Transport().post_xml(url, env, headers)
    open(out, "wb").write(r.content)
    print(r.status_code)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("sign", "verify", "post"):
        sys.exit(__doc__)
    {"sign": sign, "verify": verify, "post": post}[sys.argv[1]](sys.argv[2:])
