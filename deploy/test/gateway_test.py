#!/usr/bin/env python3
"""Tests of the ordertrace gateway against the real running stack (run by scripts/test-deploy).

One run tests one gateway mode (basic or oidc):
  * the access matrix: role x endpoint x method -> expected status, every cell asserted and
    printed as a table;
  * spoofed identity headers, plain HTTP, wrong passwords and their rate limit (basic),
    tampered and expired session cookies (oidc);
  * one login as a person (oidc): headless Chromium through the identity provider's login page
    back to the gateway, then a read that works and a write that is refused.

Python standard library only. TLS is verified against the stack's certificate (--cafile).
Expected statuses are the issue's rules, written here independently of deploy/gateway/roles.
Exit status 0 only if every check passed.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import urllib.parse

ROLES = ["anonymous", "none", "support", "qa", "devops"]
READ_ROLES = {"support", "qa", "devops"}
WRITE_ROLES = {"devops"}

# Users of each role: mode basic (user names of ORDERTRACE_GATEWAY_USERS in scripts/test-deploy)
# and mode oidc (subjects of the test identity provider, with that group in `groups`).
BASIC_USERS = {"none": "nobody", "support": "support", "qa": "qa", "devops": "devops"}
OIDC_USERS = {
    "none": "nobody@example.com",
    "support": "support@example.com",
    "qa": "qa@example.com",
    "devops": "devops@example.com",
}
SESSION_COOKIE = "_ordertrace_session"

failures = []


def check(ok, what):
    """Record one assertion; print failures at once."""
    if not ok:
        failures.append(what)
        print(f"  FAIL: {what}", flush=True)
    return ok


class Gateway:
    """HTTP(S) client of the gateway that never follows redirects."""

    def __init__(self, https_port, http_port, cafile):
        self.https_port = https_port
        self.http_port = http_port
        self.tls = ssl.create_default_context(cafile=cafile)

    def request(self, method, path, headers=None, body=None, plain_http=False, port=None):
        if plain_http:
            conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=30)
        else:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port or self.https_port, timeout=30, context=self.tls
            )
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        finally:
            conn.close()


def basic_auth(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def set_cookies(headers):
    """name -> value of every Set-Cookie in a response."""
    out = {}
    for line in headers.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def cookie_header(cookies):
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def http_plain(method, url, form=None, headers=None):
    """A request to the identity provider (plain HTTP on loopback)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    hdrs = dict(headers or {})
    if body is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def oidc_login(gw, sub):
    """The authorization-code flow as a script: gateway -> IdP login form -> callback.
    Returns the session cookies the gateway set."""
    status, headers, _ = gw.request("GET", "/oauth2/start?rd=%2Fjaeger%2F")
    if status != 302:
        raise RuntimeError(f"/oauth2/start answered {status}, expected 302")
    jar = set_cookies(headers)
    authorize_url = headers["Location"]
    status, _, page = http_plain("GET", authorize_url)
    if status != 200 or b'name="sub"' not in page:
        raise RuntimeError(f"identity provider login page answered {status} without a login form")
    status, headers, _ = http_plain("POST", authorize_url, form={"sub": sub})
    if status != 302:
        raise RuntimeError(f"identity provider answered {status} to the login of {sub}")
    callback = urllib.parse.urlsplit(headers["Location"])
    status, headers, _ = gw.request("GET", callback.path + "?" + callback.query, cookie_header(jar))
    if status != 302:
        raise RuntimeError(f"/oauth2/callback answered {status} for {sub}, expected 302")
    got = set_cookies(headers)
    session = {k: v for k, v in got.items() if k.startswith(SESSION_COOKIE) and not k.endswith("_csrf") and v}
    if not session:
        raise RuntimeError(f"no session cookie after the login of {sub}")
    return session


# ---- the access matrix -------------------------------------------------------------------------


class Row:
    """One endpoint+method: its access class and the status the upstream gives when allowed."""

    def __init__(self, name, method, path, access, upstream, body=None, headers=None, needs_watch=False, note=""):
        self.name = name
        self.method = method
        self.path = path  # str or callable(state) -> str
        self.access = access  # "read" or "write"
        self.upstream = upstream  # expected status when the gateway lets it through
        self.body = body  # None, or callable(state) -> body
        self.headers = headers or {}
        self.needs_watch = needs_watch
        self.note = note


