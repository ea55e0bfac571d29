#!/usr/bin/python3
"""tests/interop/mtom_py.py -- the Python side of tests/interop_mtom.sh.

An independent MIME implementation (the standard library's email package)
against node/mtom.c, both ways:

  mtom_py.py make DIR
      writes an MTOM message as Python builds it: DIR/ctype (the HTTP
      Content-Type value), DIR/body, and DIR/expect, what mtom_tool parse
      must print for it.  The root is not the first part (start= names it),
      attachments are base64 and 8bit, one is empty, ids need %-escaping.
  mtom_py.py check DIR ACTION
      parses DIR/ctype + DIR/body (written by mtom_tool build) and compares
      every attachment listed in DIR/ids byte for byte with its file.
"""
import hashlib
import os
import sys
import uuid
import xml.etree.ElementTree as ET
from base64 import b64encode
from email import policy
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.parser import BytesParser
from urllib.parse import quote, unquote

XOP = "http://www.w3.org/2004/08/xop/include"
SOAP = "http://www.w3.org/2003/05/soap-envelope"


def sha1(b):
    return hashlib.sha1(b).hexdigest()


def make(d):
    os.makedirs(d, exist_ok=True)
    rnd = os.urandom(70000)
    nasty = bytes(range(256)) + b"\r\n--===============\r\n--\r\n\r\n\n\r--x--\r\n"
    text8 = "<ClinicalDocument>h\u00e9llo w\u00f6rld</ClinicalDocument>".encode("utf-8")
    inline = b"inline \x00\x01 bytes"
    atts = []  # (id, bytes, part)
    for i, (data, kind) in enumerate([(rnd, "b64"), (text8, "8bit"), (nasty, "b64"), (b"", "b64")]):
        cid = "%d.urn:uuid:%s@python.example" % (i, uuid.uuid4())
        if kind == "b64":
            part = MIMEApplication(data, "octet-stream")
        else:
            part = MIMEBase("text", "xml", charset="UTF-8")
            part.set_payload(data.decode("ascii", "surrogateescape"))
            part["Content-Transfer-Encoding"] = "8bit"
        part["Content-ID"] = "<%s>" % cid
        atts.append((cid, data, part))
    docs = "".join('<Document><xop:Include href="cid:%s"/></Document>' % quote(cid, safe="") for cid, _, _ in atts)
    docs += "<Document>%s</Document>" % b64encode(inline).decode()
    root_xml = ('<s:Envelope xmlns:s="%s" xmlns:xop="%s"><s:Body><ProvideAndRegisterDocumentSetRequest>%s'
                "</ProvideAndRegisterDocumentSetRequest></s:Body></s:Envelope>" % (SOAP, XOP, docs)).encode()
    root_id = "root.%s@python.example" % uuid.uuid4()
    root = MIMEBase("application", "xop+xml", charset="UTF-8", type="application/soap+xml")
    root.set_payload(root_xml.decode())
    root["Content-Transfer-Encoding"] = "8bit"
    root["Content-ID"] = "<%s>" % root_id
    msg = MIMEMultipart("related", type="application/xop+xml", start="<%s>" % root_id,
                        **{"start-info": "application/soap+xml"})
    order = [atts[0][2], atts[1][2], root, atts[2][2], atts[3][2]]
    for p in order:
        msg.attach(p)
    raw = msg.as_bytes(policy=policy.HTTP)
    head, body = raw.split(b"\r\n\r\n", 1)
    with open(os.path.join(d, "ctype"), "w") as f:
        f.write(str(msg["Content-Type"]) + "\n")
    with open(os.path.join(d, "body"), "wb") as f:
        f.write(body)
    ids = [atts[0], atts[1], None, atts[2], atts[3]]
    with open(os.path.join(d, "expect"), "w") as f:
        f.write("root %s\n" % root_id)
        for a in ids:
            cid, data = (root_id, root_xml) if a is None else (a[0], a[1])
            f.write("part %s %d %s\n" % (cid, len(data), sha1(data)))
        for _, data, _ in atts:
            f.write("doc %d %s\n" % (len(data), sha1(data)))
        f.write("doc %d %s\n" % (len(inline), sha1(inline)))


def check(d, action):
    ct = open(os.path.join(d, "ctype"), "rb").read().strip()
    body = open(os.path.join(d, "body"), "rb").read()
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ct + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    bad = []

    def expect(cond, what):
        print(("ok   - " if cond else "FAIL - ") + what)
        if not cond:
            bad.append(what)

    expect(msg.get_content_type() == "multipart/related", "top level is multipart/related")
    expect(msg.get_param("type") == "application/xop+xml", "type=application/xop+xml")
    expect(msg.get_param("start-info") == "application/soap+xml", "start-info=application/soap+xml")
    expect(msg.get_param("action") == action, "action= on the message")
    expect(not msg.defects, "no MIME defects at the top (%s)" % msg.defects)
    parts = msg.get_payload()
    byid = {str(p["Content-ID"]).strip(): p for p in parts}
    expect(len(byid) == len(parts), "Content-IDs are unique")
    root = byid.get(msg.get_param("start"))
    expect(root is not None, "start= names a part")
    if root is None:
        return 1
    expect(parts[0] is root, "root is the first part")
    expect(root.get_content_type() == "application/xop+xml", "root is application/xop+xml")
    expect(root.get_param("type") == "application/soap+xml", "root type=application/soap+xml")
    expect(root.get_param("action") == action, "root action=")
    env = ET.fromstring(root.get_payload(decode=True))
    hrefs = [unquote(e.get("href")[4:]) for e in env.iter("{%s}Include" % XOP)]
    lines = [l.split(" ", 1) for l in open(os.path.join(d, "ids")).read().splitlines()]
    expect(hrefs == [cid for cid, _ in lines], "xop:Include hrefs name the attachments in order")
    for cid, path in lines:
        p = byid.get("<%s>" % cid)
        want = open(path, "rb").read()
        got = p.get_payload(decode=True) if p is not None else None
        expect(p is not None and not p.defects, "attachment %s present" % os.path.basename(path))
        expect(got == want, "attachment %s byte for byte (%d bytes)" % (os.path.basename(path), len(want)))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    sys.stderr.write(__doc__)
    sys.exit(2)
