//! A batch of spans as bytes on disk and back: the payload of a spool record is an OTLP
//! `ExportTraceServiceRequest` in protobuf, as the OTLP exporter would send it, without the
//! resource (replay exports under the tracer's own resource; the spool folder is per service).
//! Decoding rebuilds the SDK's `SpanData`, so a replayed span goes through the same exporter,
//! byte for byte the span the exporter would have sent in the first place.

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span as ProtoSpan, SpanFlags, span, status};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Encodes a batch (consumed: it is on its way to disk).
#[cfg(test)]
pub(crate) fn encode(batch: Vec<SpanData>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(batch, &mut out);
    out
}

/// Appends the encoded batch to `out` (consumed: it is on its way to disk), sized once.
pub(crate) fn encode_into(batch: Vec<SpanData>, out: &mut Vec<u8>) {
    let no_resource = ResourceAttributesWithSchema::from(&Resource::builder_empty().build());
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch, &no_resource),
    };
    out.reserve_exact(request.encoded_len());
    // A Vec grows as needed, so encoding into it cannot run out of room.
    let _ = request.encode(out);
}

/// Decodes a payload written by [`encode`]; the error says what was wrong.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<SpanData>, String> {
    let request = ExportTraceServiceRequest::decode(bytes)
        .map_err(|e| format!("not an OTLP protobuf request: {e}"))?;
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.unwrap_or_default();
            let mut builder = InstrumentationScope::builder(scope.name)
                .with_attributes(attributes(scope.attributes));
            if !scope.version.is_empty() {
                builder = builder.with_version(scope.version);
            }
            if !scope_spans.schema_url.is_empty() {
                builder = builder.with_schema_url(scope_spans.schema_url);
            }
            let scope = builder.build();
            for span in scope_spans.spans {
                out.push(span_data(span, scope.clone())?);
            }
        }
    }
    Ok(out)
}

fn span_data(span: ProtoSpan, scope: InstrumentationScope) -> Result<SpanData, String> {
    let span_context = context(
        &span.trace_id,
        &span.span_id,
        &span.trace_state,
        span.flags,
        false,
    )?;
    let parent_span_id = match span.parent_span_id.len() {
        0 => SpanId::INVALID,
        8 => SpanId::from_bytes(fixed(&span.parent_span_id)?),
        n => return Err(format!("parent span id has {n} bytes, expected 8")),
    };
    let mut events = SpanEvents::default();
    events.dropped_count = span.dropped_events_count;
    events.events = span
        .events
        .into_iter()
        .map(|e| {
            Event::new(
                e.name,
                time(e.time_unix_nano),
                attributes(e.attributes),
                e.dropped_attributes_count,
            )
        })
        .collect();
    let mut links = SpanLinks::default();
    links.dropped_count = span.dropped_links_count;
    for l in span.links {
        let remote = l.flags & SpanFlags::ContextIsRemoteMask as u32 != 0;
        let cx = context(&l.trace_id, &l.span_id, &l.trace_state, l.flags, remote)?;
        links.links.push(Link::new(
            cx,
            attributes(l.attributes),
            l.dropped_attributes_count,
        ));
    }
    let status = match span.status {
        Some(s) if s.code == status::StatusCode::Error as i32 => Status::error(s.message),
        Some(s) if s.code == status::StatusCode::Ok as i32 => Status::Ok,
        _ => Status::Unset,
    };
    let span_kind = match span::SpanKind::try_from(span.kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    };
    Ok(SpanData {
        span_context,
        parent_span_id,
        parent_span_is_remote: span.flags & SpanFlags::ContextIsRemoteMask as u32 != 0,
        span_kind,
        name: span.name.into(),
        start_time: time(span.start_time_unix_nano),
        end_time: time(span.end_time_unix_nano),
        attributes: attributes(span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope,
    })
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("id has {} bytes, expected {N}", bytes.len()))
}

