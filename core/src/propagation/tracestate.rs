//! W3C Trace Context `tracestate`: vendor entries carried beside `traceparent`.
//!
//! Parsing follows section 3.3 of the spec: comma-separated `key=value` members with optional
//! whitespace; empty members are skipped; keys are `[a-z][_0-9a-z-*/]{0,255}` or
//! `tenant@system`; values are 1..=256 printable ASCII characters without `,` or `=` and not
//! ending in a space. A header with a malformed member, a duplicated key or more than 32
//! members is discarded whole. A header longer than 512 characters is trimmed as the spec
//! says: members over 128 characters go first, then members from the end.

use crate::error::{OrderTraceError, Result};

/// Header name.
pub const TRACESTATE_HEADER: &str = "tracestate";
/// At most this many list members.
pub const MAX_MEMBERS: usize = 32;
/// Combined header length that must be propagated; longer headers are trimmed to it.
pub const MAX_HEADER_LEN: usize = 512;
/// Members longer than this are the first to go when trimming.
pub const TRIM_FIRST_OVER: usize = 128;

/// An ordered list of tracestate members, leftmost (most recent vendor) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceStateList {
    members: Vec<(String, String)>,
}

/// A parsed tracestate plus how many members trimming removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedTraceState {
    /// The members kept.
    pub list: TraceStateList,
    /// Members removed to fit [`MAX_HEADER_LEN`].
    pub trimmed_members: usize,
}

fn malformed(reason: impl Into<String>) -> OrderTraceError {
    OrderTraceError::header(TRACESTATE_HEADER, reason)
}

fn valid_key_char(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/')
}

fn validate_key(key: &str) -> Result<()> {
    let bytes = key.as_bytes();
    let ok = match key.split_once('@') {
        None => {
            !bytes.is_empty()
                && bytes.len() <= 256
                && bytes[0].is_ascii_lowercase()
                && bytes.iter().all(|b| valid_key_char(*b))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|b| valid_key_char(*b))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s.iter().all(|b| valid_key_char(*b))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "key {key:?} is not a valid tracestate key"
        )))
    }
}

fn validate_value(key: &str, value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    let chars_ok = bytes
        .iter()
        .all(|b| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e));
    if bytes.is_empty() || bytes.len() > 256 || !chars_ok || bytes.last() == Some(&b' ') {
        return Err(malformed(format!(
            "value of {key:?} is not a valid tracestate value"
        )));
    }
    Ok(())
}

