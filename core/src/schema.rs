//! The canonical order-event schema: the eight lifecycle events, the component that emits each,
//! the attribute keys, and the validation rules for caller input.
//!
//! The core is the single source of truth; the Java and C# bridges check their enums against
//! [`schema_json`] in their own tests.
//!
//! ```
//! use ordertrace::schema::{OrderEvent, Component};
//! let event: OrderEvent = "price_calculated".parse().unwrap();
//! assert_eq!(event.component(), Component::MesApi);
//! assert_eq!(event.stage(), 5);
//! assert_eq!(event.next(), Some(OrderEvent::ManufacturingStarted));
//! ```

use crate::error::{OrderTraceError, Result, quoted_text};
use std::fmt;
use std::str::FromStr;

/// Version of the schema below; bump when an event or key changes meaning.
pub const SCHEMA_VERSION: &str = "1";

/// Attribute keys, following OpenTelemetry semantic conventions where one exists.
pub mod attr {
    /// The order's id as the shop names it, e.g. `ORD-5678`.
    pub const ORDER_ID: &str = "order.id";
    /// The ordering user's id (a UUID). Semantic convention `user.id`.
    pub const USER_ID: &str = "user.id";
    /// The event name of a stage span, e.g. `price_calculated`.
    pub const ORDER_EVENT: &str = "order.event";
    /// 1-based position of the event in the lifecycle.
    pub const ORDER_STAGE: &str = "order.stage";
    /// Status before an `order_status_changed`, as the CRM names it.
    pub const ORDER_STATUS_FROM: &str = "order.status.from";
    /// Status after an `order_status_changed`.
    pub const ORDER_STATUS_TO: &str = "order.status.to";
    /// The component (resource attribute): shop-api, crm-api, mes-api.
    pub const SERVICE_NAME: &str = "service.name";
    /// Price amount from `price_calculated`.
    pub const PRICE_AMOUNT: &str = "order.price.amount";
    /// ISO 4217 currency of the price.
    pub const PRICE_CURRENCY: &str = "order.price.currency";
    /// 3D model format from `model_uploaded`, e.g. `stl`.
    pub const MODEL_FORMAT: &str = "order.model.format";
    /// 3D model size in bytes.
    pub const MODEL_SIZE: &str = "order.model.size";
    /// `rabbitmq` on queue hops (semantic convention).
    pub const MESSAGING_SYSTEM: &str = "messaging.system";
    /// Queue or exchange name (semantic convention).
    pub const MESSAGING_DESTINATION: &str = "messaging.destination.name";
    /// `publish`, `receive`, `process` (semantic convention).
    pub const MESSAGING_OPERATION: &str = "messaging.operation.type";
    /// Exception event attributes (semantic convention).
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Exception message.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// Exception stack trace, in the language's own format.
    pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
    /// Marks ordertrace's own records: `stage_start` or `heartbeat`. Absent on stage spans.
    pub const RECORD: &str = "ordertrace.record";
    /// How long the stage had been open when a heartbeat was written, in milliseconds.
    pub const OPEN_FOR_MS: &str = "ordertrace.open_for_ms";
    /// The span id of the stage a start record or heartbeat belongs to (hex).
    pub const STAGE_SPAN_ID: &str = "ordertrace.stage_span_id";
    /// On a stage that started although an id broke a rule (lenient mode): what was wrong,
    /// e.g. `invalid user id: "42" is not a UUID (expected 8-4-4-4-12 hex digits)`.
    pub const PROBLEM: &str = "ordertrace.problem";
    /// Which ids such a stage left out: `order.id`, `user.id` or `order.id,user.id`.
    pub const ID_REJECTED: &str = "ordertrace.id_rejected";
}

/// Value of [`attr::RECORD`] on a stage's start record.
pub const RECORD_STAGE_START: &str = "stage_start";
/// Value of [`attr::RECORD`] on a heartbeat of a stage that stays open.
pub const RECORD_HEARTBEAT: &str = "heartbeat";

/// Keys the core sets itself; callers may not set them as extra attributes.
pub const RESERVED_KEYS: [&str; 8] = [
    attr::ORDER_ID,
    attr::USER_ID,
    attr::ORDER_EVENT,
    attr::ORDER_STAGE,
    attr::RECORD,
    attr::STAGE_SPAN_ID,
    attr::PROBLEM,
    attr::ID_REJECTED,
];

