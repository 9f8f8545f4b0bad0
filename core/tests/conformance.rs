//! The shared conformance table, `conformance/cases.json`, run against the Rust core: one test
//! per specification statement (W3C Trace Context Level 2, W3C Baggage, ordertrace's own id
//! rules), named after it, with its section in the comment above it. The Java and C# runners
//! read the same table, so every binding is held to the same cases.
//!
//! A case of kind `extract` extracts its headers, then injects what was extracted into an empty
//! carrier and compares the outgoing headers; kinds `order_id` / `user_id` validate one id.

use ordertrace::propagation::{self, Baggage, HeaderSource};
use ordertrace::schema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;

#[derive(Deserialize)]
struct Table {
    statements: Vec<Statement>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Statement {
    id: String,
    level: String,
    section: String,
}

#[derive(Deserialize)]
struct Case {
    statement: String,
    name: String,
    kind: String,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    input: Option<Value>,
    expect: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct Header {
    name: Option<Value>,
    name_hex: Option<String>,
    value: Option<Value>,
    value_hex: Option<String>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/cases.json"
        )))
        .expect("conformance/cases.json is valid")
    })
}

/// A value of the table: a string, or parts that are strings or `[string, times]`.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                Value::Array(rep) => {
                    let times = rep[1].as_u64().expect("repeat count") as usize;
                    text(&rep[0]).repeat(times)
                }
                other => panic!("bad value part {other}"),
            })
            .collect(),
        Value::Object(o) => text(&o["value"]),
        other => panic!("bad value {other}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn bytes(text_value: &Option<Value>, hex_value: &Option<String>) -> Vec<u8> {
    match (text_value, hex_value) {
        (Some(v), None) => text(v).into_bytes(),
        (None, Some(h)) => hex(h),
        _ => panic!("a header needs exactly one of name/name_hex and value/value_hex"),
    }
}

/// Expected optional text: `null` or a value.
fn expected(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| text(v))
}

/// The header a problem line is about: `malformed <header> header: ...` or `<header>: ...`.
fn problem_header(problem: &str) -> &str {
    match problem.strip_prefix("malformed ") {
        Some(rest) => rest.split(' ').next().unwrap_or_default(),
        None => problem.split(':').next().unwrap_or_default(),
    }
}

fn check(failures: &mut Vec<String>, case: &Case, what: &str, got: Option<String>, want: &Value) {
    let want = expected(want);
    if got != want {
        let show = |s: &Option<String>| match s {
            Some(s) if s.len() > 120 => format!("{:?}... ({} bytes)", &s[..120], s.len()),
            other => format!("{other:?}"),
        };
        failures.push(format!(
            "{}: {what}: got {}, expected {}",
            case.name,
            show(&got),
            show(&want)
        ));
    }
}