def otlp_span(trace_id, name):
    now = time.time_ns()
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "deploy-test"}}]},
            "scopeSpans": [{"scope": {"name": "deploy-test"}, "spans": [{
                "traceId": trace_id,
                "spanId": os.urandom(8).hex(),
                "name": name,
                "kind": 1,
                "startTimeUnixNano": str(now - 1_000_000),
                "endTimeUnixNano": str(now),
            }]}],
        }]
    }


def silence(_state):
    now = time.time()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "matchers": [{"name": "alertname", "value": "DeployTest", "isRegex": False}],
        "startsAt": time.strftime(fmt, time.gmtime(now)),
        "endsAt": time.strftime(fmt, time.gmtime(now + 3600)),
        "createdBy": "deploy-test",
        "comment": "access matrix",
    }


def matrix_rows(state):
    t = state["trace_id"]
    return [
        Row("Jaeger UI page", "GET", "/jaeger/", "read", 200, note="placeholder page: no UI assets in this build"),
        Row("Jaeger services", "GET", "/jaeger/api/services", "read", 200),
        Row("Jaeger v3 services", "GET", "/jaeger/api/v3/services", "read", 200),
        Row("Jaeger trace", "GET", f"/jaeger/api/traces/{t}", "read", 200),
        Row("Jaeger UI HEAD", "HEAD", "/jaeger/", "read", 200),
        Row("Jaeger archive", "POST", f"/jaeger/api/archive/{t}", "write", 200),
        Row("Jaeger transform", "POST", "/jaeger/api/transform", "write", 200, body=lambda s: otlp_span(t, "transform")),
        Row("Jaeger ai", "POST", "/jaeger/api/ai/chat", "write", 200, body=lambda s: {},
            note="no such endpoint in Jaeger v2.13: the UI's fallback page"),
        Row("OTLP ingest", "POST", "/otlp/v1/traces", "write", 200, body=lambda s: otlp_span(os.urandom(16).hex(), "matrix")),
        Row("Prometheus query", "GET", "/prometheus/api/v1/query?query=up", "read", 200),
        Row("Prometheus ready", "GET", "/prometheus/-/ready", "read", 200),
        Row("Prometheus snapshot", "POST", "/prometheus/api/v1/admin/tsdb/snapshot", "write", 200),
        Row("Prometheus admin GET", "GET", "/prometheus/api/v1/admin/tsdb/snapshot", "write", 405),
        Row("Prometheus tombstones", "POST", "/prometheus/api/v1/admin/tsdb/clean_tombstones", "write", 204),
        Row("Prometheus reload", "POST", "/prometheus/-/reload", "write", 200),
        Row("Alertmanager status", "GET", "/alertmanager/api/v2/status", "read", 200),
        Row("Alertmanager silences", "GET", "/alertmanager/api/v2/silences", "read", 200),
        Row("Alertmanager silence create", "POST", "/alertmanager/api/v2/silences", "write", 200, body=silence),
        Row("Alertmanager silence delete", "DELETE", lambda s: f"/alertmanager/api/v2/silence/{s.get('silence_id', 'none')}", "write", 200),
        Row("Board page", "GET", "/board/", "read", 200, needs_watch=True),
        Row("Board orders API", "GET", "/board/api/orders", "read", 200, needs_watch=True),
        Row("Board metrics", "GET", "/board/metrics", "read", 200, needs_watch=True),
        Row("Board health", "GET", "/board/healthz", "read", 200, needs_watch=True),
        Row("Board reload", "POST", "/board/api/reload", "write", 200, needs_watch=True),
    ]


def expected_status(role, row):
    if role == "anonymous":
        return 401
    if role == "none":
        return 403
    allowed = READ_ROLES if row.access == "read" else WRITE_ROLES
    return row.upstream if role in allowed else 403