/// Upper bound of an order id, in bytes.
pub const MAX_ORDER_ID_LEN: usize = 128;
/// Upper bound of a status string, in bytes.
pub const MAX_STATUS_LEN: usize = 64;
/// Upper bound of an attribute key, in bytes.
pub const MAX_ATTRIBUTE_KEY_LEN: usize = 128;
/// Upper bound of a string attribute value, in bytes (stack traces included).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 16 * 1024;

/// The component (service) that emits an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// The shop's public API: order creation, model upload.
    ShopApi,
    /// The CRM (Spring Boot): confirmation, status, shipping.
    CrmApi,
    /// The third-party MES (.NET): pricing and manufacturing.
    MesApi,
}

impl Component {
    /// The `service.name` of the component.
    pub fn service_name(self) -> &'static str {
        match self {
            Self::ShopApi => "shop-api",
            Self::CrmApi => "crm-api",
            Self::MesApi => "mes-api",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.service_name())
    }
}

/// The eight canonical order events, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderEvent {
    /// Order created in the shop; starts the order trace.
    OrderSubmitted,
    /// 3D model uploaded (format, size).
    ModelUploaded,
    /// CRM confirmed the order.
    OrderConfirmed,
    /// CRM changed the order status (from/to).
    OrderStatusChanged,
    /// MES calculated the price (amount, currency).
    PriceCalculated,
    /// MES started manufacturing.
    ManufacturingStarted,
    /// MES finished manufacturing.
    ManufacturingCompleted,
    /// CRM shipped the order; end of the lifecycle.
    OrderShipped,
}

impl OrderEvent {
    /// All events in lifecycle order.
    pub const ALL: [OrderEvent; 8] = [
        Self::OrderSubmitted,
        Self::ModelUploaded,
        Self::OrderConfirmed,
        Self::OrderStatusChanged,
        Self::PriceCalculated,
        Self::ManufacturingStarted,
        Self::ManufacturingCompleted,
        Self::OrderShipped,
    ];

    /// The event name, which is also the stage span's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OrderSubmitted => "order_submitted",
            Self::ModelUploaded => "model_uploaded",
            Self::OrderConfirmed => "order_confirmed",
            Self::OrderStatusChanged => "order_status_changed",
            Self::PriceCalculated => "price_calculated",
            Self::ManufacturingStarted => "manufacturing_started",
            Self::ManufacturingCompleted => "manufacturing_completed",
            Self::OrderShipped => "order_shipped",
        }
    }

    /// Names of all events, in lifecycle order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|e| e.name()).collect()
    }

    /// 1-based position in the lifecycle (`order.stage`).
    pub fn stage(self) -> u8 {
        self as u8 + 1
    }

    /// The component that emits this event.
    pub fn component(self) -> Component {
        match self {
            Self::OrderSubmitted | Self::ModelUploaded => Component::ShopApi,
            Self::OrderConfirmed | Self::OrderStatusChanged | Self::OrderShipped => {
                Component::CrmApi
            }
            Self::PriceCalculated | Self::ManufacturingStarted | Self::ManufacturingCompleted => {
                Component::MesApi
            }
        }
    }

    /// The event expected after this one, `None` after shipping.
    pub fn next(self) -> Option<OrderEvent> {
        Self::ALL.get(self.stage() as usize).copied()
    }

    /// Name of the zero-length span exported the moment a stage starts.
    pub fn start_record_name(self) -> &'static str {
        // Static names: a start record is made on every stage, a format! there is a cost.
        match self {
            Self::OrderSubmitted => "order_submitted.started",
            Self::ModelUploaded => "model_uploaded.started",
            Self::OrderConfirmed => "order_confirmed.started",
            Self::OrderStatusChanged => "order_status_changed.started",
            Self::PriceCalculated => "price_calculated.started",
            Self::ManufacturingStarted => "manufacturing_started.started",
            Self::ManufacturingCompleted => "manufacturing_completed.started",
            Self::OrderShipped => "order_shipped.started",
        }
    }

    /// Name of the zero-length span exported while a stage stays open.
    pub fn heartbeat_name(self) -> &'static str {
        match self {
            Self::OrderSubmitted => "order_submitted.heartbeat",
            Self::ModelUploaded => "model_uploaded.heartbeat",
            Self::OrderConfirmed => "order_confirmed.heartbeat",
            Self::OrderStatusChanged => "order_status_changed.heartbeat",
            Self::PriceCalculated => "price_calculated.heartbeat",
            Self::ManufacturingStarted => "manufacturing_started.heartbeat",
            Self::ManufacturingCompleted => "manufacturing_completed.heartbeat",
            Self::OrderShipped => "order_shipped.heartbeat",
        }
    }
}