fn run_extract(case: &Case, failures: &mut Vec<String>) {
    let raw: Vec<(Vec<u8>, Vec<u8>)> = case
        .headers
        .iter()
        .map(|h| (bytes(&h.name, &h.name_hex), bytes(&h.value, &h.value_hex)))
        .collect();
    let headers = propagation::extract(&raw);
    let strict = propagation::extract_strict(&raw);
    let mut out: Vec<(String, String)> = Vec::new();
    propagation::inject(&headers, &mut out);
    let outgoing = |name: &str| {
        let mut found = None;
        out.visit_values(name, &mut |v| {
            found = Some(String::from_utf8_lossy(v).into_owned());
            ControlFlow::Break(())
        });
        found
    };
    for (key, want) in &case.expect {
        let got = match key.as_str() {
            "trace_id" => headers.traceparent.map(|t| t.trace_id.to_string()),
            "parent_id" => headers.traceparent.map(|t| t.parent_id.to_string()),
            "flags" => outgoing("traceparent").map(|t| t[53..].to_string()),
            "traceparent_version" => outgoing("traceparent").map(|t| t[..2].to_string()),
            "traceparent" | "tracestate" | "baggage" => outgoing(key),
            "order_id" => headers.order_id().map(str::to_string),
            "user_id" => headers.user_id().map(str::to_string),
            "strict_error" => match &strict {
                Ok(_) => None,
                Err(ordertrace::OrderTraceError::MalformedHeader { header, .. }) => {
                    Some(header.to_string())
                }
                Err(other) => Some(format!("not a header error: {other}")),
            },
            "dropped" | "problem_headers" | "outgoing_names" => {
                let mut names: Vec<String> = match key.as_str() {
                    "dropped" => headers
                        .problems
                        .iter()
                        .filter(|p| !p.starts_with("malformed "))
                        .map(|p| problem_header(p).to_string())
                        .collect(),
                    "problem_headers" => headers
                        .problems
                        .iter()
                        .map(|p| problem_header(p).to_string())
                        .collect(),
                    _ => out.iter().map(|(k, _)| k.clone()).collect(),
                };
                names.sort();
                names.dedup();
                let mut wanted: Vec<String> = want
                    .as_array()
                    .expect("a list of header names")
                    .iter()
                    .map(text)
                    .collect();
                wanted.sort();
                if names != wanted {
                    failures.push(format!(
                        "{}: {key}: got {names:?}, expected {wanted:?}",
                        case.name
                    ));
                }
                continue;
            }
            other => panic!("{}: unknown expectation {other:?}", case.name),
        };
        check(failures, case, key, got, want);
    }
}

fn run_id(case: &Case, failures: &mut Vec<String>) {
    let input = text(case.input.as_ref().expect("an id case has an input"));
    let result = match case.kind.as_str() {
        "order_id" => schema::validate_order_id(&input).map(|()| input.clone()),
        _ => schema::normalize_user_id(&input),
    };
    for (key, want) in &case.expect {
        match key.as_str() {
            "valid" => {
                if result.is_ok() != want.as_bool().expect("valid is a bool") {
                    failures.push(format!("{}: valid: got {:?}", case.name, result));
                }
            }
            "error_contains" => {
                let message = result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !message.contains(&text(want)) {
                    failures.push(format!(
                        "{}: error {message:?} does not contain {want}",
                        case.name
                    ));
                }
            }
            "normalized" => check(failures, case, key, result.as_ref().ok().cloned(), want),
            "baggage" => {
                let mut baggage = Baggage::default();
                baggage.set("order.id", &input);
                check(failures, case, key, baggage.header_value(), want);
            }
            other => panic!("{}: unknown expectation {other:?}", case.name),
        }
    }
}

/// A tracer writing to its own file in `dir`, lenient or strict.
fn stage_tracer(dir: &std::path::Path, strict: bool) -> ordertrace::OrderTracer {
    ordertrace::OrderTracer::builder()
        .without_env()
        .service_name("conformance")
        .file(dir.join(if strict {
            "strict.jsonl"
        } else {
            "lenient.jsonl"
        }))
        .heartbeat_interval(None)
        .start_records(false)
        .strict_ids(strict)
        .build()
        .expect("a tracer")
}

