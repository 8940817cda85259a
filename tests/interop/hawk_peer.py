"""Python's tokenlib and hawkauthlib, as a peer for tests/python_interop.rs.

client URL SECRET UID: mint a token with tokenlib, sign requests with hawkauthlib and send them
    to the server at URL; print one JSON line per request with its status and body.
server SECRET: accept requests on a loopback port (printed as "PORT n"), verify the token with
    tokenlib and the Hawk MAC with hawkauthlib, answer 200 with the token's uid or 401 with the
    reason. Serves at most 20 requests or 60 seconds, then exits.
"""

import json
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import hawkauthlib
import tokenlib
import webob


def client(url, secret, uid):
    token = tokenlib.make_token({"uid": int(uid), "node": url}, secret=secret)
    key = tokenlib.get_derived_secret(token, secret=secret)
    steps = [
        ("PUT", "storage/interop/py", {"payload": "from python"}),
        ("GET", "storage/interop/py", None),
        ("GET", "info/collections", None),
    ]
    for method, path, body in steps:
        full = "%s/1.5/%s/%s" % (url, uid, path)
        data = json.dumps(body).encode() if body is not None else None
        req = webob.Request.blank(full, method=method)
        if data is not None:
            req.body = data
            req.content_type = "application/json"
        authz = hawkauthlib.sign_request(req, token, key)
        out = urllib.request.Request(full, data=data, method=method)
        out.add_header("Authorization", authz)
        if data is not None:
            out.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(out, timeout=10) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode()
        print(json.dumps({"method": method, "path": path, "status": status, "body": text}))
        sys.stdout.flush()


def server(secret):
    class Handler(BaseHTTPRequestHandler):
        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host", "localhost")
            req = webob.Request.blank(self.path, base_url="http://" + host, method=self.command)
            for name, value in self.headers.items():
                req.headers[name] = value
            req.body = body
            status, answer = 200, {}
            try:
                token = hawkauthlib.get_id(req)
                payload = tokenlib.parse_token(token, secret=secret)
                key = tokenlib.get_derived_secret(token, secret=secret)
                if not hawkauthlib.check_signature(req, key, nonces=False):
                    status, answer = 401, {"error": "bad hawk signature"}
                else:
                    answer = {"uid": payload["uid"], "node": payload["node"]}
            except Exception as err:  # any failure to verify is a refusal
                status, answer = 401, {"error": "%s: %s" % (type(err).__name__, err)}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = handle_any

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 1
    print("PORT %d" % httpd.server_address[1])
    sys.stdout.flush()
    deadline = time.time() + 60
    served = 0
    while served < 20 and time.time() < deadline:
        before = time.time()
        httpd.handle_request()
        if time.time() - before < httpd.timeout:
            served += 1


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(*sys.argv[2:5])
    elif sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        sys.exit("usage: hawk_peer.py client URL SECRET UID | server SECRET")
