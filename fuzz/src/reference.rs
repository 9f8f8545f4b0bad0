//! Reference checks written straight from the specifications' ABNF, independently of the
//! core's parsers: the fuzzer compares the two, so a parser that accepts what the grammar
//! refuses (a `%+A` escape, an uppercase hex digit) is caught, not only a parser that panics.

fn ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn hexdiglc(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// W3C Trace Context Level 2 §3.2: whether a `traceparent` value is accepted.
pub fn traceparent_valid(raw: &[u8]) -> bool {
    let v = trim(raw);
    if v.len() < 55 || v.len() > 512 {
        return false;
    }
    let hex_run = |from: usize, n: usize| v[from..from + n].iter().all(|b| hexdiglc(*b));
    let layout = hex_run(0, 2)
        && v[2] == b'-'
        && hex_run(3, 32)
        && v[35] == b'-'
        && hex_run(36, 16)
        && v[52] == b'-'
        && hex_run(53, 2);
    let version_ok = &v[..2] != b"ff" && (v.len() == 55 || (&v[..2] != b"00" && v[55] == b'-'));
    let zero_ids = v[3..35].iter().all(|b| *b == b'0') || v[36..52].iter().all(|b| *b == b'0');
    layout && version_ok && !zero_ids
}

/// W3C Trace Context Level 2 §3.3.2: whether one non-empty tracestate list-member is valid.
pub fn tracestate_member_valid(member: &[u8]) -> bool {
    let Some(eq) = member.iter().position(|b| *b == b'=') else {
        return false;
    };
    let (key, value) = (&member[..eq], &member[eq + 1..]);
    let key_ok = !key.is_empty()
        && key.len() <= 256
        && (key[0].is_ascii_lowercase() || key[0].is_ascii_digit())
        && key
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/@".contains(b));
    let nblk = |b: u8| (0x21..=0x7e).contains(&b) && b != b',' && b != b'=';
    let value_ok = !value.is_empty()
        && value.len() <= 256
        && value.iter().all(|b| *b == b' ' || nblk(*b))
        && nblk(value[value.len() - 1]);
    key_ok && value_ok
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn baggage_octet(b: u8) -> bool {
    b == 0x21
        || (0x23..=0x2b).contains(&b)
        || (0x2d..=0x3a).contains(&b)
        || (0x3c..=0x5b).contains(&b)
        || (0x5d..=0x7e).contains(&b)
}

/// A value of baggage-octets whose every `%` starts an RFC 3986 escape (two hex digits).
fn encoded_value_valid(v: &[u8]) -> bool {
    v.iter().all(|b| baggage_octet(*b))
        && v.iter().enumerate().all(|(i, b)| {
            *b != b'%'
                || (v.len() > i + 2 && v[i + 1].is_ascii_hexdigit() && v[i + 2].is_ascii_hexdigit())
        })
    // A '%' consumed as the digit of an escape is not itself a '%'; '%' is no hex digit,
    // so the check above already refuses "%%41".
}

/// W3C Baggage §3.3: whether one baggage list-member (OWS already removed around it) is valid.
pub fn baggage_member_valid(member: &[u8]) -> bool {
    let mut parts = member.split(|b| *b == b';');
    let Some(kv) = parts.next() else {
        return false;
    };
    let Some(eq) = kv.iter().position(|b| *b == b'=') else {
        return false;
    };
    let key = trim(&kv[..eq]);
    let key_ok = !key.is_empty() && key.iter().all(|b| tchar(*b));
    key_ok
        && encoded_value_valid(trim(&kv[eq + 1..]))
        && parts.all(|p| {
            let p = trim(p);
            match p.iter().position(|b| *b == b'=') {
                None => !p.is_empty() && p.iter().all(|b| tchar(*b)),
                Some(i) => {
                    let (k, v) = (trim(&p[..i]), trim(&p[i + 1..]));
                    !k.is_empty() && k.iter().all(|b| tchar(*b)) && encoded_value_valid(v)
                }
            }
        })
}

/// The list-members of header lines, OWS removed; `None` for an entirely empty line.
pub fn members<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Vec<&'a [u8]> {
    lines
        .filter(|l| !trim(l).is_empty())
        .flat_map(|l| l.split(|b| *b == b','))
        .map(trim)
        .collect()
}
