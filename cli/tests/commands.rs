//! The `ordertrace` binary as a user runs it: the demo end to end on the embedded file
//! exporter, `timeline` on what it wrote, `schema`, and every bad-input exit.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn ordertrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordertrace"))
        .args(args)
        // The embedded default, whatever the calling shell has configured.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("ORDERTRACE_FILE")
        .output()
        .expect("run ordertrace")
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordertrace-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("spans.jsonl")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn run_demo(name: &str, orders: &str) -> (PathBuf, Vec<Value>) {
    let file = temp_file(name);
    let out = ordertrace(&[
        "demo",
        "--orders",
        orders,
        "--seed",
        "7",
        "--file",
        file.to_str().expect("utf-8 path"),
        "--stage-time",
        "1ms",
        "--hang-time",
        "700ms",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timelines = stdout_json(&out).as_array().expect("array").clone();
    (file, timelines)
}

fn by_kind<'a>(timelines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    timelines
        .iter()
        .filter(|t| t["state"]["kind"] == kind)
        .collect()
}

#[test]
fn demo_shows_completed_failed_and_stuck_orders_from_the_spans_it_exported() {
    let (file, timelines) = run_demo("full", "12");
    assert_eq!(timelines.len(), 12);

    for t in &timelines {
        let order = t["order_id"].as_str().expect("order id");
        // One trace per order, the order-derived one.
        let expected = ordertrace::identity::order_trace_id(order).to_string();
        assert_eq!(t["trace_ids"], serde_json::json!([expected]), "{order}");
    }

    let completed = by_kind(&timelines, "completed");
    assert!(!completed.is_empty());
    for t in &completed {
        let stages: Vec<(&str, &str)> = t["finished"]
            .as_array()
            .expect("finished")
            .iter()
            .map(|s| {
                (
                    s["event"].as_str().unwrap_or(""),
                    s["service"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            stages,
            vec![
                ("order_submitted", "shop-api"),
                ("model_uploaded", "shop-api"),
                ("order_confirmed", "crm-api"),
                ("order_status_changed", "crm-api"),
                ("price_calculated", "mes-api"),
                ("manufacturing_started", "mes-api"),
                ("manufacturing_completed", "mes-api"),
                ("order_shipped", "crm-api"),
            ]
        );
    }

    let failed = by_kind(&timelines, "failed");
    assert!(!failed.is_empty());
    for t in &failed {
        assert_eq!(t["state"]["event"], "price_calculated");
        assert_eq!(
            t["state"]["error"]["type"],
            "Mes.Pricing.PriceCalculationException"
        );
        assert_eq!(t["state"]["error"]["has_stacktrace"], true);
    }

    let hung = by_kind(&timelines, "inside_stage");
    assert!(!hung.is_empty());
    for t in &hung {
        assert_eq!(t["state"]["event"], "price_calculated");
        assert_eq!(t["state"]["service"], "mes-api");
        assert_eq!(t["state"]["next"], "manufacturing_started");
        assert!(
            t["state"]["heartbeats"].as_u64().expect("heartbeats") >= 1,
            "{t}"
        );
        assert!(
            t["state"]["open_for_ms"].as_f64().expect("open for") >= 700.0,
            "{t}"
        );
    }

    let waiting = by_kind(&timelines, "waiting_for");
    assert!(
        waiting
            .iter()
            .any(|t| t["state"]["next"] == "order_confirmed"),
        "an order left in the queue: {waiting:?}"
    );

    // The timeline command reads the same file and agrees.
    let stuck = hung[0]["order_id"].as_str().expect("id");
    let out = ordertrace(&["timeline", stuck, "--file", file.to_str().expect("path")]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("state: inside price_calculated (mes-api)"),
        "{text}"
    );
    assert!(text.contains("still running"), "{text}");
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

#[test]
fn demo_truncates_its_file_so_a_rerun_shows_that_run_only() {
    let (file, first) = run_demo("rerun", "4");
    let (_, second) = run_demo("rerun", "4");
    assert_eq!(first.len(), second.len());
    let spans = ordertrace::otlp_json::read_file(&file).expect("read back");
    let submitted = spans.iter().filter(|s| s.name == "order_submitted").count();
    assert_eq!(submitted, 4, "spans of one run only");
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

#[test]
fn demo_rejects_zero_orders() {
    let out = ordertrace(&["demo", "--orders", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--orders must be between 1"));
}

#[test]
fn demo_stops_submitting_orders_once_the_span_file_passes_its_cap() {
    let file = temp_file("cap");
    let out = ordertrace(&[
        "demo",
        "--orders",
        "2000",
        "--file",
        file.to_str().expect("utf-8 path"),
        "--stage-time",
        "1ms",
        "--hang-time",
        "300ms",
        "--max-file-mb",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let stopped_after: usize = err
        .split("stopping after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'stopping after N' on stderr: {err}"));
    assert!(stopped_after < 2000, "{err}");
    assert!(err.contains("over the cap of 1.0 MiB"), "{err}");
    // Every order it did submit is shown; none of the others.
    let timelines = stdout_json(&out);
    assert_eq!(timelines.as_array().expect("array").len(), stopped_after);
    // Soft cap: the batches of the orders under way land after the check.
    let size = std::fs::metadata(&file).expect("span file").len();
    assert!(size < 2 * 1024 * 1024, "span file {size} bytes");
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

#[test]
fn demo_rejects_a_zero_file_cap() {
    let out = ordertrace(&["demo", "--orders", "4", "--max-file-mb", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-file-mb must be at least 1"));
}

#[test]
fn demo_hung_calls_start_last_so_they_heartbeat_only_for_the_hang_time() {
    let (file, timelines) = run_demo("hung-last", "30");
    let spans = ordertrace::otlp_json::read_file(&file).expect("read back");
    let hung: Vec<&Value> = by_kind(&timelines, "inside_stage");
    assert!(!hung.is_empty(), "seed 7 has hung calls");
    let last_shipped = spans
        .iter()
        .filter(|s| s.name == "order_shipped")
        .map(|s| s.start_unix_nanos)
        .max()
        .expect("some order shipped");
    let heartbeats: Vec<u64> = spans
        .iter()
        .filter(|s| s.attribute("ordertrace.record") == Some("heartbeat"))
        .map(|s| s.start_unix_nanos)
        .collect();
    assert!(!heartbeats.is_empty());
    assert!(
        heartbeats.iter().all(|&t| t > last_shipped),
        "a heartbeat before the last order shipped: hung calls started early"
    );
    // 700 ms of hang at one heartbeat per 250 ms: at most 3 per hung call, plus one in flight.
    assert!(
        heartbeats.len() <= 4 * hung.len(),
        "{} heartbeats for {} hung calls",
        heartbeats.len(),
        hung.len()
    );
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

#[test]
fn demo_reports_a_span_file_it_cannot_create() {
    let out = ordertrace(&[
        "demo",
        "--orders",
        "4",
        "--file",
        "/nonexistent-dir/x/spans.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent-dir/x/spans.jsonl"), "{err}");
}

#[test]
fn demo_rejects_a_bad_otlp_configuration_with_the_variable_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_ordertrace"))
        .args(["demo", "--orders", "4"])
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
}

#[test]
fn timeline_exit_codes_tell_bad_input_from_unknown_orders() {
    let (file, _) = run_demo("codes", "4");
    let path = file.to_str().expect("path");

    let unknown = ordertrace(&["timeline", "ORD-9999", "--file", path]);
    assert_eq!(unknown.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("order ORD-9999 not found"));

    let malformed = ordertrace(&["timeline", "ORD 1", "--file", path]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("invalid order id"));

    let too_long = "X".repeat(200);
    assert_eq!(
        ordertrace(&["timeline", &too_long, "--file", path])
            .status
            .code(),
        Some(2)
    );

    let no_file = ordertrace(&["timeline", "ORD-0001", "--file", "/nonexistent/spans.jsonl"]);
    assert_eq!(no_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_file.stderr).contains("no span file"));

    let bad_url = ordertrace(&["timeline", "ORD-0001", "--jaeger", "localhost:16686"]);
    assert_eq!(bad_url.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

/// A Jaeger query service with no data: `{}` for the services (as Jaeger answers when
/// empty), 404 "No traces found" for everything else.
fn empty_jaeger() -> String {
    ordertrace_watch::fake_jaeger::with_services("200 OK", "{}")
}

#[test]
fn timeline_against_an_empty_jaeger_says_not_found_with_exit_3() {
    let out = ordertrace(&["timeline", "ORD-0001", "--jaeger", &empty_jaeger()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("order ORD-0001 not found"), "{stderr}");
}

#[test]
fn timeline_reports_a_corrupt_span_file() {
    let file = temp_file("corrupt");
    std::fs::write(&file, "{not json\n").expect("write");
    let out = ordertrace(&[
        "timeline",
        "ORD-0001",
        "--file",
        file.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(file.to_str().expect("path")), "{err}");
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

#[test]
fn schema_prints_every_event_in_lifecycle_order() {
    let out = ordertrace(&["schema"]);
    assert!(out.status.success());
    let schema = stdout_json(&out);
    let events: Vec<&str> = schema["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(events, ordertrace::OrderEvent::names());
}

#[test]
fn watch_once_exits_5_when_the_demo_has_orders_needing_attention_and_lists_them() {
    let (file, _) = run_demo("watch-once", "20");
    // The demo's hung price calls hang for 700 ms here; a threshold below that makes them
    // stuck however soon the watch runs (deploy/watch/demo.toml's 1 s suits the 1.2 s default).
    let config = temp_file("watch-once-config").with_file_name("watch.toml");
    std::fs::write(
        &config,
        "[watch]\nretry_window = \"500ms\"\nincomplete_grace = \"500ms\"\nstatus_grace = \"500ms\"\n\
         [stuck]\nprice_calculated = \"300ms\"\n[stalled]\norder_confirmed = \"1s\"\norder_shipped = \"1s\"\n",
    )
    .expect("write the watch config");
    let out = ordertrace(&[
        "watch",
        "--once",
        "--json",
        "--file",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    assert!(report["needs_attention"].as_u64().unwrap() > 0);
    assert_eq!(report["stale"], false);
    let total: u64 = report["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 20);
    let states: Vec<&str> = report["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"failed"), "{states:?}");
    assert!(states.contains(&"stuck_in_stage"), "{states:?}");
}

#[test]
fn watch_once_exits_0_when_nothing_needs_attention() {
    let (file, _) = run_demo("watch-ok", "1");
    let out = ordertrace(&["watch", "--once", "--file", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing needs attention"));
}

#[test]
fn watch_rejects_a_bad_config_a_bad_shard_and_a_missing_source() {
    let file = temp_file("watch-bad");
    std::fs::write(&file, "").unwrap();
    let config = file.with_file_name("bad.toml");
    std::fs::write(&config, "[stuck]\nprice_calculated = \"soon\"\n").unwrap();
    let out = ordertrace(&[
        "watch",
        "--once",
        "--file",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stuck.price_calculated"));
    let out = ordertrace(&[
        "watch",
        "--once",
        "--file",
        file.to_str().unwrap(),
        "--shard",
        "3/3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard"));
    let out = ordertrace(&["watch", "--once"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ordertrace(&["watch", "--once", "--file", "/nonexistent/spans.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/spans.jsonl"));
}

/// `GET path` on `addr` (host:port), the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the watch");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn the_served_watch_answers_and_rereads_its_config_on_sighup() {
    use std::io::{BufRead, BufReader};
    let (file, _) = run_demo("watch-serve", "5");
    let config = file.with_file_name("watch.toml");
    std::fs::write(&config, "[watch]\npoll_interval = \"200ms\"\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordertrace"))
        .args([
            "watch",
            "--file",
            file.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .args(["--listen", "127.0.0.1:0", "--base-path", "/board"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the watch");
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
    let stderr_pipe = child.stderr.take().unwrap();
    let pid = child.id();
    let _guard = KillOnDrop(child);
    let mut stderr = BufReader::new(stderr_pipe);
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(600));
    let board = http_get(&addr, "/board/");
    assert!(board.starts_with("HTTP/1.1 200"), "{board}");
    assert!(board.contains("Orders needing attention"), "{board}");
    let one = http_get(&addr, "/board/api/orders/ORD-0001");
    assert!(one.starts_with("HTTP/1.1 200"), "{one}");
    std::fs::write(&config, "[watch]\npoll_interval = \"300ms\"\n").unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut reloaded = false;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if http_get(&addr, "/board/metrics")
            .contains("ordertrace_watch_config_reloads_total{result=\"ok\"} 1")
        {
            reloaded = true;
            break;
        }
    }
    assert!(reloaded, "SIGHUP did not reload the config");
}
