#!/usr/bin/env python3
"""The end-to-end assertions of scripts/test-e2e, against the real Jaeger (api/v3).

Submits orders to the shop and checks what Jaeger stored: one trace per order with spans from
shop-api, crm-api and mes-api; parent/child links across the RabbitMQ and HTTP hops; order.id
and user.id on every span; the MES failure as an error span with its exception; a search that
finds the trace by order.id; a hop without headers in the same trace; and `ordertrace
timeline` on a completed order, on an order stuck in a slow MES call, on an unknown order, on
a malformed id and with Jaeger unreachable. Standard library only.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

SHOP = os.environ.get("SHOP_URL", "http://127.0.0.1:18080")
JAEGER = os.environ.get("JAEGER_QUERY_URL", "http://127.0.0.1:16686")
CLI = os.environ["ORDERTRACE_CLI"]
USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
RUN = str(int(time.time()))

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def submit(order_id, drop_headers=False):
    status, body = http("POST", SHOP + "/orders", {"order_id": order_id, "user_id": USER, "drop_headers": drop_headers})
    if status != 202:
        raise SystemExit(f"shop refused {order_id}: {status} {body}")
    return body["trace_id"]


def attrs(span):
    out = {}
    for kv in span.get("attributes", []):
        v = kv["value"]
        out[kv["key"]] = next(iter(v.values())) if v else None
    return out


def trace_spans(trace_id):
    """[(service, span)] of a trace, or [] when Jaeger does not have it (yet)."""
    status, body = http("GET", f"{JAEGER}/api/v3/traces/{trace_id}")
    if status != 200:
        return []
    out = []
    for rs in body["result"]["resourceSpans"]:
        service = next((kv["value"]["stringValue"] for kv in rs["resource"]["attributes"] if kv["key"] == "service.name"), "?")
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                out.append((service, span))
    return out


def wait_for(trace_id, names, timeout=60):
    deadline = time.time() + timeout
    spans = []
    while time.time() < deadline:
        spans = trace_spans(trace_id)
        if names <= {s["name"] for _, s in spans}:
            return spans
        time.sleep(1)
    return spans


def by_name(spans, name):
    found = [s for _, s in spans if s["name"] == name]
    return found[0] if found else None


def timeline(*args):
    p = subprocess.run([CLI, "timeline", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


ok_order, fail_order, slow_order, nohdr_order = (f"ORD-E2E-{k}-{RUN}" for k in ("OK", "FAIL", "SLOW", "NOHDR"))
ok_trace = submit(ok_order)
fail_trace = submit(fail_order)
slow_trace = submit(slow_order)
nohdr_trace = submit(nohdr_order, drop_headers=True)

# 1. One trace per order, spans from the three services, order.id and user.id on every span.
all_stages = {"order_submitted", "model_uploaded", "order_confirmed", "order_status_changed", "price_calculated",
              "manufacturing_started", "manufacturing_completed", "order_shipped"}
spans = wait_for(ok_trace, all_stages)
names = {s["name"] for _, s in spans}
check(all_stages <= names, f"{ok_order}: all eight stages in trace {ok_trace} (got {sorted(names)})")
services = {svc for svc, _ in spans}
check({"shop-api", "crm-api", "mes-api"} <= services, f"{ok_order}: spans from shop-api, crm-api and mes-api ({sorted(services)})")
check(all(s["traceId"] == ok_trace for _, s in spans), f"{ok_order}: every span in one trace")
missing = [s["name"] for _, s in spans if attrs(s).get("order.id") != ok_order or attrs(s).get("user.id") != USER]
check(not missing, f"{ok_order}: order.id and user.id on every span (missing on {missing})")

# 2. Parent/child across the RabbitMQ hop and the HTTP hop.
uploaded, confirmed = by_name(spans, "model_uploaded"), by_name(spans, "order_confirmed")
status_span, price = by_name(spans, "order_status_changed"), by_name(spans, "price_calculated")
if uploaded and confirmed:
    check(confirmed.get("parentSpanId") == uploaded["spanId"], "RabbitMQ hop: order_confirmed (crm) is a child of model_uploaded (shop)")
if status_span and price:
    check(price.get("parentSpanId") == status_span["spanId"], "HTTP hop: price_calculated (mes) is a child of order_status_changed (crm)")

# 3. The MES failure: an error span with the .NET exception.
spans = wait_for(fail_trace, {"price_calculated"})
failed = by_name(spans, "price_calculated")
check(failed is not None, f"{fail_order}: price_calculated exported")
if failed:
    check(failed.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR"), f"{fail_order}: price_calculated has status Error")
    events = [e for e in failed.get("events", []) if e["name"] == "exception"]
    ex = attrs(events[0]) if events else {}
    check("PriceCalculationException" in str(ex.get("exception.type")), f"{fail_order}: exception.type is the .NET type ({ex.get('exception.type')})")
    check("no price rule" in str(ex.get("exception.message")), f"{fail_order}: exception.message recorded")
    check("CalculatePrice" in str(ex.get("exception.stacktrace")), f"{fail_order}: exception.stacktrace recorded")

# 4. Found by order.id: api/v3 over HTTP takes no attribute filter in this Jaeger, so search
#    crm-api's recent traces and match order.id in them (what `ordertrace timeline` does too).
now = datetime.now(timezone.utc)
query = urllib.parse.urlencode({
    "query.service_name": "crm-api",
    "query.start_time_min": (now - timedelta(minutes=15)).isoformat().replace("+00:00", "Z"),
    "query.start_time_max": (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    "query.num_traces": "100",
})
status, body = http("GET", f"{JAEGER}/api/v3/traces?{query}")
found = set()
if status == 200:
    for rs in body["result"]["resourceSpans"]:
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                if attrs(s).get("order.id") == ok_order:
                    found.add(s["traceId"])
check(found == {ok_trace}, f"search of crm-api traces by order.id={ok_order} finds exactly its trace ({found})")

# 5. A hop that dropped the headers still lands in the order's trace.
spans = wait_for(nohdr_trace, {"order_submitted", "order_confirmed"})
crm = [s for svc, s in spans if svc == "crm-api"]
check(bool(crm), f"{nohdr_order}: the CRM's spans are in the order's trace although the message had no headers")
root = by_name(spans, "order_submitted")
if crm and root:
    nohdr_confirmed = by_name(spans, "order_confirmed")
    check(nohdr_confirmed.get("parentSpanId") == root["spanId"], f"{nohdr_order}: headerless order_confirmed hangs under the order's root")

# 6. ordertrace timeline against the real Jaeger.
code, out, err = timeline(ok_order, "--jaeger", JAEGER)
check(code == 0 and "state: completed" in out, f"timeline {ok_order}: completed (exit {code})")
check("price_calculated" in out and "mes-api" in out, f"timeline {ok_order}: stages with their services")
deadline = time.time() + 30
while True:
    code, out, err = timeline(slow_order, "--jaeger", JAEGER)
    if ("state: inside price_calculated (mes-api)" in out and "heartbeats" in out and " 0 heartbeats" not in out) or time.time() > deadline:
        break
    time.sleep(1)
check(code == 0 and "state: inside price_calculated (mes-api)" in out, f"timeline {slow_order}: waiting inside price_calculated while the MES call runs")
check(" 0 heartbeats" not in out and "heartbeats" in out, f"timeline {slow_order}: heartbeats seen")
print(out, flush=True)
with open(os.environ.get("TIMELINE_SAMPLE", "/dev/null"), "w") as f:
    f.write(out)
code, out, err = timeline(fail_order, "--jaeger", JAEGER)
check(code == 0 and "state: failed at price_calculated (mes-api)" in out, f"timeline {fail_order}: failed at price_calculated")
code, out, err = timeline(f"ORD-NOBODY-{RUN}", "--jaeger", JAEGER)
check(code == 3 and "not found" in err, f"timeline of an unknown order: exit 3 (got {code}: {err.strip()})")
code, out, err = timeline("ORD BAD", "--jaeger", JAEGER)
check(code == 2 and "invalid order id" in err, f"timeline of a malformed id: exit 2 (got {code})")
code, out, err = timeline(ok_order, "--jaeger", "http://127.0.0.1:1")
check(code == 4 and "cannot reach Jaeger" in err, f"timeline with Jaeger unreachable: exit 4 (got {code})")

print(f"{checks - len(failures)} passed, {len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