impl fmt::Display for OrderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl OrderEvent {
    /// The event whose wire name is exactly `name`, for bridges handing over foreign bytes:
    /// no UTF-8 check first (a wire name is ASCII). `None` for anything else; parse the text
    /// with [`FromStr`] for the error that names the valid events.
    ///
    /// ```
    /// use ordertrace::OrderEvent;
    /// assert_eq!(OrderEvent::from_name_bytes(b"order_shipped"), Some(OrderEvent::OrderShipped));
    /// assert_eq!(OrderEvent::from_name_bytes(b"order_lost"), None);
    /// ```
    pub fn from_name_bytes(name: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.name().as_bytes() == name)
    }
}

impl FromStr for OrderEvent {
    type Err = OrderTraceError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|e| e.name() == s)
            .ok_or_else(|| OrderTraceError::UnknownEvent(s.to_string()))
    }
}

/// Unicode's bidirectional formatting characters (embeddings, overrides, isolates, marks):
/// they make an id display differently from what it is ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks an order id: non-empty, at most [`MAX_ORDER_ID_LEN`] bytes, no whitespace, no
/// control characters (CR and LF would break a header), no bidirectional formatting
/// characters. Anything else is allowed: it travels percent-encoded in baggage.
///
/// ```
/// use ordertrace::schema::validate_order_id;
/// assert!(validate_order_id("ORD-5678").is_ok());
/// assert!(validate_order_id("ORD-1,2;x=ü").is_ok());
/// assert!(validate_order_id("ORD-1\r\nX-Evil: 1").is_err());
/// assert!(validate_order_id("ORD-\u{202E}1").is_err());
/// ```
pub fn validate_order_id(order_id: &str) -> Result<()> {
    const FIELD: &str = "order id";
    if order_id.is_empty() {
        return Err(OrderTraceError::invalid(FIELD, "it is empty"));
    }
    if order_id.len() > MAX_ORDER_ID_LEN {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!(
                "it is {} bytes long, at most {MAX_ORDER_ID_LEN} allowed",
                order_id.len()
            ),
        ));
    }
    // Printable ASCII (what order ids nearly always are) has no whitespace, control or
    // bidirectional character: one byte loop instead of two passes over the chars.
    if order_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    if let Some(c) = order_id
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!(
                "{} contains the character {c:?}; whitespace and control characters are not allowed",
                quoted_text(order_id)
            ),
        ));
    }
    if let Some(c) = order_id.chars().find(|c| is_bidi_control(*c)) {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!(
                "{} contains the bidirectional formatting character U+{:04X}, which is not allowed",
                quoted_text(order_id),
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// Checks a user id is a UUID (`8-4-4-4-12` hex digits) and returns it in lowercase.
///
/// ```
/// let id = ordertrace::schema::normalize_user_id("1B4E28BA-2FA1-11D2-883F-0016D3CCA427").unwrap();
/// assert_eq!(id, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
/// assert!(ordertrace::schema::normalize_user_id("bob").is_err());
/// ```
pub fn normalize_user_id(user_id: &str) -> Result<String> {
    check_uuid(user_id)?;
    Ok(user_id.to_ascii_lowercase())
}

/// Checks the 8-4-4-4-12 hex-digit form of a UUID, without allocating (it runs per stage).
pub(crate) fn check_uuid(user_id: &str) -> Result<()> {
    check_uuid_case(user_id).map(|_| ())
}

/// Checks a user id is a UUID, like [`check_uuid`], and tells whether it has uppercase hex
/// digits (`Ok(true)`: it needs lowercasing), in one pass: this runs on every stage start.
pub(crate) fn check_uuid_case(user_id: &str) -> Result<bool> {
    match uuid_has_uppercase(user_id.as_bytes()) {
        Some(upper) => Ok(upper),
        None => Err(OrderTraceError::invalid(
            "user id",
            format!(
                "{} is not a UUID (expected 8-4-4-4-12 hex digits)",
                quoted_text(user_id)
            ),
        )),
    }
}

/// `None` unless `bytes` are a UUID (`8-4-4-4-12` hex digits); otherwise whether any digit is
/// uppercase. The 32 digits are gathered into one array and checked without early exits, so
/// the compiler turns the loop into a few vector instructions (this runs on every stage).
fn uuid_has_uppercase(bytes: &[u8]) -> Option<bool> {
    let b: &[u8; 36] = bytes.try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut digits = [0u8; 32];
    digits[..8].copy_from_slice(&b[..8]);
    digits[8..12].copy_from_slice(&b[9..13]);
    digits[12..16].copy_from_slice(&b[14..18]);
    digits[16..20].copy_from_slice(&b[19..23]);
    digits[20..].copy_from_slice(&b[24..]);
    let mut not_hex = 0u8;
    let mut upper = 0u8;
    for &c in &digits {
        let is_upper = u8::from(c.wrapping_sub(b'A') < 6);
        let is_hex =
            u8::from(c.wrapping_sub(b'0') < 10) | u8::from(c.wrapping_sub(b'a') < 6) | is_upper;
        not_hex |= is_hex ^ 1;
        upper |= is_upper;
    }
    (not_hex == 0).then_some(upper != 0)
}

/// Checks an order status string (`order.status.from`/`to`): non-empty, bounded, printable.
pub fn validate_status(field: &'static str, status: &str) -> Result<()> {
    if status.trim().is_empty() {
        return Err(OrderTraceError::invalid(field, "it is empty"));
    }
    if status.len() > MAX_STATUS_LEN {
        return Err(OrderTraceError::invalid(
            field,
            format!(
                "it is {} bytes long, at most {MAX_STATUS_LEN} allowed",
                status.len()
            ),
        ));
    }
    if status.chars().any(char::is_control) {
        return Err(OrderTraceError::invalid(
            field,
            "it contains control characters",
        ));
    }
    Ok(())
}

/// Checks an extra attribute key: bounded, `[A-Za-z0-9._-]`, and not one the core sets itself.
pub fn validate_attribute_key(key: &str) -> Result<()> {
    const FIELD: &str = "attribute key";
    if key.is_empty() {
        return Err(OrderTraceError::invalid(FIELD, "it is empty"));
    }
    if key.len() > MAX_ATTRIBUTE_KEY_LEN {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!(
                "it is {} bytes long, at most {MAX_ATTRIBUTE_KEY_LEN} allowed",
                key.len()
            ),
        ));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!(
                "{} may only hold letters, digits, '.', '_' and '-'",
                quoted_text(key)
            ),
        ));
    }
    if RESERVED_KEYS.contains(&key) {
        return Err(OrderTraceError::invalid(
            FIELD,
            format!("{key:?} is set by ordertrace itself; pass it as the stage's own argument"),
        ));
    }
    Ok(())
}

