//! A fast reader of OTLP/JSON answers (Jaeger's api/v3 `{"result": {"resourceSpans": ...}}`
//! or a bare `{"resourceSpans": ...}`) for the watch's hot path.
//!
//! The core's [`ordertrace::otlp_json`] builds a `serde_json::Value` tree of the whole answer
//! and then walks it; with tens of thousands of spans per poll that tree is most of the
//! watch's CPU. Here the answer is deserialized straight into borrowed structs (strings point
//! into the body; unknown fields are skipped without being built), and a span is turned into
//! a [`RecordedSpan`] only when its trace is wanted: a trace of another shard (by trace id,
//! see [`Shard`]), or one already read in this poll, costs no attribute parsing at all.
//!
//! The result is the same as [`ordertrace::otlp_json::parse_value_lenient`] (a span without
//! valid ids is skipped and named, odd leaf values read as the core reads them); the tests
//! check both readers against each other.

use crate::tracker::Shard;
use ordertrace::otlp_json::{RecordedEvent, RecordedLink, RecordedSpan, SpanStatus};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// What one answer held.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scanned {
    /// The spans of the traces `keep_trace` wanted.
    pub spans: Vec<RecordedSpan>,
    /// One message per span without valid ids (e.g. "a span has no valid spanId").
    pub skipped: Vec<String>,
    /// Spans left out unparsed because their trace belongs to another shard.
    pub other_shard: u64,
    /// Spans left out unparsed because `already_read` said so of their trace.
    pub already_read: u64,
    /// Distinct trace ids (lowercase hex) in the answer, kept or not.
    pub traces: HashSet<String>,
    /// Earliest and latest span start (Unix ns) in the answer, kept or not.
    pub starts: Option<(u64, u64)>,
}

/// Reads `body`, leaving out unparsed the spans of traces outside `shard` or for which
/// `already_read` (asked with the trace id in lowercase hex) says yes. An answer that is not
/// JSON or has no `resourceSpans` list is an error naming why.
pub fn scan(
    body: &[u8],
    shard: Option<Shard>,
    mut already_read: impl FnMut(&str) -> bool,
) -> Result<Scanned, String> {
    let doc: Document = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let resource_spans = match doc.result {
        Some(Obj(Some(r))) => r.resource_spans,
        Some(Obj(None)) => None,
        None => doc.resource_spans,
    }
    .ok_or_else(|| "no resourceSpans array".to_string())?;
    let mut out = Scanned::default();
    let mut last_trace = String::new();
    let mut last_skip: Option<bool> = None; // Some(true): other shard, Some(false): read
    for rs in resource_spans.into_iter().filter_map(|o| o.0) {
        let service = rs
            .resource
            .and_then(|r| r.0)
            .and_then(|r| r.attributes)
            .map(|a| a.into_map())
            .and_then(|mut m| m.remove("service.name"))
            .unwrap_or_default();
        for ss in rs.scope_spans.map(|s| s.0).unwrap_or_default() {
            let Some(ss) = ss.0 else { continue };
            for s in ss.spans.map(|s| s.0).unwrap_or_default() {
                let Some(trace_id) = s.0.as_ref().and_then(|s| id(s.trace_id.as_deref(), 16))
                else {
                    out.skipped.push("a span has no valid traceId".into());
                    continue;
                };
                if let Some(span) = &s.0
                    && span.start.0 > 0
                {
                    let t = span.start.0;
                    out.starts = Some(out.starts.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                }
                if trace_id != last_trace {
                    last_skip = if shard.is_some_and(|s| !s.owns_trace(&trace_id)) {
                        Some(true)
                    } else if already_read(&trace_id) {
                        Some(false)
                    } else {
                        None
                    };
                    if !out.traces.contains(&trace_id) {
                        out.traces.insert(trace_id.clone());
                    }
                    last_trace.clone_from(&trace_id);
                }
                match last_skip {
                    Some(true) => {
                        out.other_shard += 1;
                        continue;
                    }
                    Some(false) => {
                        out.already_read += 1;
                        continue;
                    }
                    None => {}
                }
                let Some(s) = s.0 else { continue };
                match s.into_recorded(trace_id, &service) {
                    Ok(span) => out.spans.push(span),
                    Err(reason) => out.skipped.push(reason),
                }
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, default)]
    result: Option<Obj<TracesData<'a>>>,
    #[serde(borrow, default, rename = "resourceSpans")]
    resource_spans: Option<Vec<Obj<ResourceSpans<'a>>>>,
}

#[derive(Deserialize)]
struct TracesData<'a> {
    #[serde(borrow, default, rename = "resourceSpans")]
    resource_spans: Option<Vec<Obj<ResourceSpans<'a>>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Option<Obj<Resource<'a>>>,
    #[serde(borrow, default, rename = "scopeSpans")]
    scope_spans: Option<List<Obj<ScopeSpans<'a>>>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Option<Attributes<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Option<List<Obj<Span<'a>>>>,
}

#[derive(Deserialize)]
struct Span<'a> {
    #[serde(borrow, default, rename = "traceId")]
    trace_id: Text<'a>,
    #[serde(borrow, default, rename = "spanId")]
    span_id: Text<'a>,
    #[serde(borrow, default, rename = "parentSpanId")]
    parent_span_id: Text<'a>,
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(default)]
    kind: Kind,
    #[serde(default, rename = "startTimeUnixNano")]
    start: Nanos,
    #[serde(default, rename = "endTimeUnixNano")]
    end: Nanos,
    #[serde(borrow, default)]
    attributes: Option<Attributes<'a>>,
    #[serde(borrow, default)]
    events: Option<List<Obj<Event<'a>>>>,
    #[serde(borrow, default)]
    links: Option<List<Obj<Link<'a>>>>,
    #[serde(borrow, default)]
    status: Option<Obj<Status<'a>>>,
}

