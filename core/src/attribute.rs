//! Extra attributes of a stage: their values, and the validation every attribute passes
//! before it reaches a span.

use crate::error::{OrderTraceError, Result};
use crate::schema;
use opentelemetry::{KeyValue, Value};

/// A value of an extra stage attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// Text (bounded by [`schema::MAX_ATTRIBUTE_VALUE_LEN`]).
    Str(String),
    /// Whole number.
    Int(i64),
    /// Floating point number.
    Float(f64),
    /// Flag.
    Bool(bool),
}

impl From<&str> for AttributeValue {
    fn from(v: &str) -> Self {
        Self::Str(v.to_string())
    }
}
impl From<String> for AttributeValue {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<i64> for AttributeValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<f64> for AttributeValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<bool> for AttributeValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl AttributeValue {
    fn into_value(self) -> Value {
        match self {
            Self::Str(s) => Value::from(s),
            Self::Int(i) => Value::I64(i),
            Self::Float(f) => Value::F64(f),
            Self::Bool(b) => Value::Bool(b),
        }
    }
}

/// Validates a caller's key/value pair and turns it into an OpenTelemetry attribute.
pub(crate) fn checked_attribute(key: &str, value: AttributeValue) -> Result<KeyValue> {
    schema::validate_attribute_key(key)?;
    match &value {
        AttributeValue::Str(s) => schema::validate_attribute_value(key, s)?,
        AttributeValue::Float(f) if !f.is_finite() => {
            return Err(OrderTraceError::invalid(
                "attribute value",
                format!("value of {key:?} is not a finite number"),
            ));
        }
        _ => {}
    }
    Ok(KeyValue::new(key.to_string(), value.into_value()))
}
