//! W3C Baggage: the `baggage` header that carries `order.id` and `user.id` between services.
//!
//! Grammar (W3C Baggage, section 3.3): `key OWS "=" OWS value *( OWS ";" OWS property )`
//! members separated by commas; keys are RFC 7230 tokens; values are percent-encoded
//! baggage-octets. Limits: 180 members and 8192 bytes per header. A header over a limit keeps
//! its leading members that fit and drops the rest whole, since the spec forbids propagating a
//! partial member. A member that breaks the grammar makes the whole header malformed.
//!
//! ```
//! use ordertrace::propagation::Baggage;
//! let b = Baggage::parse(["order.id=ORD-5678, user.id=1b4e28ba-2fa1-11d2-883f-0016d3cca427"]).unwrap();
//! assert_eq!(b.baggage.get("order.id"), Some("ORD-5678"));
//! ```

use crate::error::{OrderTraceError, Result};

/// Header name.
pub const BAGGAGE_HEADER: &str = "baggage";
/// At most this many members are propagated.
pub const MAX_MEMBERS: usize = 180;
/// At most this many bytes of header are propagated.
pub const MAX_BYTES: usize = 8192;

/// One baggage member: key, decoded value, and its properties as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaggageMember {
    /// The key (an RFC 7230 token).
    pub key: String,
    /// The value, percent-decoded.
    pub value: String,
    /// Properties after the value (`;k=v;flag`), kept verbatim for propagation.
    pub properties: Vec<String>,
}

impl BaggageMember {
    fn encoded(&self) -> String {
        let mut s = format!("{}={}", self.key, percent_encode(&self.value));
        for p in &self.properties {
            s.push(';');
            s.push_str(p);
        }
        s
    }
}

/// Ordered baggage members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baggage {
    members: Vec<BaggageMember>,
}

/// Parsed baggage plus how many members were dropped to fit the limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedBaggage {
    /// The members kept.
    pub baggage: Baggage,
    /// Members dropped because the header exceeded [`MAX_MEMBERS`] or [`MAX_BYTES`].
    pub dropped_members: usize,
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(BAGGAGE_HEADER, reason)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

fn validate_token(what: &str, key: &str) -> Result<()> {
    if key.is_empty() || !key.bytes().all(is_tchar) {
        return Err(malformed(format!("{what} {key:?} is not a valid token")));
    }
    Ok(())
}

