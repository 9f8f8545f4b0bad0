//! The fuzz targets: every core entry that takes outside bytes, each with the properties it
//! must keep for any input (beyond not panicking), and seeds taken from the shared
//! conformance table.

use crate::reference;
use ordertrace::propagation::{
    self, Baggage, HeaderSource, MAX_HEADER_LINES, TraceHeaders, TraceParent,
};
use ordertrace::schema;
use serde_json::Value;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;

/// What one run of a target found: a signature of the behaviour (new signatures grow the
/// corpus), or the property it broke.
pub type Outcome = Result<u64, String>;

/// One fuzz target.
pub struct Target {
    /// Name on the command line and in the report.
    pub name: &'static str,
    /// What it feeds the input to.
    pub about: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]) -> Outcome,
    /// Which conformance-table headers seed it (`None`: whole carriers).
    seed_header: Option<&'static str>,
}

/// Every target, in run order.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "traceparent",
            about: "TraceParent::parse_bytes of the input",
            run: traceparent,
            seed_header: Some("traceparent"),
        },
        Target {
            name: "tracestate",
            about: "extract of a valid traceparent and the input's lines as tracestate lines",
            run: tracestate,
            seed_header: Some("tracestate"),
        },
        Target {
            name: "baggage",
            about: "extract of the input's lines as baggage lines",
            run: baggage,
            seed_header: Some("baggage"),
        },
        Target {
            name: "carrier",
            about: "extract of a byte-pair carrier (lines of name:value, any bytes)",
            run: carrier,
            seed_header: None,
        },
        Target {
            name: "http-header-map",
            about: "extract of an http::HeaderMap built from the lines that HTTP accepts",
            run: http_header_map,
            seed_header: None,
        },
        Target {
            name: "c-abi",
            about: "programs of calls to the C ABI (ordertrace-ffi): NULLs, invalid UTF-8, 1 MiB strings, ended stages, bad configs",
            run: crate::c_abi::c_abi,
            seed_header: None,
        },
        Target {
            name: "ids",
            about: "validate_order_id and normalize_user_id of the input as text",
            run: ids,
            seed_header: Some("baggage"),
        },
    ]
}

impl Target {
    /// Seeds for this target from the conformance table, plus a few of its own.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        let table: Value =
            serde_json::from_str(include_str!("../../conformance/cases.json")).unwrap_or_default();
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        for case in table["cases"].as_array().into_iter().flatten() {
            let headers: Vec<(Vec<u8>, Vec<u8>)> = case["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| (text(&h["name"]), text(&h["value"])))
                .filter(|(_, v)| v.len() <= 4096)
                .collect();
            match self.seed_header {
                Some(name) => seeds.extend(
                    headers
                        .into_iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
                        .map(|(_, v)| v),
                ),
                None => seeds.push(
                    headers
                        .into_iter()
                        .map(|(k, v)| [k, b":".to_vec(), v].concat())
                        .collect::<Vec<_>>()
                        .join(&b'\n'),
                ),
            }
            if let Some(input) = case["input"].as_str() {
                seeds.push(input.as_bytes().to_vec());
            }
        }
        seeds.push(Vec::new());
        seeds.push(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec());
        seeds.sort();
        seeds.dedup();
        seeds
    }
}

/// A value of the conformance table as bytes (strings and repeated parts).
fn text(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Array(parts) => parts
            .iter()
            .flat_map(|p| match p {
                Value::Array(rep) => text(&rep[0]).repeat(rep[1].as_u64().unwrap_or(1) as usize),
                other => text(other),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn hash_of(parts: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// A message without its quoted input and numbers: the kind of problem, for signatures.
fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut in_quotes = false;
    for c in message.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            _ if in_quotes || c.is_ascii_digit() => {}
            _ => out.push(c),
        }
    }
    out
}

fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    input.split(|b| *b == b'\n')
}

/// `name:value` lines as byte pairs.
fn pairs(input: &[u8]) -> Vec<(&[u8], &[u8])> {
    lines(input)
        .map(|line| match line.iter().position(|b| *b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        })
        .collect()
}

fn first_value(out: &[(String, String)], name: &str) -> Option<String> {
    let mut found = None;
    out.visit_values(name, &mut |v| {
        found = Some(String::from_utf8_lossy(v).into_owned());
        ControlFlow::Break(())
    });
    found
}

