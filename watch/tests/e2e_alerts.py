#!/usr/bin/env python3
"""End-to-end test of `ordertrace watch` (run by scripts/test-watch), standard library only.

The order flow (Rust shop, Java CRM, C# MES, RabbitMQ) exports to a real Jaeger; the watch
polls Jaeger's api/v3; Prometheus scrapes the watch and evaluates deploy/prometheus/rules;
Alertmanager posts to the webhook receiver this script runs. Checks:
  - a slow MES price calculation: OrderStuckInStage for that order reaches the webhook within
    threshold + poll + scrape + evaluation + group_wait (latency measured from the moment the
    stage crossed its threshold), and resolves when the order moves on;
  - an order the MES never starts while the CRM says in_production: OrderStatusMismatch;
  - the board in headless Chromium: loads, lists the stuck order first, links to its trace;
    a screenshot is kept (SCREENSHOT);
  - a second watch started later rebuilds the same state (restart equality);
  - Jaeger stopped: the watch reports the source down and no order as fine; Jaeger back:
    the watch recovers by itself.
"""
import http.server as httpserver
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/lib"))
import e2e  # noqa: E402
from e2e import check, finish, http  # noqa: E402

SHOP = os.environ["SHOP_URL"]
JAEGER = os.environ["JAEGER_QUERY_URL"]
WATCH = os.environ["WATCH_URL"]            # with the base path, e.g. http://127.0.0.1:21070/board
WATCH2_CMD = os.environ["WATCH2_CMD"]      # a shell command starting a second watch
WATCH2 = os.environ["WATCH2_URL"]
WEBHOOK_PORT = int(os.environ["WEBHOOK_PORT"])
SCREENSHOT = os.environ["SCREENSHOT"]
PROM = os.environ["PROMETHEUS_URL"]
STOP_JAEGER = os.environ["STOP_JAEGER_CMD"]
START_JAEGER = os.environ["START_JAEGER_CMD"]
THRESHOLD = float(os.environ.get("STUCK_THRESHOLD_S", "5"))
POLL = float(os.environ.get("POLL_S", "1"))
INTERVAL = float(os.environ.get("PROM_INTERVAL_S", "2"))
GROUP_WAIT = float(os.environ.get("GROUP_WAIT_S", "1"))
MES_SLOW = float(os.environ.get("MES_SLOW_SECONDS", "30"))
RESULTS = os.environ.get("RESULTS_FILE")
USER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
RUN = str(int(time.time()))

received = []  # (unix seconds, alert dict)
lock = threading.Lock()


