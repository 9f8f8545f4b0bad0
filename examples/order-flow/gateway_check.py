#!/usr/bin/env python3
"""A gateway instrumented by the OpenTelemetry Python SDK in front of the shop, as a new user
would put one: the shop must join the caller's trace context from the request's headers,
written by another SDK. Run with the venv of scripts/ensure-otel-python (opentelemetry-sdk).

1. `POST /orders` through the gateway, inside the gateway's own server span (its own trace, the
   SDK's W3C `traceparent` and `baggage` with order.id and user.id): under the default
   order-derived identity `order_submitted` stays the root of the order's trace and keeps a span
   link to the gateway's span.
2. `POST /orders/{id}/model` through the gateway, whose span continues the order's trace from the
   shop's answer (extracted by the SDK's propagator): `model_uploaded` is a child of the gateway's
   span, and takes user.id from the SDK's baggage (the request has no ?user=).

Env: SHOP_URL, JAEGER_QUERY_URL.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

from opentelemetry import baggage, context, trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SHOP = os.environ.get("SHOP_URL", "http://127.0.0.1:18080")
JAEGER = os.environ.get("JAEGER_QUERY_URL", "http://127.0.0.1:16686")
USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def stage_span(trace_id, name, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{JAEGER}/api/v3/traces/{trace_id}", timeout=10) as r:
                body = json.loads(r.read())
            for rs in body.get("result", {}).get("resourceSpans", []):
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        if span["name"] == name:
                            return span
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    return None


def attr(span, key):
    for kv in span.get("attributes", []):
        if kv["key"] == key:
            return next(iter(kv["value"].values()))
    return None


trace.set_tracer_provider(TracerProvider())
gateway = trace.get_tracer("gateway")
order = f"ORD-GW-{int(time.time() * 1000)}"

with gateway.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as span:
    ctx = baggage.set_baggage("order.id", order)
    ctx = baggage.set_baggage("user.id", USER, ctx)
    headers = {"content-type": "application/json"}
    inject(headers, context=ctx)
    submit_gateway = span.get_span_context()
    status, answer = post(f"{SHOP}/orders", json.dumps({"order_id": order, "user_id": USER}).encode(), headers)
if not check(status == 201, f"{order}: the shop accepted the order from the gateway ({status} {answer})"):
    sys.exit(1)
order_trace = answer["trace_id"]
check(order_trace != format(submit_gateway.trace_id, "032x"),
      f"{order}: order-derived identity: the order's trace {order_trace} is not the gateway's")

parent = TraceContextTextMapPropagator().extract({"traceparent": answer["traceparent"]})
with gateway.start_as_current_span("POST /orders/{id}/model", context=parent, kind=SpanKind.SERVER) as span:
    ctx = baggage.set_baggage("order.id", order)
    ctx = baggage.set_baggage("user.id", USER, ctx)
    headers = {"content-type": "model/stl"}
    inject(headers, context=ctx)
    upload_gateway = span.get_span_context()
    status, up = post(f"{SHOP}/orders/{order}/model?format=stl", b"solid ring\nendsolid ring\n", headers)
check(status == 202, f"{order}: the shop accepted the model from the gateway, user from the SDK's baggage ({status} {up})")
check(format(upload_gateway.trace_id, "032x") == order_trace, f"{order}: the gateway's upload span continues the order's trace")

submitted = stage_span(order_trace, "order_submitted")
uploaded = stage_span(order_trace, "model_uploaded")
if check(submitted is not None and uploaded is not None, f"{order}: order_submitted and model_uploaded in Jaeger"):
    links = {(l.get("traceId"), l.get("spanId")) for l in submitted.get("links", [])}
    gw = (format(submit_gateway.trace_id, "032x"), format(submit_gateway.span_id, "016x"))
    check(gw in links, f"{order}: order_submitted links the gateway's span {gw} ({links})")
    check(not submitted.get("parentSpanId"), f"{order}: order_submitted is still the root of the order's trace")
    check(uploaded.get("parentSpanId") == format(upload_gateway.span_id, "016x"),
          f"{order}: model_uploaded is a child of the gateway's span (parent {uploaded.get('parentSpanId')})")
    check(attr(uploaded, "user.id") == USER and attr(submitted, "user.id") == USER,
          f"{order}: user.id on both stages, the upload's from the SDK's baggage")
print(f"gateway: {len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