def run_matrix(gw, mode, creds, state, watch):
    rows = matrix_rows(state)
    table = []
    for row in rows:
        cells = []
        for role in ROLES:
            if row.needs_watch and not watch:
                cells.append("n/e")
                continue
            path = row.path(state) if callable(row.path) else row.path
            body = row.body(state) if row.body else None
            headers = dict(row.headers)
            headers.update(creds[role])
            status, resp_headers, data = gw.request(row.method, path, headers, body)
            want = expected_status(role, row)
            ok = check(status == want, f"[{mode}] {role} {row.method} {path}: got {status}, expected {want}")
            if 200 <= status < 300:
                check("max-age" in (resp_headers.get("Strict-Transport-Security") or ""),
                      f"[{mode}] {role} {row.method} {path}: no Strict-Transport-Security header")
            if role == "devops" and row.name == "Alertmanager silence create" and status == 200:
                state["silence_id"] = json.loads(data)["silenceID"]
            cells.append(f"{status}" if ok else f"{status}!={want}")
        table.append((row, cells))
    print_table(mode, table)
    not_exercised = [r.name for r, c in table if "n/e" in c]
    if not_exercised:
        print(f"  NOT EXERCISED ({mode}): {', '.join(not_exercised)}: no working `ordertrace watch` in this checkout")
    return sum(len([c for c in cells if c != "n/e"]) for _, cells in table)


def print_table(mode, table):
    w = max(len(f"{r.method} {r.path if isinstance(r.path, str) else '/alertmanager/api/v2/silence/{id}'}") for r, _ in table)
    print(f"\n  access matrix, mode {mode} (n/e = not exercised; a!=b = got a, expected b)")
    print("  " + "endpoint".ljust(w) + "  access " + " ".join(r.rjust(9) for r in ROLES))
    for row, cells in table:
        path = row.path if isinstance(row.path, str) else "/alertmanager/api/v2/silence/{id}"
        print("  " + f"{row.method} {path}".ljust(w) + f"  {row.access:6} " + " ".join(c.rjust(9) for c in cells))
    print()


# ---- other checks ------------------------------------------------------------------------------

SPOOF_HEADERS = {
    "X-Forwarded-User": "devops",
    "X-Forwarded-Groups": "devops",
    "X-Forwarded-Email": "devops@example.com",
    "X-Auth-Request-User": "devops",
    "X-Auth-Request-Groups": "devops",
    "X-Auth-Request-Email": "devops@example.com",
    "X-Remote-User": "devops",
}


def check_spoofing(gw, mode, creds):
    n = 0
    anon_spoof = dict(SPOOF_HEADERS)
    anon_spoof["Authorization"] = "Bearer " + base64.urlsafe_b64encode(b'{"groups":["devops"]}').decode()
    status, _, _ = gw.request("GET", "/jaeger/api/services", anon_spoof)
    n += check(status == 401, f"[{mode}] anonymous with spoofed identity headers and a bearer token: got {status}, expected 401")
    status, _, _ = gw.request("POST", "/prometheus/-/reload", dict(SPOOF_HEADERS))
    n += check(status == 401, f"[{mode}] anonymous write with spoofed headers: got {status}, expected 401")
    for role in ("qa", "support", "none"):
        hdrs = dict(SPOOF_HEADERS)
        hdrs.update(creds[role])
        status, _, _ = gw.request("POST", "/prometheus/-/reload", hdrs)
        n += check(status == 403, f"[{mode}] {role} write with spoofed devops headers: got {status}, expected 403")
    hdrs = dict(SPOOF_HEADERS)
    hdrs.update(creds["none"])
    status, _, _ = gw.request("GET", "/jaeger/api/services", hdrs)
    n += check(status == 403, f"[{mode}] user in no group, read with spoofed devops headers: got {status}, expected 403")
    print(f"  spoofed headers ({mode}): {n} checks passed")
    return n