class Webhook(httpserver.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        now = time.time()
        try:
            doc = json.loads(body)
            with lock:
                for a in doc.get("alerts", []):
                    received.append((now, a))
        except ValueError:
            pass
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def submit(order_id):
    """Places an order as a web client does (e2e.place_order, as examples/order-flow/e2e_check.py)."""
    e2e.place_order(SHOP, order_id, USER)


def wait_for(what, fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.25)
    check(False, f"{what} (waited {timeout:.0f}s)")
    return None


def order(base, order_id):
    status, body = http("GET", f"{base}/api/orders/{order_id}")
    return body if status == 200 else None


def healthz():
    s, body = http("GET", WATCH + "/healthz")
    return body if s == 200 and isinstance(body, dict) else {}


def alert(name, order_id, status):
    with lock:
        for t, a in received:
            if a["labels"].get("alertname") == name and a["labels"].get("order_id") == order_id and a["status"] == status:
                return t, a
    return None


def main():
    server = httpserver.ThreadingHTTPServer(("127.0.0.1", WEBHOOK_PORT), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    slow, mismatch, fine = f"ORD-WATCH-SLOW-{RUN}", f"ORD-WATCH-MISMATCH-{RUN}", f"ORD-WATCH-OK-{RUN}"
    for o in (fine, slow, mismatch):
        submit(o)
    print(f"submitted {fine}, {slow} (MES slow {MES_SLOW:.0f}s), {mismatch}", flush=True)

    done = wait_for("the fine order completes in the watch",
                    lambda: (order(WATCH, fine) or {}).get("state") == "completed", 60)
    check(bool(done), f"{fine} is completed")

    stuck = wait_for("the slow order is stuck in price_calculated",
                     lambda: (lambda o: o if o and o["state"] == "stuck_in_stage" else None)(order(WATCH, slow)), 60)
    if stuck:
        check(stuck["stage"] == "price_calculated" and stuck["service"] == "mes-api",
              f"stuck at price_calculated in mes-api: {stuck['stage']} {stuck['service']}")
        check(stuck["trace_url"] == f"{JAEGER}/trace/{stuck['trace_id']}", f"trace link {stuck['trace_url']}")
        crossed = stuck["since_unix_ms"] / 1000.0
        open_stage = [s for s in stuck["stages"] if s["stage"] == "price_calculated"][0]
        check(abs(crossed - (open_stage["start_unix_ms"] / 1000.0 + THRESHOLD)) < 0.01,
              "the threshold crossing is the stage start + threshold")

        # The board in headless Chromium, while the order is stuck.
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", WATCH + "/"],
                             capture_output=True, text=True, timeout=60).stdout
        rows = re.findall(r'<table id="attention">(.*?)</table>', dom, re.S)
        check(bool(rows), "the board has an attention table")
        attention = rows[0] if rows else ""
        check(f'data-order="{slow}"' in attention, "the board lists the stuck order under attention")
        check(f'href="{JAEGER}/trace/{stuck["trace_id"]}"' in attention, "the board links the stuck order to its trace")
        check(f'href="/board/orders/{slow}"' in attention, "the board links to the order's page under the base path")
        check('http-equiv="refresh"' in dom and "<script" not in dom, "the board refreshes itself without JavaScript")
        page = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                               f"{WATCH}/orders/{slow}"], capture_output=True, text=True, timeout=60).stdout
        check('id="timeline"' in page and "price_calculated" in page and "still open" in page,
              "the order's page shows its timeline with the open stage")
        shot = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               "--window-size=1400,700", f"--screenshot={SCREENSHOT}", WATCH + "/"],
                              capture_output=True, text=True, timeout=60)
        check(os.path.exists(SCREENSHOT) and os.path.getsize(SCREENSHOT) > 10000,
              f"screenshot kept at {SCREENSHOT} ({shot.returncode})")

        fired = wait_for("OrderStuckInStage reaches the webhook", lambda: alert("OrderStuckInStage", slow, "firing"), 60)
        if fired:
            latency = fired[0] - crossed
            bound = POLL + INTERVAL + INTERVAL + GROUP_WAIT + 5.0
            print(f"alert latency: {latency:.1f}s after the threshold crossing (bound {bound:.1f}s: "
                  f"poll {POLL}s + scrape {INTERVAL}s + evaluation {INTERVAL}s + group_wait {GROUP_WAIT}s + 5s export/ingest)", flush=True)
            check(latency <= bound, f"alert within {bound:.1f}s of the crossing ({latency:.1f}s)")
            labels = fired[1]["labels"]
            check(labels.get("stage") == "price_calculated" and labels.get("service") == "mes-api",
                  f"alert labels name stage and service: {labels}")
            check(slow in fired[1]["annotations"].get("summary", ""), "alert summary names the order")
            if RESULTS:
                with open(RESULTS, "a") as f:
                    f.write(f"alert_latency_s={latency:.2f} bound_s={bound:.1f}\n")

    mm = wait_for("OrderStatusMismatch reaches the webhook", lambda: alert("OrderStatusMismatch", mismatch, "firing"), 60)
    if mm:
        check("MES" in mm[1]["annotations"].get("summary", ""), "mismatch summary says CRM and MES disagree")

    resolved = wait_for("the stuck order's alert resolves when the order moves on",
                        lambda: alert("OrderStuckInStage", slow, "resolved"), MES_SLOW + 60)
    check(bool(resolved), "OrderStuckInStage resolved")
    after = order(WATCH, slow)
    check(after is not None and after["state"] == "completed", f"the slow order completed: {after and after['state']}")

    # Restart: a second watch reading the same Jaeger from scratch rebuilds the same state.
    subprocess.Popen(WATCH2_CMD, shell=True)
    wait_for("the second watch answers", lambda: http("GET", WATCH2 + "/healthz")[0] == 200, 30)
    time.sleep(3)

    def states(base):
        s, body = http("GET", base + "/api/orders?limit=1000")
        return sorted((o["order_id"], o["state"], o["stage"], o["trace_id"]) for o in body["orders"]) if s == 200 else None
    a, b = states(WATCH), states(WATCH2)
    check(a is not None and a == b and len(a) >= 3, f"a restarted watch rebuilds the same state ({len(a or [])} orders)")

    # Jaeger down: stale, never fine; back: recovers by itself.
    subprocess.run(STOP_JAEGER, shell=True, check=True)
    down = wait_for("the watch reports its source down", lambda: healthz().get("source_up") is False, 30)
    if down:
        s, body = http("GET", WATCH + "/api/orders")
        fine_states = [o for o in body["orders"] if o["state"] in ("completed", "in_stage", "waiting")]
        check(not fine_states, f"no order called fine from stale data ({len(fine_states)})")
        s, metrics = http("GET", WATCH + "/metrics")
        check(re.search(r"^ordertrace_watch_source_up\{[^}]*\} 0$", metrics, re.M) is not None, "/metrics source_up 0")
        check(re.search(r'^ordertrace_watch_poll_errors_total\{[^}]*\} [1-9]', metrics, re.M) is not None, "poll errors counted")
    subprocess.run(START_JAEGER, shell=True, check=True)
    back = wait_for("the watch recovers when Jaeger is back", lambda: healthz().get("source_up") is True, 30)
    check(bool(back), "source up again")

    finish()


if __name__ == "__main__":
    main()
