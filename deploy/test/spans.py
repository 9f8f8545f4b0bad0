#!/usr/bin/env python3
"""Write ordertrace-like spans to Jaeger over OTLP/HTTP and find traces again (scripts/test-deploy).

  spans.py write --otlp-port P --count N [--batch B]   prints the trace ids written, one a line
  spans.py find  --query-port P --trace-id ID [...] [--timeout S]
                                                       exit 0 when every trace is found

Talks to Jaeger directly on loopback (the storage tests restart and kill it behind the gateway).
Python standard library only.
"""

import argparse
import http.client
import json
import os
import random
import sys
import time

STAGES = ["order.received", "payment.authorized", "stock.reserved", "picking", "packing", "shipped"]


def span(trace_id, i, now):
    """One span shaped like an ordertrace stage span: a handful of order attributes."""
    start = now - random.randint(1_000_000, 900_000_000)
    attrs = {
        "order.id": f"ORD-{random.randint(10_000_000, 99_999_999)}",
        "customer.id": f"CUST-{random.randint(100_000, 999_999)}",
        "order.stage": STAGES[i % len(STAGES)],
        "order.channel": random.choice(["web", "shop", "phone"]),
        "order.item_count": random.randint(1, 12),
        "site.id": f"WH-{random.randint(1, 9)}",
        "messaging.system": "rabbitmq",
        "messaging.destination.name": "orders." + STAGES[i % len(STAGES)],
    }
    return {
        "traceId": trace_id,
        "spanId": os.urandom(8).hex(),
        "name": STAGES[i % len(STAGES)],
        "kind": 5,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + random.randint(100_000, 50_000_000)),
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attrs.items()
        ],
        "status": {"code": 1},
    }


def post(port, payload):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/v1/traces", body=json.dumps(payload), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise SystemExit(f"OTLP POST answered {resp.status}: {body[:200]!r}")
    finally:
        conn.close()


def write(args):
    now = time.time_ns()
    written = 0
    traces = []
    while written < args.count:
        n = min(args.batch, args.count - written)
        spans = []
        # Six spans per trace, as an order passing six stages.
        for i in range(n):
            if i % len(STAGES) == 0:
                traces.append(os.urandom(16).hex())
            spans.append(span(traces[-1], i, now))
        post(args.otlp_port, {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "order-service"}}]},
            "scopeSpans": [{"scope": {"name": "ordertrace"}, "spans": spans}],
        }]})
        written += n
    for t in traces:
        print(t)


def find(args):
    deadline = time.monotonic() + args.timeout
    missing = list(args.trace_id)
    while missing and time.monotonic() < deadline:
        still = []
        for t in missing:
            conn = http.client.HTTPConnection("127.0.0.1", args.query_port, timeout=10)
            try:
                conn.request("GET", f"{args.base_path}/api/traces/{t}")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    still.append(t)
            except OSError:
                still.append(t)
            finally:
                conn.close()
        missing = still
        if missing:
            time.sleep(0.2)
    if missing:
        print(f"not found within {args.timeout}s: {' '.join(missing)}", file=sys.stderr)
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--otlp-port", type=int, required=True)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--batch", type=int, default=600)
    f = sub.add_parser("find")
    f.add_argument("--query-port", type=int, required=True)
    f.add_argument("--base-path", default="/jaeger")
    f.add_argument("--trace-id", nargs="+", required=True)
    f.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()
    write(args) if args.cmd == "write" else find(args)


if __name__ == "__main__":
    main()