impl TraceStateList {
    /// Parses one or more `tracestate` header values (several headers combine as one list).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<ParsedTraceState> {
        let mut members: Vec<(String, String)> = Vec::new();
        for value in values {
            for member in value.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    continue;
                }
                let (key, val) = member
                    .split_once('=')
                    .ok_or_else(|| malformed(format!("member {member:?} has no '='")))?;
                validate_key(key)?;
                validate_value(key, val)?;
                if members.iter().any(|(k, _)| k == key) {
                    return Err(malformed(format!("key {key:?} appears twice")));
                }
                members.push((key.to_string(), val.to_string()));
                if members.len() > MAX_MEMBERS {
                    return Err(malformed(format!("it has more than {MAX_MEMBERS} members")));
                }
            }
        }
        let mut list = TraceStateList { members };
        let trimmed_members = list.trim_to_limit();
        Ok(ParsedTraceState {
            list,
            trimmed_members,
        })
    }

    /// Removes members until the header fits [`MAX_HEADER_LEN`]: long members first, then
    /// from the end. Returns how many were removed.
    fn trim_to_limit(&mut self) -> usize {
        let before = self.members.len();
        while self.header_len() > MAX_HEADER_LEN {
            let long = self
                .members
                .iter()
                .position(|(k, v)| k.len() + 1 + v.len() > TRIM_FIRST_OVER);
            match long {
                Some(i) => {
                    self.members.remove(i);
                }
                None => {
                    self.members.pop();
                }
            }
        }
        before - self.members.len()
    }

    fn header_len(&self) -> usize {
        let content: usize = self
            .members
            .iter()
            .map(|(k, v)| k.len() + 1 + v.len())
            .sum();
        content + self.members.len().saturating_sub(1)
    }

    /// The members, leftmost first.
    pub fn members(&self) -> &[(String, String)] {
        &self.members
    }

    /// Whether there is nothing to propagate.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The header value to send, `None` when empty.
    pub fn header_value(&self) -> Option<String> {
        if self.members.is_empty() {
            return None;
        }
        Some(
            self.members
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> Result<ParsedTraceState> {
        TraceStateList::parse([h])
    }

    #[test]
    fn parses_members_and_skips_empty_ones_and_whitespace() {
        let p = parse("rojo=00f067aa0ba902b7, ,\tcongo=t61rcWkgMzE ,").unwrap();
        assert_eq!(
            p.list.members(),
            [
                ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
                ("congo".to_string(), "t61rcWkgMzE".to_string())
            ]
        );
        assert_eq!(
            p.list.header_value().unwrap(),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
    }

    #[test]
    fn combines_multiple_headers_in_order() {
        let p = TraceStateList::parse(["a=1", "b=2"]).unwrap();
        assert_eq!(p.list.header_value().unwrap(), "a=1,b=2");
    }

    #[test]
    fn accepts_multi_tenant_keys() {
        assert!(parse("fw529a3039@dt=abc").is_ok());
        assert!(parse("1tenant@sys=x").is_ok());
    }

    #[test]
    fn rejects_bad_keys() {
        for h in ["Rojo=1", "1abc=1", "a b=1", "t@Sys=1", "t@=1", "@s=1", "=1"] {
            assert!(parse(h).is_err(), "{h:?} accepted");
        }
    }

    #[test]
    fn rejects_bad_values() {
        for h in ["a=", "a=b=c", "a=\u{7f}", "a=é", "a=x\u{1}"] {
            assert!(parse(h).is_err(), "{h:?} accepted");
        }
        assert!(parse(&format!("a={}", "v".repeat(257))).is_err());
        assert!(parse("a=with space").is_ok());
    }

    #[test]
    fn rejects_member_without_equals() {
        assert!(parse("a").unwrap_err().to_string().contains("has no '='"));
    }

    #[test]
    fn rejects_duplicate_keys() {
        assert!(
            parse("a=1,a=2")
                .unwrap_err()
                .to_string()
                .contains("appears twice")
        );
    }

    #[test]
    fn accepts_32_members() {
        let h: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse(&h.join(",")).unwrap().list.members().len(), 32);
    }

    #[test]
    fn rejects_more_than_32_members() {
        let h: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(
            parse(&h.join(","))
                .unwrap_err()
                .to_string()
                .contains("more than 32")
        );
    }

    #[test]
    fn over_long_header_loses_long_members_first() {
        let long = format!("big={}", "x".repeat(200));
        let mut members = vec![format!("a={}", "y".repeat(100)), long];
        members.extend((0..3).map(|i| format!("k{i}={}", "z".repeat(100))));
        let p = parse(&members.join(",")).unwrap();
        assert_eq!(p.trimmed_members, 1);
        assert!(p.list.members().iter().all(|(k, _)| k != "big"));
        assert!(p.list.header_len() <= MAX_HEADER_LEN);
    }

    #[test]
    fn over_long_header_then_loses_members_from_the_end() {
        let members: Vec<String> = (0..6)
            .map(|i| format!("k{i}={}", "z".repeat(100)))
            .collect();
        let p = parse(&members.join(",")).unwrap();
        let keys: Vec<&str> = p.list.members().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["k0", "k1", "k2", "k3"]);
        assert_eq!(p.trimmed_members, 2);
        assert!(p.list.header_len() <= MAX_HEADER_LEN);
    }

    #[test]
    fn empty_header_gives_empty_list() {
        let p = parse("").unwrap();
        assert!(p.list.is_empty());
        assert_eq!(p.list.header_value(), None);
    }
}