def check_plain_http(gw, mode, creds):
    n = 0
    for path in ("/jaeger/api/services", "/board/"):
        status, headers, _ = gw.request("GET", path, creds["devops"], plain_http=True)
        want = f"https://127.0.0.1:{gw.https_port}{path}"
        n += check(status == 301 and headers.get("Location") == want,
                   f"[{mode}] plain HTTP GET {path}: got {status} to {headers.get('Location')}, expected 301 to {want}")
    status, _, _ = gw.request("POST", "/otlp/v1/traces", creds["devops"], body={}, plain_http=True)
    n += check(status == 301, f"[{mode}] plain HTTP POST: got {status}, expected 301 (no upstream reached)")
    print(f"  plain HTTP ({mode}): {n} checks passed")
    return n


def login_redirect(gw, headers):
    """The Location of a redirect to the gateway's login start, as a path (nginx makes it absolute)."""
    loc = headers.get("Location", "")
    prefix = f"https://127.0.0.1:{gw.https_port}"
    return loc[len(prefix):] if loc.startswith(prefix) else loc


def check_browser_redirect(gw, mode):
    status, headers, _ = gw.request("GET", "/jaeger/", {"Accept": "text/html,application/xhtml+xml"})
    if mode == "oidc":
        ok = check(status == 302 and login_redirect(gw, headers).startswith("/oauth2/start?rd=/jaeger/"),
                   f"[oidc] anonymous browser GET /jaeger/: got {status} to {headers.get('Location')}, expected 302 to /oauth2/start")
    else:
        ok = check(status == 401 and "Basic" in (headers.get("WWW-Authenticate") or ""),
                   f"[basic] anonymous browser GET /jaeger/: got {status} ({headers.get('WWW-Authenticate')}), expected 401 with a Basic challenge (the browser's login prompt)")
    status, headers, _ = gw.request("GET", "/jaeger/api/services", {"Accept": "application/json"})
    ok2 = check(status == 401, f"[{mode}] anonymous API GET: got {status}, expected 401")
    print(f"  anonymous browser vs API ({mode}): {'ok' if ok and ok2 else 'FAILED'}")
    return int(ok) + int(ok2)


def check_wrong_passwords(gw, passwords, burst):
    n = 0
    status, _, _ = gw.request("GET", "/jaeger/api/services", basic_auth("devops", passwords["devops"] + "x"))
    n += check(status == 401, f"[basic] devops with a wrong password: got {status}, expected 401")
    status, _, _ = gw.request("GET", "/jaeger/api/services", basic_auth("mallory", "guess"))
    n += check(status == 401, f"[basic] unknown user: got {status}, expected 401")
    status, _, _ = gw.request("POST", "/prometheus/-/reload", basic_auth("qa", passwords["devops"]))
    n += check(status == 401, f"[basic] qa with devops's password: got {status}, expected 401")
    # Repeated failures from one address: 429 once the burst is used up.
    statuses = []
    start = time.monotonic()
    for i in range(burst + 5):
        s, _, _ = gw.request("GET", "/jaeger/api/services", basic_auth("devops", f"guess-{i}"))
        statuses.append(s)
        if s == 429:
            break
    took = time.monotonic() - start
    n += check(statuses[-1] == 429 and set(statuses[:-1]) <= {401},
               f"[basic] repeated failed logins: got {statuses}, expected 401s then 429")
    print(f"  wrong passwords: {n} checks passed; {len(statuses) - 1} failed logins then 429 "
          f"({took:.1f}s: each failure waits the auth delay)")
    return n


def resign(value, seed, name, ts):
    """oauth2-proxy's cookie signature (pkg/encryption: HMAC-SHA256(seed, name+value+ts))."""
    sig = hmac.new(seed.encode(), (name + value + str(ts)).encode(), hashlib.sha256).digest()
    return f"{value}|{ts}|{base64.urlsafe_b64encode(sig).decode()}"