fn percent_decode(key: &str, raw: &str) -> Result<String> {
    if let Some(b) = raw.bytes().find(|b| !is_baggage_octet(*b)) {
        return Err(malformed(format!(
            "value of {key:?} contains the byte 0x{b:02x}, which must be percent-encoded"
        )));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| malformed(format!("value of {key:?} has a bad percent escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| malformed(format!("value of {key:?} is not UTF-8 once decoded")))
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if is_baggage_octet(b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_member(member: &str) -> Result<BaggageMember> {
    let mut parts = member.split(';');
    let kv = parts.next().unwrap_or_default();
    let (key, value) = kv
        .split_once('=')
        .ok_or_else(|| malformed(format!("member {member:?} has no '='")))?;
    let key = key.trim_matches([' ', '\t']);
    validate_token("key", key)?;
    let value = percent_decode(key, value.trim_matches([' ', '\t']))?;
    let mut properties = Vec::new();
    for prop in parts {
        let prop = prop.trim_matches([' ', '\t']);
        let pkey = prop
            .split_once('=')
            .map_or(prop, |(k, _)| k)
            .trim_matches([' ', '\t']);
        validate_token("property", pkey)?;
        properties.push(prop.to_string());
    }
    Ok(BaggageMember {
        key: key.to_string(),
        value,
        properties,
    })
}

impl Baggage {
    /// Parses one or more `baggage` header values (several headers combine as one list).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<ParsedBaggage> {
        let mut members = Vec::new();
        let mut raw_lens = Vec::new();
        for value in values {
            if value.trim_matches([' ', '\t']).is_empty() {
                continue;
            }
            for member in value.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    return Err(malformed("it has an empty list member"));
                }
                members.push(parse_member(member)?);
                raw_lens.push(member.len());
            }
        }
        // Keep the leading members that fit both limits; never a partial member.
        let mut kept = 0;
        let mut bytes = 0;
        for len in &raw_lens {
            let next = bytes + len + usize::from(kept > 0);
            if kept == MAX_MEMBERS || next > MAX_BYTES {
                break;
            }
            bytes = next;
            kept += 1;
        }
        let dropped_members = members.len() - kept;
        members.truncate(kept);
        Ok(ParsedBaggage {
            baggage: Baggage { members },
            dropped_members,
        })
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.as_str())
    }

    /// Sets `key` to `value`, replacing an existing member (its properties are dropped).
    pub fn set(&mut self, key: &str, value: &str) {
        let member = BaggageMember {
            key: key.to_string(),
            value: value.to_string(),
            properties: Vec::new(),
        };
        match self.members.iter_mut().find(|m| m.key == key) {
            Some(m) => *m = member,
            None => self.members.push(member),
        }
    }

    /// The members, in header order.
    pub fn members(&self) -> &[BaggageMember] {
        &self.members
    }

    /// Whether there is nothing to propagate.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The header value to send, limited like a received one; `None` when empty.
    pub fn header_value(&self) -> Option<String> {
        let mut out = String::new();
        for (n, m) in self.members.iter().enumerate() {
            let enc = m.encoded();
            let extra = enc.len() + usize::from(n > 0);
            if n == MAX_MEMBERS || out.len() + extra > MAX_BYTES {
                break;
            }
            if n > 0 {
                out.push(',');
            }
            out.push_str(&enc);
        }
        (!out.is_empty()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> Result<ParsedBaggage> {
        Baggage::parse([h])
    }

    #[test]
    fn parses_members_with_whitespace_and_properties() {
        let p = parse("order.id = ORD-1 , user.id=abc;prop1;p2=v2").unwrap();
        assert_eq!(p.baggage.get("order.id"), Some("ORD-1"));
        assert_eq!(p.baggage.get("user.id"), Some("abc"));
        assert_eq!(p.baggage.members()[1].properties, ["prop1", "p2=v2"]);
        assert_eq!(p.dropped_members, 0);
    }

    #[test]
    fn decodes_and_encodes_percent_escapes() {
        let p = parse("note=hello%20world%2C%3B").unwrap();
        assert_eq!(p.baggage.get("note"), Some("hello world,;"));
        assert_eq!(
            p.baggage.header_value().unwrap(),
            "note=hello%20world%2C%3B"
        );
    }

    #[test]
    fn round_trips_unicode_values() {
        let mut b = Baggage::default();
        b.set("order.id", "ORD-ü");
        let back = parse(&b.header_value().unwrap()).unwrap();
        assert_eq!(back.baggage.get("order.id"), Some("ORD-ü"));
    }

    #[test]
    fn rejects_member_without_equals() {
        assert!(
            parse("order.id")
                .unwrap_err()
                .to_string()
                .contains("has no '='")
        );
    }

    #[test]
    fn rejects_invalid_key() {
        assert!(parse("ord er=1").is_err());
        assert!(parse("=1").is_err());
        assert!(parse("k(=1").is_err());
    }

    #[test]
    fn rejects_unencoded_value_bytes() {
        assert!(parse("k=a\"b").unwrap_err().to_string().contains("0x22"));
        assert!(parse("k=a\\b").is_err());
        assert!(parse("k=a b").is_err());
    }

    #[test]
    fn rejects_bad_percent_escape() {
        assert!(
            parse("k=%zz")
                .unwrap_err()
                .to_string()
                .contains("percent escape")
        );
        assert!(parse("k=%4").is_err());
        assert!(
            parse("k=%ff")
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn rejects_empty_member() {
        assert!(parse("a=1,,b=2").is_err());
    }

    #[test]
    fn keeps_180_members_and_drops_the_rest_whole() {
        let h: Vec<String> = (0..200).map(|i| format!("k{i}=v")).collect();
        let p = parse(&h.join(",")).unwrap();
        assert_eq!(p.baggage.members().len(), MAX_MEMBERS);
        assert_eq!(p.dropped_members, 20);
        assert_eq!(p.baggage.members()[179].key, "k179");
    }

    #[test]
    fn over_8192_bytes_drops_trailing_members_whole() {
        // 9 members of 1002 bytes: the 9th would pass 8192 bytes.
        let h: Vec<String> = (0..9)
            .map(|i| format!("k{i}={}", "v".repeat(999)))
            .collect();
        let p = parse(&h.join(",")).unwrap();
        assert_eq!(p.baggage.members().len(), 8);
        assert_eq!(p.dropped_members, 1);
        assert!(p.baggage.header_value().unwrap().len() <= MAX_BYTES);
    }

    #[test]
    fn set_replaces_existing_member() {
        let mut b = parse("order.id=A;p").unwrap().baggage;
        b.set("order.id", "B");
        assert_eq!(b.header_value().unwrap(), "order.id=B");
    }

    #[test]
    fn empty_header_is_empty_baggage() {
        assert!(parse("  ").unwrap().baggage.is_empty());
    }
}
