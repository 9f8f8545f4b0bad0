//! The file source: follows the span file as it grows, bad input counted and skipped.

mod common;

use common::{S, TempFile, line, now_ms};
use ordertrace_watch::file_source::FileFollower;
use ordertrace_watch::tracker::SkipReason;
use ordertrace_watch::{StateKind, Tracker, WatchConfig};

fn skipped(t: &Tracker, r: SkipReason) -> u64 {
    t.skipped.get(&r).copied().unwrap_or(0)
}

#[test]
fn follows_the_file_as_it_grows_and_keeps_a_half_written_line_for_later() {
    let cfg = WatchConfig::default();
    let now = now_ms();
    let file = TempFile::new("grow");
    let first = line(&[S::stage(
        "ORD-1",
        "order_submitted",
        "00000000000000a1",
        now - 2000,
        now - 1990,
    )]);
    let second = line(&[S::stage(
        "ORD-1",
        "model_uploaded",
        "00000000000000a2",
        now - 1990,
        now - 1980,
    )]);
    file.append(&format!("{first}\n"));
    let (head, tail) = second.split_at(second.len() / 2);
    file.append(head);

    let mut t = Tracker::new();
    let mut f = FileFollower::new(&file.0);
    assert_eq!(f.read_new(&mut t, now, &cfg).unwrap(), 1);
    assert_eq!(
        t.order("ORD-1", now, &cfg, false).unwrap().stage.name(),
        "model_uploaded"
    );

    file.append(&format!("{tail}\n"));
    assert_eq!(f.read_new(&mut t, now, &cfg).unwrap(), 1);
    let v = t.order("ORD-1", now, &cfg, false).unwrap();
    assert_eq!(v.state, StateKind::Waiting);
    assert_eq!(v.stage.name(), "order_confirmed");
    assert_eq!(skipped(&t, SkipReason::MalformedJson), 0);
    assert_eq!(
        f.read_new(&mut t, now, &cfg).unwrap(),
        0,
        "nothing new, nothing read twice"
    );
}

#[test]
fn truncated_last_line_is_counted_as_malformed_json_in_a_one_shot_read() {
    let cfg = WatchConfig::default();
    let now = now_ms();
    let file = TempFile::new("truncated");
    let good = line(&[S::stage(
        "ORD-1",
        "order_submitted",
        "00000000000000a1",
        now - 2000,
        now - 1990,
    )]);
    file.append(&format!("{good}\n{}", &good[..good.len() - 7]));
    let mut t = Tracker::new();
    let mut f = FileFollower::new(&file.0);
    f.read_new(&mut t, now, &cfg).unwrap();
    f.finish(&mut t, now, &cfg);
    assert_eq!(skipped(&t, SkipReason::MalformedJson), 1);
    assert_eq!(t.len(), 1);
}

#[test]
fn garbage_lines_and_bad_spans_are_skipped_without_touching_good_orders() {
    let cfg = WatchConfig::default();
    let now = now_ms();
    let file = TempFile::new("garbage");
    let good = line(&[S::stage(
        "ORD-GOOD",
        "order_submitted",
        "00000000000000a1",
        now - 2000,
        now - 1990,
    )]);
    let mut bad_id = S::stage("ORD-BAD", "order_submitted", "not-an-id", now, now);
    bad_id.span_id = "zz";
    let future = S::stage(
        "ORD-GOOD",
        "order_shipped",
        "00000000000000a3",
        now + 86_400_000,
        now + 86_400_001,
    );
    let unknown = S::stage("ORD-GOOD", "order_teleported", "00000000000000a4", now, now);
    let dup = S::stage(
        "ORD-GOOD",
        "order_submitted",
        "00000000000000a1",
        now - 2000,
        now - 1990,
    );
    file.append(&format!(
        "{good}\nnot json at all\n{{\"foo\":1}}\n{}\n{}\n",
        line(&[bad_id, future, unknown]),
        line(&[dup])
    ));
    let mut t = Tracker::new();
    FileFollower::new(&file.0)
        .read_new(&mut t, now, &cfg)
        .unwrap();
    assert_eq!(skipped(&t, SkipReason::MalformedJson), 2);
    assert_eq!(skipped(&t, SkipReason::MalformedSpan), 1);
    assert_eq!(skipped(&t, SkipReason::FutureTimestamp), 1);
    assert_eq!(skipped(&t, SkipReason::UnknownEvent), 1);
    assert_eq!(skipped(&t, SkipReason::Duplicate), 1);
    assert_eq!(t.len(), 1);
    let v = t.order("ORD-GOOD", now, &cfg, false).unwrap();
    assert_eq!(
        (v.state, v.stage.name()),
        (StateKind::Waiting, "model_uploaded")
    );
}

#[test]
fn a_truncated_file_is_read_again_from_the_start() {
    let cfg = WatchConfig::default();
    let now = now_ms();
    let file = TempFile::new("rotate");
    let a = line(&[S::stage(
        "ORD-A",
        "order_submitted",
        "00000000000000a1",
        now - 2000,
        now - 1990,
    )]);
    file.append(&format!("{a}\n{a}\n"));
    let mut t = Tracker::new();
    let mut f = FileFollower::new(&file.0);
    f.read_new(&mut t, now, &cfg).unwrap();
    std::fs::write(
        &file.0,
        format!(
            "{}\n",
            line(&[S::stage(
                "ORD-B",
                "order_submitted",
                "00000000000000b1",
                now - 10,
                now - 5
            )])
        ),
    )
    .unwrap();
    assert_eq!(f.read_new(&mut t, now, &cfg).unwrap(), 1);
    assert!(t.order("ORD-B", now, &cfg, false).is_some());
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let mut t = Tracker::new();
    let e = FileFollower::new(std::path::Path::new("/nonexistent/spans.jsonl"))
        .read_new(&mut t, now_ms(), &WatchConfig::default())
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/spans.jsonl"), "{e}");
}