impl Span<'_> {
    fn into_recorded(self, trace_id: String, service: &str) -> Result<RecordedSpan, String> {
        let span_id = id(self.span_id.as_deref(), 8)
            .ok_or_else(|| "a span has no valid spanId".to_string())?;
        let (status, status_message) = match self.status.and_then(|s| s.0) {
            Some(s) => (
                s.code.0,
                s.message.0.map(Cow::into_owned).unwrap_or_default(),
            ),
            None => (SpanStatus::Unset, String::new()),
        };
        Ok(RecordedSpan {
            trace_id,
            span_id,
            parent_span_id: id(self.parent_span_id.as_deref(), 8),
            name: self.name.0.map(Cow::into_owned).unwrap_or_default(),
            service_name: service.to_string(),
            kind: self.kind.0,
            start_unix_nanos: self.start.0,
            end_unix_nanos: self.end.0,
            attributes: self
                .attributes
                .map(Attributes::into_map)
                .unwrap_or_default(),
            events: self
                .events
                .map(|l| l.0)
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.0.unwrap_or_default())
                .map(|e| RecordedEvent {
                    name: e.name.0.map(Cow::into_owned).unwrap_or_default(),
                    time_unix_nanos: e.time.0,
                    attributes: e.attributes.map(Attributes::into_map).unwrap_or_default(),
                })
                .collect(),
            links: self
                .links
                .map(|l| l.0)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|l| {
                    let l = l.0?;
                    Some(RecordedLink {
                        trace_id: id(l.trace_id.as_deref(), 16)?,
                        span_id: id(l.span_id.as_deref(), 8)?,
                    })
                })
                .collect(),
            status,
            status_message,
        })
    }
}

#[derive(Deserialize, Default)]
struct Event<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(default, rename = "timeUnixNano")]
    time: Nanos,
    #[serde(borrow, default)]
    attributes: Option<Attributes<'a>>,
}

#[derive(Deserialize)]
struct Link<'a> {
    #[serde(borrow, default, rename = "traceId")]
    trace_id: Text<'a>,
    #[serde(borrow, default, rename = "spanId")]
    span_id: Text<'a>,
}

#[derive(Deserialize)]
struct Status<'a> {
    #[serde(default)]
    code: Code,
    #[serde(borrow, default)]
    message: Text<'a>,
}

/// A list; anything else where a list belongs reads as empty (as the core reads it).
struct List<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element()? {
                    v.push(item);
                }
                Ok(List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object read as `T`; any other JSON value where an object belongs reads as `None`
/// (the core reads such an element as one without fields).
struct Obj<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Obj<T>, E> {
                Ok(Obj(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string leaf; any other JSON value reads as absent.
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl Text<'_> {
    fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
                Ok(Text(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The leaf as a `serde_json::Value`, for the few fields read by type (`kind`, status code,
/// nanoseconds): small scalars, no tree.
fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

/// Nanoseconds: a decimal string or a non-negative integer; anything else is 0.
#[derive(Default)]
struct Nanos(u64);

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Nanos(match scalar(d)? {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Number(n) => n.as_u64().unwrap_or(0),
            _ => 0,
        }))
    }
}

/// Span kind as OTLP numbers it; the protobuf JSON names are read too.
#[derive(Default)]
struct Kind(i64);

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Kind(match scalar(d)? {
            Value::Number(n) => n.as_i64().unwrap_or(0),
            Value::String(s) => match s.as_str() {
                "SPAN_KIND_INTERNAL" => 1,
                "SPAN_KIND_SERVER" => 2,
                "SPAN_KIND_CLIENT" => 3,
                "SPAN_KIND_PRODUCER" => 4,
                "SPAN_KIND_CONSUMER" => 5,
                _ => 0,
            },
            _ => 0,
        }))
    }
}

/// Status code: 1 / 2 or the protobuf JSON names.
struct Code(SpanStatus);

impl Default for Code {
    fn default() -> Self {
        Code(SpanStatus::Unset)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Code(match scalar(d)? {
            Value::Number(n) => match n.as_u64() {
                Some(1) => SpanStatus::Ok,
                Some(2) => SpanStatus::Error,
                _ => SpanStatus::Unset,
            },
            Value::String(s) if s.ends_with("ERROR") => SpanStatus::Error,
            Value::String(s) if s.ends_with("OK") => SpanStatus::Ok,
            _ => SpanStatus::Unset,
        }))
    }
}