/// The properties every extraction keeps, whatever came in: bounded problems, outgoing headers
/// that are valid HTTP values within the W3C limits, and what is sent is accepted again as it
/// is (one hop later, extraction changes nothing and finds nothing wrong).
fn check_extracted(headers: &TraceHeaders) -> Outcome {
    if headers.problems.len() > 10 {
        return Err(format!("{} problems", headers.problems.len()));
    }
    if let Some(p) = headers.problems.iter().find(|p| p.len() > 300) {
        return Err(format!("problem of {} bytes: {:.120}", p.len(), p));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    propagation::inject(headers, &mut out);
    for (name, value) in &out {
        if http::HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "outgoing {name} is not a valid HTTP value: {value:.120?}"
            ));
        }
        let limit = match name.as_str() {
            "traceparent" => 55,
            "tracestate" => 512,
            _ => 8192,
        };
        if value.len() > limit {
            return Err(format!("outgoing {name} is {} bytes", value.len()));
        }
    }
    if headers.baggage.members().len() > 64 {
        return Err(format!(
            "{} baggage members kept",
            headers.baggage.members().len()
        ));
    }
    let again = propagation::extract_strict(&out)
        .map_err(|e| format!("our own outgoing headers are refused: {e}"))?;
    if again.traceparent.map(|t| t.to_string()) != first_value(&out, "traceparent")
        || again.tracestate != headers.tracestate
        || again.baggage.header_value() != headers.baggage.header_value()
    {
        return Err("extracting our outgoing headers changed them".into());
    }
    if let Some(id) = headers.order_id() {
        schema::validate_order_id(id)
            .map_err(|e| format!("order_id() returned a refused id: {e}"))?;
    }
    if let Some(id) = headers.user_id() {
        schema::normalize_user_id(id)
            .map_err(|e| format!("user_id() returned a refused id: {e}"))?;
    }
    let problem_kinds: Vec<String> = headers.problems.iter().map(|p| shape(p)).collect();
    Ok(hash_of((
        headers.traceparent.map(|t| t.flags.to_u8()),
        headers.tracestate.members().len(),
        headers.baggage.members().len().min(8),
        headers.order_id().is_some(),
        problem_kinds,
    )))
}

fn traceparent(input: &[u8]) -> Outcome {
    let parsed = TraceParent::parse_bytes(input);
    if parsed.is_ok() != reference::traceparent_valid(input) {
        return Err(format!(
            "the parser says {parsed:?}, the grammar the opposite"
        ));
    }
    match parsed {
        Ok(tp) => {
            let text = tp.to_string();
            let again = TraceParent::parse_bytes(text.as_bytes())
                .map_err(|e| format!("canonical form {text} refused: {e}"))?;
            if text.len() != 55 || again.trace_id != tp.trace_id || again.flags != tp.flags {
                return Err(format!(
                    "canonical form {text} does not parse back the same"
                ));
            }
            Ok(hash_of((true, tp.version == 0, tp.flags.to_u8())))
        }
        Err(e) => {
            let message = e.to_string();
            if message.len() > 300 {
                return Err(format!("error of {} bytes", message.len()));
            }
            Ok(hash_of((false, shape(&message))))
        }
    }
}

const VALID_TRACEPARENT: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn tracestate(input: &[u8]) -> Outcome {
    let mut carrier: Vec<(&[u8], &[u8])> = vec![(b"traceparent", VALID_TRACEPARENT)];
    carrier.extend(lines(input).map(|l| (&b"tracestate"[..], l)));
    let headers = propagation::extract(&carrier);
    if headers.traceparent.is_none() {
        return Err("a bad tracestate cost the traceparent".into());
    }
    let line_count = lines(input).count();
    if line_count <= MAX_HEADER_LINES && input.len() < 60 * 1024 {
        let members = reference::members(lines(input));
        let grammar_ok = members
            .iter()
            .all(|m| m.is_empty() || reference::tracestate_member_valid(m));
        let mut keys: Vec<&[u8]> = members
            .iter()
            .filter(|m| !m.is_empty())
            .map(|m| m.split(|b| *b == b'=').next().unwrap_or_default())
            .collect();
        keys.sort();
        keys.dedup();
        let expected_ok = grammar_ok && keys.len() <= 32;
        let parser_ok = !headers
            .problems
            .iter()
            .any(|p| p.starts_with("malformed tracestate") && !p.contains("repeat a key"));
        if expected_ok != parser_ok {
            return Err(format!(
                "the grammar says valid={expected_ok}, the parser reported {:?}",
                headers.problems
            ));
        }
    }
    check_extracted(&headers)
}

fn baggage(input: &[u8]) -> Outcome {
    let carrier: Vec<(&[u8], &[u8])> = lines(input).map(|l| (&b"baggage"[..], l)).collect();
    let outcome = check_extracted(&propagation::extract(&carrier));
    // The same lines through the text entry, against the grammar member by member.
    let text: Vec<String> = lines(input)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let parsed = Baggage::parse(text.iter().map(String::as_str));
    if parsed.dropped_members == 0 {
        let members = reference::members(text.iter().map(|t| t.as_bytes()));
        let invalid = members
            .iter()
            .filter(|m| !reference::baggage_member_valid(m))
            .count();
        if invalid != parsed.malformed_members {
            return Err(format!(
                "the grammar finds {invalid} malformed member(s), the parser {}: {:?}",
                parsed.malformed_members, parsed.first_error
            ));
        }
    }
    outcome
}

fn carrier(input: &[u8]) -> Outcome {
    check_extracted(&propagation::extract(&pairs(input)))
}

fn http_header_map(input: &[u8]) -> Outcome {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs(input) {
        if let (Ok(n), Ok(v)) = (
            http::header::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    check_extracted(&propagation::extract(&map))
}

fn ids(input: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(input);
    let order = schema::validate_order_id(&text);
    if order.is_ok()
        && text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || schema::is_bidi_control(c))
    {
        return Err(format!("order id {text:.80?} accepted"));
    }
    let user = schema::normalize_user_id(&text);
    for message in [order.as_ref().err(), user.as_ref().err()]
        .into_iter()
        .flatten()
    {
        let message = message.to_string();
        if message.len() > 400 {
            return Err(format!("error of {} bytes", message.len()));
        }
    }
    Ok(hash_of((
        order.is_ok(),
        user.is_ok(),
        text.len().min(130) / 10,
    )))
}