fn run_stage_start(case: &Case, failures: &mut Vec<String>) {
    use ordertrace::schema::{OrderEvent, attr};
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let input = case
        .input
        .as_ref()
        .expect("a stage_start case has an input");
    let order_id = text(&input["order_id"]);
    let user_id = expected(&input["user_id"]);
    let dir = std::env::temp_dir().join(format!(
        "ordertrace-conformance-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let start = |tracer: &ordertrace::OrderTracer| {
        let b = tracer.stage(OrderEvent::OrderConfirmed, &order_id);
        match &user_id {
            Some(u) => b.user_id(u).start(),
            None => b.start(),
        }
    };
    let lenient = stage_tracer(&dir, false);
    let span = match start(&lenient) {
        Ok(stage) => {
            stage.end();
            lenient
                .flush(std::time::Duration::from_secs(5))
                .expect("flush");
            ordertrace::otlp_json::read_file(&dir.join("lenient.jsonl"))
                .expect("spans")
                .pop()
        }
        Err(e) => {
            failures.push(format!("{}: the lenient start failed: {e}", case.name));
            None
        }
    };
    let strict = stage_tracer(&dir, true);
    let strict_error = start(&strict).err().map(|e| e.to_string());
    for (key, want) in &case.expect {
        let attribute = |k: &str| {
            span.as_ref()
                .and_then(|s| s.attribute(k).map(str::to_string))
        };
        match key.as_str() {
            "id_rejected" => check(failures, case, key, attribute(attr::ID_REJECTED), want),
            "order_id" => check(failures, case, key, attribute(attr::ORDER_ID), want),
            "user_id" => check(failures, case, key, attribute(attr::USER_ID), want),
            "problem_contains" => {
                let problem = attribute(attr::PROBLEM).unwrap_or_default();
                if !problem.contains(&text(want)) {
                    failures.push(format!(
                        "{}: problem {problem:?} does not contain {want}",
                        case.name
                    ));
                }
            }
            "ids_rejected" => {
                let got = lenient.counters().ids_rejected;
                if Some(got) != want.as_u64() {
                    failures.push(format!(
                        "{}: ids_rejected {got}, expected {want}",
                        case.name
                    ));
                }
            }
            "strict_error_contains" => match (&strict_error, expected(want)) {
                (None, None) => {}
                (Some(e), Some(w)) if e.contains(&w) => {}
                (got, w) => failures.push(format!(
                    "{}: strict start: got {got:?}, expected an error containing {w:?}",
                    case.name
                )),
            },
            other => panic!("{}: unknown expectation {other:?}", case.name),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs every case of one statement; fails listing each case that did not hold.
fn statement(id: &str) {
    let table = table();
    let st = table
        .statements
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("statement {id} is not in the table"));
    let cases: Vec<&Case> = table.cases.iter().filter(|c| c.statement == id).collect();
    assert!(!cases.is_empty(), "statement {id} has no cases");
    let mut failures = Vec::new();
    for case in &cases {
        match case.kind.as_str() {
            "extract" => run_extract(case, &mut failures),
            "order_id" | "user_id" => run_id(case, &mut failures),
            "stage_start" => run_stage_start(case, &mut failures),
            other => panic!("{}: unknown kind {other:?}", case.name),
        }
    }
    assert!(
        failures.is_empty(),
        "{} {} ({}):\n  {}",
        st.level,
        id,
        st.section,
        failures.join("\n  ")
    );
}

/// Every statement of the table has its test below (and no test names a missing one).
#[test]
fn every_statement_in_the_table_has_a_test() {
    let mut in_table: Vec<&str> = table().statements.iter().map(|s| s.id.as_str()).collect();
    in_table.sort();
    let mut tested = TESTED.to_vec();
    tested.sort();
    assert_eq!(in_table, tested);
}

const TESTED: &[&str] = &[
    "ot-lenient-start",
    "ot-strict-ids",
    "tc-header-name-case-insensitive",
    "tc-header-name-sent-lowercase",
    "tc-version-two-lowercase-hex-digits",
    "tc-version-ff-invalid",
    "tc-version-00-is-55-characters",
    "tc-higher-version-parsed-by-version-00-layout",
    "tc-higher-version-trace-id-checked",
    "tc-higher-version-parent-id-checked",
    "tc-higher-version-flags-end-or-dash",
    "tc-higher-version-unknown-fields-not-assumed",
    "tc-send-version-00",
    "tc-trace-id-invalid-header-ignored",
    "tc-parent-id-invalid-header-ignored",
    "tc-trace-flags-two-lowercase-hex-digits",
    "tc-ows-around-traceparent",
    "tc-duplicate-traceparent-restarts",
    "tc-other-flags-set-to-zero",
    "tc-random-flag-set-kept",
    "tc-random-flag-unset-kept",
    "tc-traceparent-sent-on",
    "tc-tracestate-not-parsed-without-traceparent",
    "tc-tracestate-failure-does-not-affect-traceparent",
    "tc-tracestate-multiple-fields-combined",
    "tc-tracestate-empty-accepted",
    "tc-tracestate-empty-not-sent",
    "tc-tracestate-ows-around-members",
    "tc-tracestate-key-grammar",
    "tc-tracestate-value-grammar",
    "tc-tracestate-leading-spaces-preserved",
    "tc-tracestate-at-most-32-members",
    "tc-tracestate-duplicate-keys-inherited",
    "tc-tracestate-propagate-512-characters",
    "tc-tracestate-truncate-whole-entries",
    "tc-tracestate-truncate-long-entries-first",
    "tc-tracestate-sent-on-in-order",
    "bg-header-name-case-insensitive",
    "bg-multiple-headers-combined",
    "bg-ows-not-part-of-key-or-value",
    "bg-equals-sign-in-value",
    "bg-outside-octets-percent-encoded",
    "bg-percent-sign-percent-encoded",
    "bg-percent-escape-is-two-hex-digits",
    "bg-invalid-utf8-replaced",
    "bg-property-value-encoding",
    "bg-propagate-all-within-limits",
    "bg-no-partial-members",
    "bg-limits-apply-to-all-headers",
    "bg-sent-on",
    "bg-malformed-member-removed",
    "ot-plus-and-space-encoded",
    "ot-order-id-rules",
    "ot-user-id-rules",
    "ot-baggage-ids-checked",
    "ot-unrelated-headers-never-read",
    "ot-input-bounded",
];

/// W3C Trace Context Level 2 §3.2.1 / §3.3.1 Header Name
/// MUST: The header name is ASCII case-insensitive: TRACEPARENT, TraceParent and traceparent are
/// the same header (likewise tracestate).
#[test]
fn tc_header_name_case_insensitive() {
    statement("tc-header-name-case-insensitive");
}

/// W3C Trace Context Level 2 §3.2.1 / §3.3.1 Header Name; W3C Baggage §3.2 Header Name
/// SHOULD: Tracing systems SHOULD encode the header name as ASCII lowercase.
#[test]
fn tc_header_name_sent_lowercase() {
    statement("tc-header-name-sent-lowercase");
}

/// W3C Trace Context Level 2 §3.2.2.1 version; §3.2.4 Versioning of traceparent
/// MUST: version = 2HEXDIGLC. When the version prefix cannot be parsed (it's not 2 hex characters
/// followed by a dash), the implementation should restart the trace.
#[test]
fn tc_version_two_lowercase_hex_digits() {
    statement("tc-version-two-lowercase-hex-digits");
}

/// W3C Trace Context Level 2 §3.2.2.1 version
/// MUST NOT: Version 255 ("ff") is invalid (version ff is forbidden).
#[test]
fn tc_version_ff_invalid() {
    statement("tc-version-ff-invalid");
}

/// W3C Trace Context Level 2 §3.2.2.2 version-format
/// MUST: The version-format for version 00 is trace-id "-" parent-id "-" trace-flags: exactly 55
/// characters; a version 00 header with anything more is invalid.
#[test]
fn tc_version_00_is_55_characters() {
    statement("tc-version-00-is-55-characters");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent
/// SHOULD: If a higher version is detected, the implementation SHOULD try to parse it by the
/// version 00 layout; if the header is shorter than 55 characters it should not be parsed and the
/// trace restarted.
#[test]
fn tc_higher_version_parsed_by_version_00_layout() {
    statement("tc-higher-version-parsed-by-version-00-layout");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent
/// MUST: Vendors MUST check that the 32 characters of trace-id are hex, and that they are followed
/// by a dash.
#[test]
fn tc_higher_version_trace_id_checked() {
    statement("tc-higher-version-trace-id-checked");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent
/// MUST: Vendors MUST check that the 16 characters of parent-id are hex and followed by a dash.
#[test]
fn tc_higher_version_parent_id_checked() {
    statement("tc-higher-version-parent-id-checked");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent
/// MUST: Vendors MUST check that the 2 characters of flags are either at the end of the string or
/// followed by a dash.
#[test]
fn tc_higher_version_flags_end_or_dash() {
    statement("tc-higher-version-flags-end-or-dash");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent
/// MUST NOT: Vendors MUST NOT parse or assume anything about unknown fields for this version.
#[test]
fn tc_higher_version_unknown_fields_not_assumed() {
    statement("tc-higher-version-unknown-fields-not-assumed");
}

/// W3C Trace Context Level 2 §3.2.4 Versioning of traceparent; §3.4 Downgrade the version
/// MUST: Vendors MUST use these fields to construct the new traceparent field according to the
/// highest version of the specification known to the implementation (00).
#[test]
fn tc_send_version_00() {
    statement("tc-send-version-00");
}

/// W3C Trace Context Level 2 §3.2.2.3 trace-id
/// MUST: If the trace-id value is invalid (for example if it contains non-allowed characters or
/// all zeros), vendors MUST ignore the entire header.
#[test]
fn tc_trace_id_invalid_header_ignored() {
    statement("tc-trace-id-invalid-header-ignored");
}

/// W3C Trace Context Level 2 §3.2.2.4 parent-id
/// MUST: Vendors MUST ignore the traceparent when the parent-id is invalid (for example, if it
/// contains non-lowercase hex characters); all zeros is invalid.
#[test]
fn tc_parent_id_invalid_header_ignored() {
    statement("tc-parent-id-invalid-header-ignored");
}

/// W3C Trace Context Level 2 §3.2.2.2 version-format
/// MUST: trace-flags = 2HEXDIGLC; a traceparent with other flags is invalid and ignored.
#[test]
fn tc_trace_flags_two_lowercase_hex_digits() {
    statement("tc-trace-flags-two-lowercase-hex-digits");
}

/// W3C Trace Context Level 2 §3.2.2 traceparent Header Field Values (RFC 9110 field values); test harness test_traceparent_ows_handling
/// MUST: Spaces and tabs around the traceparent value are not part of it.
#[test]
fn tc_ows_around_traceparent() {
    statement("tc-ows-around-traceparent");
}

/// W3C Trace Context Level 2 test harness test_traceparent_duplicated
/// MUST: A request with two traceparent headers gets a newly generated trace id.
#[test]
fn tc_duplicate_traceparent_restarts() {
    statement("tc-duplicate-traceparent-restarts");
}

/// W3C Trace Context Level 2 §3.2.2.5.3 Other Flags; §4 Processing Model (higher version)
/// MUST: The behavior of other flags is not defined and is reserved for future use. Vendors MUST
/// set those to zero.
#[test]
fn tc_other_flags_set_to_zero() {
    statement("tc-other-flags-set-to-zero");
}

/// W3C Trace Context Level 2 §3.2.2.5.2 Random Trace ID Flag
/// MUST: If the flag is set in the incoming traceparent header, it MUST also be set in all
/// outgoing traceparent headers which use the same trace-id.
#[test]
fn tc_random_flag_set_kept() {
    statement("tc-random-flag-set-kept");
}

/// W3C Trace Context Level 2 §3.2.2.5.2 Random Trace ID Flag
/// MUST: If the flag is unset in the incoming traceparent header, it MUST also be unset in any
/// outgoing traceparent headers which use the same trace-id.
#[test]
fn tc_random_flag_unset_kept() {
    statement("tc-random-flag-unset-kept");
}

/// W3C Trace Context Level 2 §3.4 Mutating the traceparent Field
/// MUST: A vendor receiving a traceparent request header MUST send it to outgoing requests.
#[test]
fn tc_traceparent_sent_on() {
    statement("tc-traceparent-sent-on");
}

/// W3C Trace Context Level 2 §3.3 Tracestate Header; §4.1 No traceparent Received
/// MUST NOT: If the vendor failed to parse traceparent, it MUST NOT attempt to parse tracestate; a
/// tracestate received without a traceparent is invalid and MUST be discarded.
#[test]
fn tc_tracestate_not_parsed_without_traceparent() {
    statement("tc-tracestate-not-parsed-without-traceparent");
}

/// W3C Trace Context Level 2 §3.3 Tracestate Header
/// MUST NOT: Failure to parse tracestate MUST NOT affect the parsing of traceparent.
#[test]
fn tc_tracestate_failure_does_not_affect_traceparent() {
    statement("tc-tracestate-failure-does-not-affect-traceparent");
}

/// W3C Trace Context Level 2 §3.3.2 tracestate Header Field Values
/// MUST: When receiving multiple tracestate header fields, they MUST be combined into a single
/// header according to RFC 9110.
#[test]
fn tc_tracestate_multiple_fields_combined() {
    statement("tc-tracestate-multiple-fields-combined");
}

/// W3C Trace Context Level 2 §3.3.2 tracestate Header Field Values
/// MUST: Vendors MUST accept empty tracestate headers (and empty and whitespace-only list
/// members).
#[test]
fn tc_tracestate_empty_accepted() {
    statement("tc-tracestate-empty-accepted");
}

/// W3C Trace Context Level 2 §3.3.2 tracestate Header Field Values
/// SHOULD: Vendors SHOULD avoid sending empty tracestate headers.
#[test]
fn tc_tracestate_empty_not_sent() {
    statement("tc-tracestate-empty-not-sent");
}

/// W3C Trace Context Level 2 §3.3.2 tracestate Header Field Values
/// MUST: Spaces and horizontal tabs surrounding list-members are ignored.
#[test]
fn tc_tracestate_ows_around_members() {
    statement("tc-tracestate-ows-around-members");
}

/// W3C Trace Context Level 2 §3.3.2.2.1 Key
/// MUST: A key MUST begin with a lowercase letter or a digit and contain up to 256 characters
/// including lowercase letters, digits, underscores, dashes, asterisks, forward slashes, and at
/// signs.
#[test]
fn tc_tracestate_key_grammar() {
    statement("tc-tracestate-key-grammar");
}

/// W3C Trace Context Level 2 §3.3.2.2.2 Value
/// MUST: The value is an opaque string containing up to 256 printable ASCII characters except
/// comma and equals sign; it must end with a character which is not a space.
#[test]
fn tc_tracestate_value_grammar() {
    statement("tc-tracestate-value-grammar");
}

/// W3C Trace Context Level 2 §3.3.2.2.2 Value
/// MUST: All leading spaces MUST be preserved as part of the value; trailing spaces are optional
/// whitespace.
#[test]
fn tc_tracestate_leading_spaces_preserved() {
    statement("tc-tracestate-leading-spaces-preserved");
}

/// W3C Trace Context Level 2 §3.3.2 tracestate Header Field Values; test harness test_tracestate_member_count_limit
/// MUST: There can be a maximum of 32 list-members in a list; a tracestate with 33 is discarded.
#[test]
fn tc_tracestate_at_most_32_members() {
    statement("tc-tracestate-at-most-32-members");
}

/// W3C Trace Context Level 2 §3.5 Mutating the tracestate Field; test harness test_tracestate_duplicated_keys
/// MAY: Vendors MAY discard duplicate keys that were not generated by them; the tracestate is
/// still inherited, the duplicates kept as they are or one of them dropped.
#[test]
fn tc_tracestate_duplicate_keys_inherited() {
    statement("tc-tracestate-duplicate-keys-inherited");
}

/// W3C Trace Context Level 2 §3.3.3.1 tracestate Limits
/// SHOULD: Vendors SHOULD propagate at least 512 characters of a combined header.
#[test]
fn tc_tracestate_propagate_512_characters() {
    statement("tc-tracestate-propagate-512-characters");
}

/// W3C Trace Context Level 2 §3.3.3.1 tracestate Limits
/// MUST: In a situation where tracestate is truncated due to the total size of the header value,
/// the vendor MUST truncate whole entries.
#[test]
fn tc_tracestate_truncate_whole_entries() {
    statement("tc-tracestate-truncate-whole-entries");
}

/// W3C Trace Context Level 2 §3.3.3.1 tracestate Limits
/// SHOULD: Entries larger than 128 characters long SHOULD be removed first. Then entries SHOULD be
/// removed starting from the end of tracestate.
#[test]
fn tc_tracestate_truncate_long_entries_first() {
    statement("tc-tracestate-truncate-long-entries-first");
}

/// W3C Trace Context Level 2 §3.5 Mutating the tracestate Field
/// MUST: Vendors receiving a tracestate request header MUST send it to outgoing requests; the
/// order of unmodified key/value pairs MUST be preserved.
#[test]
fn tc_tracestate_sent_on_in_order() {
    statement("tc-tracestate-sent-on-in-order");
}

/// W3C Baggage §3.2 Header Name (RFC 7230 field names)
/// MUST: Header field names are case-insensitive.
#[test]
fn bg_header_name_case_insensitive() {
    statement("bg-header-name-case-insensitive");
}

/// W3C Baggage §3 Baggage HTTP Header Format
/// MUST: Multiple baggage headers are allowed; the baggage-string is the combination of all of
/// them.
#[test]
fn bg_multiple_headers_combined() {
    statement("bg-multiple-headers-combined");
}

/// W3C Baggage §3.3.1.2 key, §3.3.1.3 value, §3.3.1.4 property
/// MUST: Leading and trailing whitespaces (OWS) are allowed and are not considered to be a part of
/// the key, value, or property.
#[test]
fn bg_ows_not_part_of_key_or_value() {
    statement("bg-ows-not-part-of-key-or-value");
}

/// W3C Baggage §3.3.1.3 value
/// MUST NOT: value MAY contain any number of the equal sign code points. Parsers MUST NOT assume
/// that the equal sign is only used to separate key and value.
#[test]
fn bg_equals_sign_in_value() {
    statement("bg-equals-sign-in-value");
}

/// W3C Baggage §3.3.1.3 value
/// MUST: Any code points outside of the baggage-octet range MUST be percent-encoded.
#[test]
fn bg_outside_octets_percent_encoded() {
    statement("bg-outside-octets-percent-encoded");
}

/// W3C Baggage §3.3.1.3 value
/// MUST: The percent code point (U+0025) MUST be percent-encoded.
#[test]
fn bg_percent_sign_percent_encoded() {
    statement("bg-percent-sign-percent-encoded");
}

/// W3C Baggage §3.3.1.3 value; RFC 3986 §2.1 pct-encoded = "%" HEXDIG HEXDIG
/// MUST: Percent-encoding is defined in RFC 3986 §2.1: a percent sign followed by exactly two hex
/// digits, nothing else (no sign, no space).
#[test]
fn bg_percent_escape_is_two_hex_digits() {
    statement("bg-percent-escape-is-two-hex-digits");
}

/// W3C Baggage §3.3.1.3 value
/// MUST: When decoding the value, percent-encoded octet sequences that do not match the UTF-8
/// encoding scheme MUST be replaced with the replacement code point (U+FFFD).
#[test]
fn bg_invalid_utf8_replaced() {
    statement("bg-invalid-utf8-replaced");
}

/// W3C Baggage §3.3.1.4 property
/// MUST: Any code points outside of the baggage-octet range in the property value MUST be percent-
/// encoded; property keys are tokens.
#[test]
fn bg_property_value_encoding() {
    statement("bg-property-value-encoding");
}

/// W3C Baggage §3.3.3 Limits
/// MUST: A platform MUST propagate all list-members whenever the baggage-string has 64 list-
/// members or less and is 8192 bytes or less.
#[test]
fn bg_propagate_all_within_limits() {
    statement("bg-propagate-all-within-limits");
}

/// W3C Baggage §3.3.3 Limits
/// MUST NOT: If a platform cannot propagate all baggage, it MUST NOT propagate any partial list-
/// members.
#[test]
fn bg_no_partial_members() {
    statement("bg-no-partial-members");
}

/// W3C Baggage §3.3.3 Limits
/// MUST: If there are multiple baggage headers, all limits apply to the combination of all baggage
/// headers and not each header individually.
#[test]
fn bg_limits_apply_to_all_headers() {
    statement("bg-limits-apply-to-all-headers");
}

/// W3C Baggage §3 Baggage HTTP Header Format; §4 Mutating baggage
/// SHOULD: A received header SHOULD be passed on to all downstream requests.
#[test]
fn bg_sent_on() {
    statement("bg-sent-on");
}

/// W3C Baggage §4 Mutating baggage
/// MAY: If a system determines that the baggage-string is not in the format defined, it MAY remove
/// an offending list-member before propagating the rest of the baggage-string.
#[test]
fn bg_malformed_member_removed() {
    statement("bg-malformed-member-removed");
}

/// W3C Baggage §3.3.1.3 value (code points not required to be percent-encoded MAY be); OpenTelemetry Python issue #5566
/// MAY: ordertrace percent-encodes '+' and space in outgoing values, so peers that decode baggage
/// like a form read ORD-1+2 as sent, not as 'ORD-1 2'.
#[test]
fn ot_plus_and_space_encoded() {
    statement("ot-plus-and-space-encoded");
}

/// ordertrace README: order id and user id rules
/// MUST: An order id is 1 to 128 bytes of UTF-8 without whitespace, control characters (CR and LF
/// would break a header) or bidirectional formatting characters; anything else is allowed and
/// travels percent-encoded.
#[test]
fn ot_order_id_rules() {
    statement("ot-order-id-rules");
}

/// ordertrace README: order id and user id rules
/// MUST: A user id is a UUID, 8-4-4-4-12 hex digits in either case, kept in lowercase; anything
/// else is refused.
#[test]
fn ot_user_id_rules() {
    statement("ot-user-id-rules");
}

/// ordertrace README: order id and user id rules
/// MUST NOT: An order.id or user.id in incoming baggage that a stage would refuse is neither
/// handed to the caller nor sent onward; the rest of the baggage is.
#[test]
fn ot_baggage_ids_checked() {
    statement("ot-baggage-ids-checked");
}

/// ordertrace README: order id and user id rules (instrumentation never breaks the business call)
/// MUST: By default, starting a stage with an order id or user id that breaks a rule, or without
/// one, does not fail: the stage starts without the rejected id, names it in
/// ordertrace.id_rejected and the error in ordertrace.problem, and ids_rejected counts it.
#[test]
fn ot_lenient_start() {
    statement("ot-lenient-start");
}

/// ordertrace README: order id and user id rules (strict ids)
/// MUST: With strict ids (ORDERTRACE_STRICT_IDS=true), starting a stage with an id that breaks a
/// rule fails with that rule's error, the order id's first.
#[test]
fn ot_strict_ids() {
    statement("ot-strict-ids");
}

/// ordertrace README: propagation
/// MUST: A header ordertrace does not read (even one whose name or value is not UTF-8) never
/// affects extraction.
#[test]
fn ot_unrelated_headers_never_read() {
    statement("ot-unrelated-headers-never-read");
}

/// ordertrace README: propagation limits
/// MUST: Input is bounded before it is stored: a traceparent longer than 512 characters is refused
/// by its length, a tracestate over 65536 bytes is discarded unread, at most 64 lines of a header
/// are read, a baggage member that does not fit the limits is dropped unparsed.
#[test]
fn ot_input_bounded() {
    statement("ot-input-bounded");
}