def check_cookies(gw, session, cookie_secret, cookie_expire_s):
    n = 0
    joined = "".join(session[k] for k in sorted(session))
    value, ts, sig = joined.split("|")
    probe = "/jaeger/api/services"

    status, _, _ = gw.request("GET", probe, cookie_header({SESSION_COOKIE: joined}))
    n += check(status == 200, f"[oidc] the devops session cookie as one cookie: got {status}, expected 200")
    # Tampered: one character of the signed value changed.
    i = len(value) // 2
    flipped = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
    status, _, _ = gw.request("GET", probe, cookie_header({SESSION_COOKIE: f"{flipped}|{ts}|{sig}"}))
    n += check(status == 401, f"[oidc] tampered session cookie: got {status}, expected 401")
    # Tampered signature.
    status, _, _ = gw.request("GET", probe, cookie_header({SESSION_COOKIE: f"{value}|{ts}|{sig[::-1]}"}))
    n += check(status == 401, f"[oidc] session cookie with a wrong signature: got {status}, expected 401")
    # Correctly signed again with a fresh timestamp (proves the re-signing is right)...
    fresh = resign(value, cookie_secret, SESSION_COOKIE, int(time.time()))
    status, _, _ = gw.request("GET", probe, cookie_header({SESSION_COOKIE: fresh}))
    n += check(status == 200, f"[oidc] re-signed session cookie, fresh timestamp: got {status}, expected 200")
    # ...and with a timestamp older than the cookie lifetime: expired.
    old = resign(value, cookie_secret, SESSION_COOKIE, int(time.time()) - cookie_expire_s - 60)
    status, _, _ = gw.request("GET", probe, cookie_header({SESSION_COOKIE: old}))
    n += check(status == 401, f"[oidc] expired session cookie (signed, older than {cookie_expire_s}s): got {status}, expected 401")
    status, headers, _ = gw.request("GET", "/jaeger/", dict(cookie_header({SESSION_COOKIE: old}), Accept="text/html"))
    n += check(status == 302 and login_redirect(gw, headers).startswith("/oauth2/start"),
               f"[oidc] browser with an expired cookie: got {status}, expected 302 to the login")
    print(f"  session cookies: {n} checks passed (valid, tampered value, wrong signature, re-signed, expired)")
    return n


# ---- the person's login in Chromium (WebDriver over chromedriver's HTTP API) ----------------------


