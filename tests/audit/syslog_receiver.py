#!/usr/bin/python3
"""An audit repository for the forwarding test, written only with the
Python standard library and lxml (no code of hienode's): RFC 5425 syslog
over TLS, a client certificate required from the network CA.

Each connection's stream is read as octet-counted frames ("LEN SP MSG",
RFC 5425 4.3); each MSG is checked as RFC 5424 (header fields, PRI 85 =
authpriv.notice, version 1, MSGID IHE+RFC-3881 as ITI-20 has it, the
structured data, a UTF-8 BOM before the message) and its message parsed as
an XML AuditMessage, validated against the DICOM audit schema when --xsd
is given.  One line per message is appended to --out:

    SEQ<TAB>ok|bad<TAB>EventID code or the reason

SEQ is the trail's sequence number from [hie@32473 seq="N"].  The
listening port is written to --port-file once the socket listens."""
import argparse
import os
import re
import socket
import ssl
import sys
import threading

from lxml import etree

HEADER = re.compile(
    rb"<(?P<pri>\d{1,3})>(?P<ver>[1-9]\d{0,2}) (?P<ts>\S+) (?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) "
    rb"(?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) (?P<sd>-|(?:\[[^\]]*\])+)(?: (?P<msg>.*))?\Z",
    re.S)
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z")
SEQ = re.compile(rb'\[hie@32473 seq="(\d+)"\]')
BOM = b"\xef\xbb\xbf"

lock = threading.Lock()


def check(msg, schema):
    """(seq, 'ok', event) or (seq or '-', 'bad', why)."""
    m = HEADER.match(msg)
    if not m:
        return "-", "bad", "not an RFC 5424 message"
    s = SEQ.search(m.group("sd"))
    seq = s.group(1).decode() if s else "-"
    if m.group("pri") != b"85" or m.group("ver") != b"1":
        return seq, "bad", "PRI/VERSION %r/%r" % (m.group("pri"), m.group("ver"))
    if not TIMESTAMP.match(m.group("ts")):
        return seq, "bad", "TIMESTAMP %r" % m.group("ts")
    if m.group("msgid") != b"IHE+RFC-3881":
        return seq, "bad", "MSGID %r" % m.group("msgid")
    body = m.group("msg") or b""
    if not body.startswith(BOM):
        return seq, "bad", "MSG without BOM"
    try:
        doc = etree.fromstring(body[len(BOM):], etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as e:
        return seq, "bad", "XML: %s" % e
    if doc.tag != "AuditMessage":
        return seq, "bad", "root %s" % doc.tag
    if schema is not None and not schema.validate(doc):
        return seq, "bad", "schema: %s" % schema.error_log.last_error
    ev = doc.find("EventIdentification/EventID")
    return seq, "ok", ev.get("csd-code") if ev is not None else "?"


def serve(conn, out, schema):
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while True:
                sp = buf.find(b" ")
                if sp < 0:
                    if len(buf) > 10:
                        raise ValueError("frame length too long")
                    break
                if not buf[:sp].isdigit() or buf[:1] == b"0":
                    raise ValueError("bad frame length %r" % buf[:sp][:20])
                n = int(buf[:sp])
                if len(buf) < sp + 1 + n:
                    break
                msg, buf = buf[sp + 1:sp + 1 + n], buf[sp + 1 + n:]
                seq, status, what = check(msg, schema)
                with lock:
                    out.write("%s\t%s\t%s\n" % (seq, status, what))
                    out.flush()
    except (ssl.SSLError, OSError, ValueError) as e:
        with lock:
            out.write("-\tconn\t%s\n" % e)
            out.flush()
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--xsd")
    a = ap.parse_args()
    schema = etree.XMLSchema(etree.parse(a.xsd)) if a.xsd else None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(16)
    out = open(a.out, "a")
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(30)
            conn = ctx.wrap_socket(c, server_side=True)
            conn.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            with lock:
                out.write("-\trefused\t%s\n" % e)
                out.flush()
            c.close()
            continue
        threading.Thread(target=serve, args=(conn, out, schema), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
