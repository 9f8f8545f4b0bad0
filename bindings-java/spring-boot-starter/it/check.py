#!/usr/bin/env python3
"""The assertions of scripts/test-starter, against the real Jaeger (api/v3). Standard library only.

Confirms one order at the running test application (it/, wired by the starter alone) the way
the shop's client does it: with the order's traceparent (the order's root span, by the
order-derived identity) and its baggage. The application sends it over RabbitMQ to its own
@RabbitListener, which asks its own price endpoint over RestClient. Then checks the one trace
in Jaeger:

  --mode agent   the OpenTelemetry Java agent runs beside the starter: its HTTP server,
                 RabbitMQ publish/process and HTTP client spans are in the order's trace; each
                 ordertrace stage is a child of the agent's span it runs in (order_confirmed of
                 the HTTP server span, price_calculated of the price endpoint's server span);
                 the message's traceparent is the agent's publish span (the agent writes last
                 and wins), and the consumer's stage descends from it, in the same trace.
  --mode plain   no agent: only ordertrace spans; order_confirmed is a child of the caller's
                 span, order_status_changed of order_confirmed (the message's traceparent is the
                 starter's), price_calculated of order_status_changed (the RestClient's headers).

Both: order.id and user.id on every ordertrace span (start records and heartbeats included),
and the order's baggage (order.id, user.id) in the message and in the price request.

Env: APP_URL, JAEGER_QUERY_URL.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../scripts/lib"))
import e2e  # noqa: E402
from e2e import attrs, check, derived, finish, http, kind_of  # noqa: E402

APP = os.environ.get("APP_URL", "http://127.0.0.1:8080")
JAEGER = os.environ.get("JAEGER_QUERY_URL", "http://127.0.0.1:16686")
USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
STAGES = ["order_confirmed", "order_status_changed", "price_calculated"]
SERVER, CLIENT, PRODUCER, CONSUMER = "SERVER", "CLIENT", "PRODUCER", "CONSUMER"


def trace_spans(trace_id):
    """[(scope name, span)] of the trace in Jaeger, [] when it has none (yet)."""
    return e2e.trace_spans(JAEGER, trace_id, by="scope")


def parse_mode():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["agent", "plain"], required=True)
    return parser.parse_args().mode


def confirm_and_price(prefix, mode, user, what):
    """Confirms a new order as the shop's client does (its traceparent and baggage, with `user`),
    waits until the listener priced it and flushes the application. Returns (order, trace id,
    tag, what the application saw) or None when a step failed (the failure is counted)."""
    order = f"{prefix}-{mode.upper()}-{int(time.time() * 1000)}"
    trace, root = derived("trace", order, 16), derived("root", order, 8)
    tag = f"[{mode}] {order}"
    status, body = http("POST", f"{APP}/orders/{order}/confirm?user={user}",
                        headers={"traceparent": f"00-{trace}-{root}-01", "baggage": f"order.id={order},user.id={user}"})
    if not check(status == 202, f"{tag}: {what}POST /orders/{{id}}/confirm answers 202 ({status} {body})"):
        return None
    deadline = time.time() + 30
    seen = {}
    while time.time() < deadline and "price" not in seen:
        time.sleep(0.3)
        _, seen = http("GET", f"{APP}/seen/{order}")
        seen = seen if isinstance(seen, dict) else {}
    if not check("price" in seen, f"{tag}: {what}the listener consumed the message and got a price ({seen})"):
        return None
    http("POST", f"{APP}/flush")
    return order, trace, tag, seen


def main():
    mode = parse_mode()
    placed = confirm_and_price("ORD-STARTER", mode, USER, "")
    if placed is None:
        return
    order, trace, tag, seen = placed
    root = derived("root", order, 8)

    # The agent's spans: HTTP server (confirm), publish, process, HTTP client, HTTP server (price).
    want_agent = 5 if mode == "agent" else 0
    deadline = time.time() + 40
    while True:
        spans = trace_spans(trace)
        ours = [s for scope, s in spans if scope == "ordertrace"]
        agents = [s for scope, s in spans if scope != "ordertrace"]
        names = {s["name"] for s in ours}
        if (set(STAGES) <= names and len(agents) >= want_agent) or time.time() > deadline:
            break
        time.sleep(0.5)
    print(f"{tag}: trace {trace}: " + ", ".join(sorted(f"{s['name']} [{kind_of(s)}, {scope}]" for scope, s in spans)),
          flush=True)
    by_id = {s["spanId"]: s for _, s in spans}
    stage = {name: next((s for s in ours if s["name"] == name), None) for name in STAGES}
    if not check(all(stage.values()), f"{tag}: the stages {STAGES} are in the order's trace {trace}"):
        return

    def ancestors(span):
        chain, seen_ids = [], set()
        while span is not None and span.get("parentSpanId") and span["parentSpanId"] not in seen_ids:
            seen_ids.add(span["parentSpanId"])
            chain.append(span["parentSpanId"])
            span = by_id.get(span["parentSpanId"])
        return chain

    def parent(span):
        return by_id.get(span.get("parentSpanId") or "")

    missing = [s["name"] for s in ours if attrs(s).get("order.id") != order or attrs(s).get("user.id") != USER]
    check(not missing, f"{tag}: order.id and user.id on all {len(ours)} ordertrace spans, start records included (missing on {missing})")
    for where in ("message.baggage", "price.baggage"):
        check(f"order.id={order}" in seen.get(where, "") and f"user.id={USER}" in seen.get(where, ""),
              f"{tag}: the order's baggage reached the next hop ({where}: {seen.get(where)!r})")
    confirmed, status_changed, priced = stage["order_confirmed"], stage["order_status_changed"], stage["price_calculated"]
    check(confirmed["spanId"] != status_changed["spanId"] and status_changed["spanId"] in
          {p for p in [priced.get("parentSpanId")] + ancestors(priced)},
          f"{tag}: price_calculated descends from order_status_changed")
    check(confirmed["spanId"] in ancestors(status_changed), f"{tag}: order_status_changed descends from order_confirmed (over RabbitMQ)")

    if mode == "agent":
        servers = [s for s in agents if kind_of(s) == SERVER]
        producers = [s for s in agents if kind_of(s) == PRODUCER]
        consumers = [s for s in agents if kind_of(s) == CONSUMER]
        clients = [s for s in agents if kind_of(s) == CLIENT]
        check(len(servers) == 2 and len(producers) >= 1 and len(consumers) >= 1 and len(clients) >= 1,
              f"{tag}: the agent's HTTP server (2), RabbitMQ publish, process and HTTP client spans are in the order's trace "
              f"({len(servers)}, {len(producers)}, {len(consumers)}, {len(clients)})")
        p = parent(confirmed)
        check(p is not None and kind_of(p) == SERVER and p.get("parentSpanId") == root,
              f"{tag}: order_confirmed is a child of the agent's HTTP server span, itself a child of the caller's span "
              f"({p and p['name']})")
        p = parent(priced)
        check(p is not None and kind_of(p) == SERVER and p in servers,
              f"{tag}: price_calculated is a child of the agent's HTTP server span of the price request ({p and p['name']})")
        publish = next((s for s in producers if confirmed["spanId"] in ancestors(s)), None)
        check(publish is not None, f"{tag}: the agent's publish span is inside order_confirmed")
        check(publish is not None and seen.get("message.traceparent") == f"00-{trace}-{publish['spanId']}-01",
              f"{tag}: the message's traceparent is the agent's publish span: the agent wrote last and won "
              f"({seen.get('message.traceparent')})")
        check(publish is not None and publish["spanId"] in ancestors(status_changed)
              and any(kind_of(by_id[a]) == CONSUMER for a in ancestors(status_changed) if a in by_id),
              f"{tag}: order_status_changed descends from the agent's process span and its publish span: one trace, not two")
    else:
        check(not agents, f"{tag}: only ordertrace spans without the agent ({[s['name'] for s in agents]})")
        check(confirmed.get("parentSpanId") == root, f"{tag}: order_confirmed is a child of the caller's span {root}")
        check(seen.get("message.traceparent") == f"00-{trace}-{confirmed['spanId']}-01",
              f"{tag}: the message's traceparent is order_confirmed's, written by the starter ({seen.get('message.traceparent')})")
        check(status_changed.get("parentSpanId") == confirmed["spanId"], f"{tag}: order_status_changed is a child of order_confirmed")
        check(priced.get("parentSpanId") == status_changed["spanId"],
              f"{tag}: price_calculated is a child of order_status_changed (RestClient carried the stage)")
        check(seen.get("price.traceparent") == f"00-{trace}-{status_changed['spanId']}-01",
              f"{tag}: the price request's traceparent is order_status_changed's ({seen.get('price.traceparent')})")


def bad_user_id(mode):
    """A user id that is not a UUID (user=42, and user.id=42 in the caller's baggage): the business
    call answers as usual, the flow goes through RabbitMQ and HTTP, and the order's stages record
    the rejected user id instead of failing."""
    placed = confirm_and_price("ORD-STARTER-BADUSER", mode, "42", "with user id 42, ")
    if placed is None:
        return
    order, trace, tag, seen = placed
    deadline = time.time() + 40
    while True:
        ours = [s for scope, s in trace_spans(trace) if scope == "ordertrace"]
        confirmed = next((s for s in ours if s["name"] == "order_confirmed"), None)
        if confirmed is not None or time.time() > deadline:
            break
        time.sleep(0.5)
    if not check(confirmed is not None, f"{tag}: order_confirmed is in the order's trace {trace}"):
        return
    a = attrs(confirmed)
    check(a.get("ordertrace.id_rejected") == "user.id" and "is not a UUID" in (a.get("ordertrace.problem") or "")
          and "user.id" not in a and a.get("order.id") == order,
          f"{tag}: order_confirmed records the rejected user id ({a})")
    check("user.id=42" not in seen.get("message.baggage", ""),
          f"{tag}: the rejected user id is not sent onward ({seen.get('message.baggage')!r})")


main()
bad_user_id(parse_mode())
finish()