class WebDriver:
    def __init__(self, port):
        self.port = port
        self.session = None

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"webdriver {method} {path}: {resp.status} {data.get('value', data)}")
        return data.get("value")

    def start(self, user_data_dir):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": True,
            "pageLoadStrategy": "eager",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         f"--user-data-dir={user_data_dir}", "--no-first-run", "--disable-extensions"],
            },
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def s(self, path):
        return f"/session/{self.session}{path}"

    def go(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def url(self):
        return self.call("GET", self.s("/url"))

    def find(self, css):
        v = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def type(self, el, text):
        self.call("POST", self.s(f"/element/{el}/value"), {"text": text})

    def click(self, el):
        self.call("POST", self.s(f"/element/{el}/click"), {})

    def text(self):
        return self.call("POST", self.s("/execute/sync"), {"script": "return document.body ? document.body.innerText : ''", "args": []})

    def fetch_status(self, method, path):
        script = ("const done = arguments[arguments.length - 1];"
                  "fetch(arguments[1], {method: arguments[0], credentials: 'same-origin'})"
                  ".then(r => done(r.status)).catch(e => done('error: ' + e));")
        return self.call("POST", self.s("/execute/async"), {"script": script, "args": [method, path]})

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", self.s(""))
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


def wait_for(fn, what, timeout=20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what} (last: {last!r})")


def check_browser_login(gw, driver_port, user_data_dir, watch, idp_url):
    landing = "/board/" if watch else "/jaeger/"
    base = f"https://127.0.0.1:{gw.https_port}"
    wd = WebDriver(driver_port)
    n = 0
    try:
        wd.start(user_data_dir)
        wd.go(base + landing)
        # The gateway sends the unauthenticated browser to the identity provider's login page.
        wait_for(lambda: wd.url().startswith(idp_url), "the identity provider's login page")
        field = wait_for(lambda: _try(lambda: wd.find('input[name="sub"]')), "the login form")
        n += check(True, "login form shown")
        wd.type(field, "support@example.com")
        wd.click(wd.find('form button[type="submit"]'))
        # Back at the gateway, on the page first asked for.
        arrived = wait_for(lambda: wd.url() if wd.url().startswith(base + landing) else None, f"the way back to {landing}")
        body = wait_for(lambda: wd.text(), "the page text")
        marker = "orders" if watch else "This is not the Jaeger UI you are looking for"
        n += check(marker.lower() in body.lower(), f"[browser] page after login ({arrived}) does not show {marker!r}")
        read = wd.fetch_status("GET", "/jaeger/api/services")
        n += check(read == 200, f"[browser] support reads /jaeger/api/services: got {read}, expected 200")
        write = wd.fetch_status("POST", "/prometheus/-/reload")
        n += check(write == 403, f"[browser] support POST /prometheus/-/reload: got {write}, expected 403")
        write2 = wd.fetch_status("POST", "/alertmanager/api/v2/silences")
        n += check(write2 == 403, f"[browser] support creates a silence: got {write2}, expected 403")
        print(f"  browser login (Chromium, support@example.com via {idp_url}, landed on {landing}): "
              f"read {read}, writes {write}/{write2}")
    except Exception as e:  # noqa: BLE001 - reported as a failed check with its reason
        check(False, f"[browser] login in Chromium failed: {e}")
    finally:
        wd.quit()
    return n


def _try(fn):
    try:
        return fn()
    except RuntimeError:
        return None


# ---- main ------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=["basic", "oidc"], required=True)
    ap.add_argument("--https-port", type=int, required=True)
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--secrets-dir", required=True)
    ap.add_argument("--watch", action="store_true", help="the order board is running")
    ap.add_argument("--idp-url", default="")
    ap.add_argument("--chromedriver-port", type=int, default=0)
    ap.add_argument("--cookie-expire-seconds", type=int, default=8 * 3600)
    ap.add_argument("--failed-login-burst", type=int, default=10)
    args = ap.parse_args()

    gw = Gateway(args.https_port, args.http_port, os.path.join(args.secrets_dir, "tls", "gateway.crt"))
    passwords = {}
    with open(os.path.join(args.secrets_dir, "passwords")) as f:
        for line in f:
            user, pw = line.split()
            passwords[user] = pw

    creds = {"anonymous": {}}
    sessions = {}
    if args.mode == "basic":
        for role, user in BASIC_USERS.items():
            creds[role] = basic_auth(user, passwords[user])
    else:
        for role, sub in OIDC_USERS.items():
            sessions[role] = oidc_login(gw, sub)
            creds[role] = cookie_header(sessions[role])

    # A trace to read and archive, written through the gateway's OTLP path as devops.
    trace_id = os.urandom(16).hex()
    status, _, _ = gw.request("POST", "/otlp/v1/traces", creds["devops"], otlp_span(trace_id, "deploy-test"))
    check(status == 200, f"[{args.mode}] devops writes a span through /otlp/: got {status}")
    wait_for(lambda: gw.request("GET", f"/jaeger/api/traces/{trace_id}", creds["devops"])[0] == 200,
             f"trace {trace_id} in Jaeger")
    state = {"trace_id": trace_id}

    cells = run_matrix(gw, args.mode, creds, state, args.watch)
    checks = cells
    checks += check_browser_redirect(gw, args.mode)
    checks += check_spoofing(gw, args.mode, creds)
    checks += check_plain_http(gw, args.mode, creds)
    if args.mode == "basic":
        checks += check_wrong_passwords(gw, passwords, args.failed_login_burst)
    else:
        with open(os.path.join(args.secrets_dir, "cookie-secret")) as f:
            secret = f.read().strip()
        checks += check_cookies(gw, sessions["devops"], secret, args.cookie_expire_seconds)
        if args.chromedriver_port:
            # A fresh browser profile: no session from an earlier run.
            profile = tempfile.mkdtemp(prefix="ordertrace-deploy-chromium-")
            try:
                checks += check_browser_login(gw, args.chromedriver_port, profile, args.watch, args.idp_url)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
        else:
            check(False, "[browser] no chromedriver port given: the Chromium login was not run")

    print(f"  mode {args.mode}: {cells} matrix cells, {len(failures)} failure(s)")
    if failures:
        print(f"FAILED ({len(failures)}):")
        for f in failures:
            print(f"  - {f}")
        sys.exit(1)


if __name__ == "__main__":
    main()
