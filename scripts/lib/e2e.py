"""What the end-to-end checkers share (examples/order-flow/e2e_check.py, watch/tests/e2e_alerts.py,
bindings-java/spring-boot-starter/it/check.py): counting checks, HTTP with JSON, reading Jaeger's
api/v3 traces, the order-derived ids and placing an order at the example shop. Standard library
only, so a fresh machine runs them with the system's python3.

A checker puts this folder on sys.path and imports what it needs:

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../scripts/lib"))
    from e2e import check, finish, http
"""
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

_failures = []
_checks = 0


def check(cond, what):
    """Prints `ok` or `FAIL` with `what`, remembers a failure; returns `cond`."""
    global _checks
    _checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        _failures.append(what)
    return cond


def failed():
    """The checks that failed so far."""
    return list(_failures)


def finish():
    """Prints the tally and the failed checks, and exits 1 when any failed (0 otherwise)."""
    print(f"{_checks - len(_failures)} passed, {len(_failures)} failed", flush=True)
    if _failures:
        print("failed checks:\n  " + "\n  ".join(_failures), flush=True)
    sys.exit(1 if _failures else 0)


def http(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON or text); status 0 when the server cannot be reached.

    `body`: bytes as they are, anything else (not None) as JSON with its content type. A POST
    without a body sends an empty one."""
    headers = dict(headers or {})
    if body is None:
        data = b"" if method == "POST" else None
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


def value_of(v):
    """The value of an OTLP JSON AnyValue ({"stringValue": ...} and the like)."""
    return next(iter(v.values())) if v else None


def attrs(item):
    """An OTLP JSON item's attributes as a dict."""
    return {kv["key"]: value_of(kv["value"]) for kv in item.get("attributes", [])}


def kind_of(span):
    """SERVER, CLIENT, PRODUCER, CONSUMER or INTERNAL, whether Jaeger wrote the kind as a number or a name."""
    k = span.get("kind")
    return {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}.get(k) or str(k).replace("SPAN_KIND_", "")


def spans_of(body, by="service"):
    """[(service or scope name, span)] of an api/v3 traces answer; `by` is "service" or "scope"."""
    out = []
    if not isinstance(body, dict):
        return out
    for rs in body.get("result", {}).get("resourceSpans", []):
        service = attrs(rs.get("resource", {})).get("service.name", "?")
        for ss in rs.get("scopeSpans", []):
            owner = service if by == "service" else ss.get("scope", {}).get("name", "")
            for span in ss.get("spans", []):
                out.append((owner, span))
    return out


def trace_spans(jaeger, trace_id, by="service"):
    """[(service or scope name, span)] of a trace in Jaeger, [] when it does not have it (yet)."""
    status, body = http("GET", f"{jaeger}/api/v3/traces/{trace_id}")
    return spans_of(body, by) if status == 200 else []


def derived(domain, order_id, size):
    """An order-derived id of the ordertrace core (core/src/identity.rs), as hex."""
    d = hashlib.sha256(b"ordertrace/v1/" + domain.encode() + b"\0" + order_id.encode()).digest()[:size]
    if d == bytes(size):
        d = d[:-1] + b"\x01"
    return d.hex()


def place_order(shop, order_id, user, drop_headers=False):
    """Places an order at the example shop as a web client does: submits it, then uploads its
    model with the headers the shop handed back; the upload publishes the order to RabbitMQ for
    the CRM. Returns the order's trace id; exits the checker when the shop refuses."""
    status, body = http("POST", shop + "/orders", {"order_id": order_id, "user_id": user})
    if status != 201:
        raise SystemExit(f"shop refused order {order_id}: {status} {body}")
    trace_id = body["trace_id"]
    query = urllib.parse.urlencode({"user": user, "format": "stl", "drop_headers": str(drop_headers).lower()})
    status, up = http("POST", f"{shop}/orders/{order_id}/model?{query}", b"solid ring\nendsolid ring\n",
                      headers={"content-type": "model/stl", "traceparent": body["traceparent"],
                               "baggage": body["baggage"]})
    if status != 202:
        raise SystemExit(f"shop refused the model of {order_id}: {status} {up}")
    if not isinstance(up, dict) or up.get("trace_id") != trace_id or up.get("headers_sent") == drop_headers:
        raise SystemExit(f"shop: unexpected upload answer for {order_id}: {up}")
    return trace_id