/// Checks a string attribute value is at most [`MAX_ATTRIBUTE_VALUE_LEN`] bytes.
pub fn validate_attribute_value(key: &str, value: &str) -> Result<()> {
    if value.len() > MAX_ATTRIBUTE_VALUE_LEN {
        return Err(OrderTraceError::invalid(
            "attribute value",
            format!(
                "value of {key:?} is {} bytes long, at most {MAX_ATTRIBUTE_VALUE_LEN} allowed",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// The whole schema as JSON: version, events (name, stage, component), attribute keys, limits
/// and record kinds. The bridges' tests compare their enums and constants with it.
pub fn schema_json() -> String {
    let events: Vec<serde_json::Value> = OrderEvent::ALL
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name(),
                "stage": e.stage(),
                "component": e.component().service_name(),
                "start_record": e.start_record_name(),
                "heartbeat": e.heartbeat_name(),
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "events": events,
        "components": ["shop-api", "crm-api", "mes-api"],
        "attributes": {
            "order_id": attr::ORDER_ID,
            "user_id": attr::USER_ID,
            "order_event": attr::ORDER_EVENT,
            "order_stage": attr::ORDER_STAGE,
            "order_status_from": attr::ORDER_STATUS_FROM,
            "order_status_to": attr::ORDER_STATUS_TO,
            "service_name": attr::SERVICE_NAME,
            "price_amount": attr::PRICE_AMOUNT,
            "price_currency": attr::PRICE_CURRENCY,
            "model_format": attr::MODEL_FORMAT,
            "model_size": attr::MODEL_SIZE,
            "messaging_system": attr::MESSAGING_SYSTEM,
            "messaging_destination": attr::MESSAGING_DESTINATION,
            "messaging_operation": attr::MESSAGING_OPERATION,
            "exception_type": attr::EXCEPTION_TYPE,
            "exception_message": attr::EXCEPTION_MESSAGE,
            "exception_stacktrace": attr::EXCEPTION_STACKTRACE,
            "record": attr::RECORD,
            "open_for_ms": attr::OPEN_FOR_MS,
            "stage_span_id": attr::STAGE_SPAN_ID,
            "problem": attr::PROBLEM,
            "id_rejected": attr::ID_REJECTED,
        },
        "reserved_attributes": RESERVED_KEYS,
        "records": [RECORD_STAGE_START, RECORD_HEARTBEAT],
        "limits": {
            "order_id_max_bytes": MAX_ORDER_ID_LEN,
            "status_max_bytes": MAX_STATUS_LEN,
            "attribute_key_max_bytes": MAX_ATTRIBUTE_KEY_LEN,
            "attribute_value_max_bytes": MAX_ATTRIBUTE_VALUE_LEN,
        },
        "propagation": {
            "headers": crate::propagation::PROPAGATION_HEADERS,
            "trace_headers": ["traceparent", "tracestate"],
            "baggage_header": "baggage",
            "baggage_keys": [attr::ORDER_ID, attr::USER_ID],
        },
        "status_codes": crate::status::Status::table_json(),
        "pipeline_counters": crate::pipeline::PipelineCounters::NAMES,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_in_lifecycle_order_with_their_components() {
        let names = OrderEvent::names();
        assert_eq!(
            names,
            [
                "order_submitted",
                "model_uploaded",
                "order_confirmed",
                "order_status_changed",
                "price_calculated",
                "manufacturing_started",
                "manufacturing_completed",
                "order_shipped"
            ]
        );
        let stages: Vec<u8> = OrderEvent::ALL.iter().map(|e| e.stage()).collect();
        assert_eq!(stages, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(OrderEvent::ModelUploaded.component(), Component::ShopApi);
        assert_eq!(
            OrderEvent::OrderStatusChanged.component(),
            Component::CrmApi
        );
        assert_eq!(
            OrderEvent::ManufacturingCompleted.component(),
            Component::MesApi
        );
        assert_eq!(OrderEvent::OrderShipped.component(), Component::CrmApi);
    }

    #[test]
    fn next_walks_the_lifecycle_and_ends_after_shipping() {
        assert_eq!(
            OrderEvent::OrderSubmitted.next(),
            Some(OrderEvent::ModelUploaded)
        );
        assert_eq!(OrderEvent::OrderShipped.next(), None);
    }

    #[test]
    fn parse_round_trips_every_event() {
        for e in OrderEvent::ALL {
            assert_eq!(e.name().parse::<OrderEvent>().unwrap(), e);
        }
    }

    #[test]
    fn record_names_are_the_event_name_with_a_suffix() {
        for e in OrderEvent::ALL {
            assert_eq!(e.start_record_name(), format!("{}.started", e.name()));
            assert_eq!(e.heartbeat_name(), format!("{}.heartbeat", e.name()));
        }
    }

    #[test]
    fn parse_rejects_unknown_event() {
        let err = "order_lost".parse::<OrderEvent>().unwrap_err();
        assert!(matches!(err, OrderTraceError::UnknownEvent(ref s) if s == "order_lost"));
    }

    #[test]
    fn parse_rejects_wrong_case() {
        assert!("Order_Submitted".parse::<OrderEvent>().is_err());
    }

    #[test]
    fn order_id_rejects_empty() {
        let err = validate_order_id("").unwrap_err();
        assert_eq!(err.to_string(), "invalid order id: it is empty");
    }

    #[test]
    fn order_id_rejects_over_long() {
        let id = "O".repeat(MAX_ORDER_ID_LEN + 1);
        assert!(
            validate_order_id(&id)
                .unwrap_err()
                .to_string()
                .contains("129 bytes")
        );
        assert!(validate_order_id(&"O".repeat(MAX_ORDER_ID_LEN)).is_ok());
    }

    #[test]
    fn order_id_rejects_whitespace_and_control_characters() {
        assert!(validate_order_id("ORD 1").is_err());
        assert!(validate_order_id("ORD-1\n").is_err());
        assert!(validate_order_id("ORD\u{0}1").is_err());
        assert!(validate_order_id("ORD-5678").is_ok());
    }

    #[test]
    fn order_id_with_an_ascii_byte_is_accepted_exactly_when_the_byte_is_printable() {
        // The printable-ASCII fast path and the per-character rules must agree on every byte.
        for b in 0u8..0x80 {
            let id = format!("ORD-{}1", char::from(b));
            assert_eq!(
                validate_order_id(&id).is_ok(),
                b.is_ascii_graphic(),
                "byte {b:#04x}"
            );
        }
    }

    #[test]
    fn order_id_rejects_header_breaking_characters() {
        for id in ["ORD-1\r\nX-Evil: 1", "ORD-1\r", "ORD\u{85}1", "ORD\u{7f}"] {
            assert!(validate_order_id(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn order_id_rejects_bidi_formatting_characters() {
        for c in [
            '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}',
        ] {
            let err = validate_order_id(&format!("ORD-{c}1"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("bidirectional"), "{err}");
        }
    }

    #[test]
    fn order_id_accepts_punctuation_and_non_ascii_letters() {
        for id in ["ORD-1+2", "ORD,1;x=y", "Bestellung-ü-42", "注文-7"] {
            assert!(validate_order_id(id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn uuid_check_accepts_exactly_hex_digits_and_dashes_in_place() {
        const GOOD: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        assert_eq!(check_uuid_case(GOOD).ok(), Some(false));
        assert_eq!(
            check_uuid_case("1B4E28BA-2FA1-11D2-883F-0016D3CCA427").ok(),
            Some(true)
        );
        assert_eq!(
            check_uuid_case("1b4e28ba-2fa1-11d2-883f-0016d3ccA427").ok(),
            Some(true)
        );
        // Every byte value at every position: accepted only where the rule allows it.
        for pos in 0..GOOD.len() {
            for b in 0u8..0x80 {
                let mut id = GOOD.as_bytes().to_vec();
                id[pos] = b;
                let id = String::from_utf8(id).expect("ASCII");
                let allowed = if [8, 13, 18, 23].contains(&pos) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                };
                assert_eq!(check_uuid(&id).is_ok(), allowed, "{id:?}");
            }
        }
        assert!(check_uuid(&GOOD[..35]).is_err());
        assert!(check_uuid(&format!("{GOOD}0")).is_err());
    }

    #[test]
    fn user_id_rejects_non_uuid() {
        for bad in [
            "",
            "bob",
            "1b4e28ba2fa111d2883f0016d3cca427",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca42",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca42g",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427-0",
        ] {
            assert!(normalize_user_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn user_id_is_lowercased() {
        assert_eq!(
            normalize_user_id("1B4E28BA-2FA1-11D2-883F-0016D3CCA427").unwrap(),
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        );
    }

    #[test]
    fn status_rejects_empty_long_and_control() {
        assert!(validate_status("status", " ").is_err());
        assert!(validate_status("status", &"x".repeat(MAX_STATUS_LEN + 1)).is_err());
        assert!(validate_status("status", "new\u{7}").is_err());
        assert!(validate_status("status", "IN_PRODUCTION").is_ok());
    }

    #[test]
    fn attribute_key_rejects_reserved_bad_chars_and_length() {
        assert!(validate_attribute_key("order.id").is_err());
        assert!(validate_attribute_key("").is_err());
        assert!(validate_attribute_key("price amount").is_err());
        assert!(validate_attribute_key(&"k".repeat(MAX_ATTRIBUTE_KEY_LEN + 1)).is_err());
        assert!(validate_attribute_key("order.price.amount").is_ok());
    }

    #[test]
    fn attribute_value_rejects_oversized() {
        let big = "v".repeat(MAX_ATTRIBUTE_VALUE_LEN + 1);
        assert!(validate_attribute_value("k", &big).is_err());
        assert!(validate_attribute_value("k", "ok").is_ok());
    }

    #[test]
    fn schema_json_exports_the_status_table() {
        let v: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
        let rows = v["status_codes"].as_array().expect("status_codes");
        let exported: Vec<(i64, &str)> = rows
            .iter()
            .map(|r| (r["code"].as_i64().unwrap(), r["name"].as_str().unwrap()))
            .collect();
        let table: Vec<(i64, &str)> = crate::Status::ALL
            .iter()
            .map(|s| (i64::from(s.code()), s.name()))
            .collect();
        assert_eq!(exported, table);
    }

    #[test]
    fn schema_json_lists_every_event_and_key() {
        let v: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
        let events = v["events"].as_array().unwrap();
        assert_eq!(events.len(), 8);
        assert_eq!(events[4]["name"], "price_calculated");
        assert_eq!(events[4]["stage"], 5);
        assert_eq!(events[4]["component"], "mes-api");
        assert_eq!(events[4]["start_record"], "price_calculated.started");
        assert_eq!(v["attributes"]["order_id"], "order.id");
        assert_eq!(
            v["attributes"]["exception_stacktrace"],
            "exception.stacktrace"
        );
        assert_eq!(v["limits"]["order_id_max_bytes"], MAX_ORDER_ID_LEN);
    }
}