/// `[{"key": ..., "value": {...}}, ...]`; entries without a string key are left out.
struct Attributes<'a>(Vec<(Cow<'a, str>, String)>);

impl Attributes<'_> {
    fn into_map(self) -> BTreeMap<String, String> {
        self.0
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Attributes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list: List<Obj<KeyValue<'a>>> = List::deserialize(d)?;
        Ok(Attributes(
            list.0
                .into_iter()
                .filter_map(|kv| {
                    let kv = kv.0?;
                    Some((kv.key.0?, kv.value.0))
                })
                .collect(),
        ))
    }
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow, default)]
    key: Text<'a>,
    #[serde(default)]
    value: AnyValueText,
}

/// An OTLP `AnyValue` as text, read as the core reads it: `stringValue`, else `intValue`,
/// `doubleValue`, `boolValue` in their JSON form, else `arrayValue` as `[a,b]`, else the
/// object's JSON. Absent: empty.
#[derive(Default)]
struct AnyValueText(String);

impl<'de> Deserialize<'de> for AnyValueText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyValueText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an OTLP AnyValue")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValueText, A::Error> {
                // The common case, `{"stringValue": "..."}`, builds no tree.
                let mut string: Option<String> = None;
                let mut rest = serde_json::Map::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "stringValue" && string.is_none() {
                        let v: Value = map.next_value()?;
                        match v {
                            Value::String(s) => string = Some(s),
                            other => {
                                rest.insert(key.into_owned(), other);
                            }
                        }
                    } else {
                        let v: Value = map.next_value()?;
                        rest.insert(key.into_owned(), v);
                    }
                }
                if let Some(s) = string {
                    return Ok(AnyValueText(s));
                }
                Ok(AnyValueText(value_text(&Value::Object(rest))))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<AnyValueText, E> {
                Ok(AnyValueText(Value::String(s.to_string()).to_string()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AnyValueText, E> {
                Ok(AnyValueText(Value::String(s.to_string()).to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValueText, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(v);
                }
                Ok(AnyValueText(Value::Array(items).to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<AnyValueText, E> {
                Ok(AnyValueText(b.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<AnyValueText, E> {
                Ok(AnyValueText(n.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<AnyValueText, E> {
                Ok(AnyValueText(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<AnyValueText, E> {
                Ok(AnyValueText(Value::from(n).to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyValueText, E> {
                Ok(AnyValueText("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The text of an `AnyValue` that is not a plain string (the core's rule, see the module doc).
fn value_text(v: &Value) -> String {
    if let Some(s) = v.get("stringValue").and_then(Value::as_str) {
        return s.to_string();
    }
    for key in ["intValue", "doubleValue", "boolValue"] {
        match v.get(key) {
            Some(Value::String(s)) => return s.clone(),
            Some(other @ (Value::Number(_) | Value::Bool(_))) => return other.to_string(),
            _ => {}
        }
    }
    if let Some(values) = v
        .get("arrayValue")
        .and_then(|a| a.get("values"))
        .and_then(Value::as_array)
    {
        return format!(
            "[{}]",
            values.iter().map(value_text).collect::<Vec<_>>().join(",")
        );
    }
    v.to_string()
}

/// An id given as hex or base64, as lowercase hex; empty or all-zero means absent.
fn id(s: Option<&str>, bytes: usize) -> Option<String> {
    let s = s?;
    if s.is_empty() {
        return None;
    }
    let hex = if s.len() == bytes * 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        s.to_ascii_lowercase()
    } else {
        let raw = base64_decode(s).filter(|r| r.len() == bytes)?;
        raw.iter().map(|b| format!("{b:02x}")).collect()
    };
    hex.bytes().any(|b| b != b'0').then_some(hex)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordertrace::otlp_json::parse_value_lenient;

    /// Both readers over `doc`: the same spans and the same skip reasons.
    fn assert_same_as_core(doc: &str) {
        let value: Value = serde_json::from_str(doc).expect("test document is JSON");
        let core = parse_value_lenient(&value, "test").expect("core reads it");
        let fast = scan(doc.as_bytes(), None, |_| false).expect("scan reads it");
        assert_eq!(fast.spans, core.spans, "{doc}");
        assert_eq!(fast.skipped, core.skipped, "{doc}");
    }

    const FULL: &str = r#"{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"mes-api"}},{"key":"host","value":{"intValue":"3"}}]},
      "scopeSpans":[{"scope":{"name":"x"},"spans":[
        {"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00f067aa0ba902b7","parentSpanId":"00f067aa0ba902b8",
         "name":"price_calculated","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1000","endTimeUnixNano":3000,
         "attributes":[{"key":"order.stage","value":{"intValue":"5"}},{"key":"n","value":{"intValue":7}},
           {"key":"d","value":{"doubleValue":1.5}},{"key":"b","value":{"boolValue":true}},
           {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"2"}]}}},
           {"key":"kv","value":{"kvlistValue":{"values":[]}}},{"key":"empty","value":{}},{"key":"null","value":null},
           {"key":"esc","value":{"stringValue":"a\"b\\u00e9"}},{"key":7,"value":{"stringValue":"no key"}},"not a kv"],
         "events":[{"name":"exception","timeUnixNano":"2000","attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]},"odd"],
         "links":[{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"APBnqguqArc="},{"traceId":"zz","spanId":"00f067aa0ba902b7"}],
         "status":{"code":"STATUS_CODE_ERROR","message":"failed"}},
        {"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"APBnqguqArc=","name":"b64","status":{"code":1}},
        {"traceId":"00000000000000000000000000000000","spanId":"00f067aa0ba902b7"},
        {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":""},
        {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"ab=cd"},
        {"traceId":12,"spanId":"00f067aa0ba902b7"},
        "not a span",
        {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b9","kind":2,"status":"odd",
         "startTimeUnixNano":"-5","endTimeUnixNano":{"x":1},"attributes":"odd","events":null,"links":{}}
      ]},"odd scope"]},
      {"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902ba","name":"no resource"}]}]},
      {"resource":"odd","scopeSpans":"odd"},7]}}"#;

    #[test]
    fn reads_every_field_and_odd_value_as_the_core_reader_does() {
        assert_same_as_core(FULL);
    }

    #[test]
    fn reads_a_bare_export_request_as_the_core_reader_does() {
        assert_same_as_core(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"n"}]}]}]}"#,
        );
    }

    #[test]
    fn spans_without_valid_ids_are_named_and_the_others_kept() {
        let read = scan(FULL.as_bytes(), None, |_| false).unwrap();
        assert_eq!(read.spans.len(), 4);
        assert_eq!(
            read.skipped,
            vec![
                "a span has no valid traceId",
                "a span has no valid spanId",
                "a span has no valid spanId",
                "a span has no valid traceId",
                "a span has no valid traceId",
            ]
        );
    }

    #[test]
    fn a_document_without_resource_spans_is_an_error() {
        for doc in [
            r#"{}"#,
            r#"{"result":{}}"#,
            r#"{"result":7}"#,
            r#"{"resourceSpans":null}"#,
        ] {
            let e = scan(doc.as_bytes(), None, |_| false).unwrap_err();
            assert_eq!(e, "no resourceSpans array", "{doc}");
        }
    }

    #[test]
    fn an_answer_that_is_not_json_is_an_error_saying_so() {
        for doc in [
            "",
            "<html>",
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"#,
        ] {
            let e = scan(doc.as_bytes(), None, |_| false).unwrap_err();
            assert!(e.starts_with("not JSON"), "{doc}: {e}");
        }
    }

    #[test]
    fn spans_of_traces_already_read_are_counted_and_not_parsed() {
        let read = scan(FULL.as_bytes(), None, |t| {
            t == "4bf92f3577b34da6a3ce929d0e0e4736"
        })
        .unwrap();
        assert!(read.spans.is_empty());
        // The six spans with a valid trace id (the all-zero and numeric ones have none).
        assert_eq!(read.already_read, 6);
        assert_eq!(read.other_shard, 0);
        assert!(read.traces.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
        // Skipped spans still tell where the answer lies in time.
        assert_eq!(read.starts, Some((1000, 1000)));
    }

    #[test]
    fn spans_of_another_shards_traces_are_counted_and_not_parsed() {
        let doc = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
          {"traceId":"00000000000000000000000000000004","spanId":"0000000000000001"},
          {"traceId":"00000000000000000000000000000007","spanId":"0000000000000002"},
          {"traceId":"00000000000000000000000000000007","spanId":"0000000000000003"}]}]}]}"#;
        let read = scan(doc.as_bytes(), Shard::parse("0/2"), |_| false).unwrap();
        assert_eq!(read.spans.len(), 1);
        assert_eq!(read.spans[0].trace_id, "00000000000000000000000000000004");
        assert_eq!(read.other_shard, 2);
        assert_eq!(read.traces.len(), 2);
    }
}
