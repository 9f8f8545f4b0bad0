#!/usr/bin/env python3
"""What an upstream receives through the gateway (run by scripts/test-deploy).

Serves, on --echo-port, a stand-in for the order board that answers every request with the
headers it received (as JSON), while the stack runs with ORDERTRACE_WATCH=off and its board port
set to this one. Then, as devops (allowed) with identity headers a client could send to
impersonate someone, checks that none of them reaches the upstream, and neither the client's
credentials (Authorization, Cookie). Python standard library only; exit 0 only if all passed.
"""

import argparse
import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway_test as gt  # noqa: E402  (the same client and logins as the access matrix)

# Everything a client might send to claim an identity, in lower case.
FORBIDDEN = [h.lower() for h in gt.SPOOF_HEADERS] + [
    "authorization", "cookie", "x-forwarded-preferred-username", "x-forwarded-access-token",
    "x-auth-request-preferred-username", "x-auth-request-access-token", "remote-user", "x-webauth-user",
]


class Echo(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=["basic", "oidc"], required=True)
    ap.add_argument("--https-port", type=int, required=True)
    ap.add_argument("--secrets-dir", required=True)
    ap.add_argument("--echo-port", type=int, required=True)
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.echo_port), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gw = gt.Gateway(args.https_port, 0, os.path.join(args.secrets_dir, "tls", "gateway.crt"))
    try:
        if args.mode == "basic":
            with open(os.path.join(args.secrets_dir, "passwords")) as f:
                pw = dict(line.split() for line in f)
            creds = gt.basic_auth("devops", pw["devops"])
        else:
            creds = gt.cookie_header(gt.oidc_login(gw, "devops@example.com"))
        headers = dict(gt.SPOOF_HEADERS)
        headers["X-Auth-Request-Access-Token"] = "forged"
        headers["Remote-User"] = "devops"
        headers.update(creds)
        if "Cookie" in headers:
            headers["Cookie"] += "; tracking=1"
        else:
            headers["Cookie"] = "tracking=1"
        for method in ("GET", "POST"):
            status, _, data = gw.request(method, "/board/echo", headers, body={} if method == "POST" else None)
            if not gt.check(status == 200, f"[{args.mode}] {method} /board/echo as devops: got {status}, expected 200"):
                continue
            got = json.loads(data)
            leaked = sorted(h for h in FORBIDDEN if h in got)
            if not gt.check(not leaked, f"[{args.mode}] {method}: the upstream received {leaked}"):
                continue
            gt.check(got.get("x-forwarded-proto") == "https",
                     f"[{args.mode}] {method}: X-Forwarded-Proto at the upstream is {got.get('x-forwarded-proto')!r}, expected 'https'")
            print(f"  upstream headers ({args.mode}, {method}): {len(got)} received, none of the "
                  f"{len(FORBIDDEN)} identity/credential headers among them")
    finally:
        server.shutdown()
    if gt.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
