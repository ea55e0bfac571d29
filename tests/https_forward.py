"""tests/https_forward.py CERT KEY CA PORT TARGET -- a stand-in for a
standard IHE gateway's HTTPS front: TLS 1.2+ with a client certificate
required (from CA), every POST forwarded to TARGET (a node's plain HTTP SOAP
endpoint) and the answer returned as is.  Python standard library only; run
with /usr/bin/python3."""
import http.server, ssl, sys, urllib.request, urllib.error

cert, key, ca, port, target = sys.argv[1:6]


class Forward(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = urllib.request.Request(target, data=body, method="POST",
                                     headers={"Content-Type": self.headers.get("Content-Type", "")})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, ctype, data = r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            status, ctype, data = e.code, e.headers.get("Content-Type", ""), e.read()
        sys.stderr.write("https_forward: request %s answer %s\n" % (
            self.headers.get("Content-Type", "").split(";")[0], ctype.split(";")[0]))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("https_forward: %s %s\n" % (self.client_address[0], fmt % args))


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Forward)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