fn context(
    trace_id: &[u8],
    span_id: &[u8],
    trace_state: &str,
    flags: u32,
    remote: bool,
) -> Result<SpanContext, String> {
    let state = if trace_state.is_empty() {
        TraceState::default()
    } else {
        trace_state
            .parse()
            .map_err(|e| format!("trace state {trace_state:?}: {e}"))?
    };
    Ok(SpanContext::new(
        TraceId::from_bytes(fixed(trace_id)?),
        SpanId::from_bytes(fixed(span_id)?),
        TraceFlags::new((flags & SpanFlags::TraceFlagsMask as u32) as u8),
        remote,
        state,
    ))
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn attributes(kvs: Vec<ProtoKeyValue>) -> Vec<KeyValue> {
    kvs.into_iter()
        .filter_map(|kv| Some(KeyValue::new(kv.key, value(kv.value?)?)))
        .collect()
}

/// The SDK's attribute types only: bytes and key-value lists are never produced by the SDK.
fn value(v: AnyValue) -> Option<Value> {
    Some(match v.value? {
        any_value::Value::StringValue(s) => Value::String(s.into()),
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::I64(i),
        any_value::Value::DoubleValue(d) => Value::F64(d),
        any_value::Value::ArrayValue(a) => {
            let items: Vec<any_value::Value> =
                a.values.into_iter().filter_map(|v| v.value).collect();
            Value::Array(match items.first() {
                Some(any_value::Value::BoolValue(_)) => Array::Bool(
                    items
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::BoolValue(b) => Some(b),
                            _ => None,
                        })
                        .collect(),
                ),
                Some(any_value::Value::IntValue(_)) => Array::I64(
                    items
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::IntValue(i) => Some(i),
                            _ => None,
                        })
                        .collect(),
                ),
                Some(any_value::Value::DoubleValue(_)) => Array::F64(
                    items
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::DoubleValue(d) => Some(d),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => Array::String(
                    items
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::StringValue(s) => Some(StringValue::from(s)),
                            _ => None,
                        })
                        .collect(),
                ),
            })
        }
        any_value::Value::KvlistValue(_) | any_value::Value::BytesValue(_) => return None,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn sample(i: u64) -> SpanData {
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "exception",
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            vec![
                KeyValue::new("exception.type", "Mes.PriceException"),
                KeyValue::new("exception.message", "no rule"),
            ],
            0,
        ));
        events.dropped_count = 2;
        let mut links = SpanLinks::default();
        links.links.push(Link::new(
            SpanContext::new(
                TraceId::from(7u128),
                SpanId::from(9u64),
                TraceFlags::SAMPLED,
                true,
                "vendor=a".parse().unwrap(),
            ),
            vec![KeyValue::new("link.kind", "request")],
            1,
        ));
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x1234_5678_9abc_def0_u128 + i as u128),
                SpanId::from(100 + i),
                TraceFlags::SAMPLED,
                false,
                "rojo=00f067aa0ba902b7".parse().unwrap(),
            ),
            parent_span_id: SpanId::from(42u64),
            parent_span_is_remote: true,
            span_kind: SpanKind::Consumer,
            name: Cow::Borrowed("price_calculated"),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_001),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_002),
            attributes: vec![
                KeyValue::new("order.id", "ORD-1"),
                KeyValue::new("order.stage", 5i64),
                KeyValue::new("order.price.amount", 12.5f64),
                KeyValue::new("retry", true),
                KeyValue::new(
                    "tags",
                    Value::Array(Array::String(vec!["a".into(), "b".into()])),
                ),
                KeyValue::new("sizes", Value::Array(Array::I64(vec![1, 2]))),
                KeyValue::new("weights", Value::Array(Array::F64(vec![0.5]))),
                KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
            ],
            dropped_attributes_count: 3,
            events,
            links,
            status: Status::error("price rule missing"),
            instrumentation_scope: InstrumentationScope::builder("ordertrace")
                .with_version("0.1.0")
                .with_attributes([KeyValue::new("scope.k", "v")])
                .build(),
        }
    }

    #[test]
    fn decode_gives_back_every_field_of_every_span() {
        let batch: Vec<SpanData> = (0..3).map(sample).collect();
        let decoded = decode(&encode(batch.clone())).unwrap();
        assert_eq!(decoded, batch);
    }

    #[test]
    fn decode_keeps_ok_unset_status_and_root_spans() {
        let mut a = sample(1);
        a.status = Status::Ok;
        a.parent_span_id = SpanId::INVALID;
        a.parent_span_is_remote = false;
        let mut b = sample(2);
        b.status = Status::Unset;
        b.span_kind = SpanKind::Internal;
        let decoded = decode(&encode(vec![a.clone(), b.clone()])).unwrap();
        assert_eq!(decoded, vec![a, b]);
    }

    #[test]
    fn decode_rejects_bytes_that_are_not_a_request() {
        let err = decode(&[0xff, 0xff, 0xff, 0x01]).unwrap_err();
        assert!(err.starts_with("not an OTLP protobuf request"), "{err}");
    }

    #[test]
    fn decode_rejects_a_span_id_of_the_wrong_length() {
        let mut request = ExportTraceServiceRequest::decode(&encode(vec![sample(0)])[..]).unwrap();
        request.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1, 2, 3];
        let err = decode(&request.encode_to_vec()).unwrap_err();
        assert_eq!(err, "id has 3 bytes, expected 8");
    }
}
