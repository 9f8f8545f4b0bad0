//! The order id and user id of a stage start: the one place that decides what a rule broken by
//! an id does to the business call.
//!
//! The rules themselves are [`schema::validate_order_id`] and the user-id UUID check. What a
//! broken rule does depends on [`PipelineConfig::strict_ids`](crate::PipelineConfig):
//!
//! - **lenient** (the default): the stage starts whatever the ids are, so the business code
//!   around it runs. A rejected id is left off the span and out of the outgoing baggage; the
//!   span carries [`attr::PROBLEM`] (the error message) and [`attr::ID_REJECTED`] (which ids),
//!   and [`PipelineCounters::ids_rejected`](crate::PipelineCounters) counts each rejected id.
//!   A rejected *order id* cannot name a trace (its derived trace id would put every stage with
//!   an empty or garbled id into one trace), so that stage continues the incoming context if one
//!   arrived, and otherwise starts in a new trace with a random id; it has no `order.id`, no
//!   start record and no heartbeats (there is no order to follow).
//! - **strict**: the start fails with the first rule broken (order id first, then user id); the
//!   rejected ids are still counted.

use crate::error::{OrderTraceError, Result, quoted};
use crate::schema::{self, attr};
use opentelemetry::KeyValue;
use std::sync::Arc;

/// A user id in its lowercase form, copied once.
pub(crate) fn lowercase_arc(user_id: &str) -> Arc<str> {
    if user_id.bytes().any(|b| b.is_ascii_uppercase()) {
        Arc::from(user_id.to_ascii_lowercase())
    } else {
        Arc::from(user_id)
    }
}

/// A hash of an id for picking a slot of a small per-thread cache (FNV-1a: cheap for short ids;
/// a collision only costs a cache miss).
pub(crate) fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Ids each thread keeps to share with its next stages (order and user ids together).
const SHARED_IDS: usize = 64;
/// Longer ids are copied every time (a valid order id is at most this long).
const SHARED_ID_MAX_LEN: usize = schema::MAX_ORDER_ID_LEN;

/// An id as a shared string: a thread that starts stages for the same few orders and users
/// hands each stage the same allocation (a reference count), instead of copying the id, and
/// freeing the copy on the export thread, once per stage. Direct-mapped by [`id_hash`],
/// [`SHARED_IDS`] entries per thread.
pub(crate) fn shared_id(id: &str) -> Arc<str> {
    thread_local! {
        static IDS: std::cell::RefCell<Vec<Option<Arc<str>>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    if id.len() > SHARED_ID_MAX_LEN {
        return Arc::from(id);
    }
    IDS.try_with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.is_empty() {
            ids.resize(SHARED_IDS, None);
        }
        let slot = &mut ids[(id_hash(id) as usize) % SHARED_IDS];
        match slot {
            Some(kept) if **kept == *id => Arc::clone(kept),
            _ => Arc::clone(slot.insert(Arc::from(id))),
        }
    })
    // The thread is being torn down (its cache is gone): a copy.
    .unwrap_or_else(|_| Arc::from(id))
}

/// An id as a caller gave it to a stage builder: its text, or why it could not be read as text.
/// The error is boxed so the builder, moved by value through each call of its chain, stays small.
pub(crate) type IdInput = std::result::Result<Arc<str>, Box<OrderTraceError>>;

/// An id handed over as bytes (C ABI, JNI), as text, or the error of an id that is not UTF-8:
/// such an id breaks the rules like any other, so lenient mode still starts the stage.
pub(crate) fn id_text(field: &'static str, bytes: &[u8]) -> IdInput {
    std::str::from_utf8(bytes).map(shared_id).map_err(|e| {
        Box::new(OrderTraceError::invalid(
            field,
            format!(
                "{} is not UTF-8 (invalid byte at offset {})",
                quoted(bytes),
                e.valid_up_to()
            ),
        ))
    })
}

/// The ids a stage starts with, after the rules.
#[derive(Debug)]
pub(crate) struct StageIds {
    /// The order id; `None` when it was rejected.
    pub(crate) order_id: Option<Arc<str>>,
    /// The user id in lowercase; `None` when none was given or it was rejected.
    pub(crate) user_id: Option<Arc<str>>,
    /// The errors of the rejected ids, order id first.
    pub(crate) rejected: Vec<(&'static str, OrderTraceError)>,
}

impl StageIds {
    /// Applies the rules to the ids a caller gave (an `Err` is an id that could not even be
    /// read as text, see [`id_text`]); what is rejected is kept with its error.
    pub(crate) fn check(order_id: IdInput, user_id: Option<IdInput>) -> Self {
        let mut rejected = Vec::new();
        let order_id = order_id.map_err(|e| *e);
        let order_id = match order_id.and_then(|o| schema::validate_order_id(&o).map(|()| o)) {
            Ok(o) => Some(o),
            Err(e) => {
                rejected.push((attr::ORDER_ID, e));
                None
            }
        };
        // A lowercase id (the usual case) is kept as given, without a copy.
        let checked = user_id.map(|u| {
            u.map_err(|e| *e)
                .and_then(|u| schema::check_uuid_case(&u).map(|up| (u, up)))
        });
        let user_id = match checked {
            None => None,
            Some(Ok((u, false))) => Some(u),
            Some(Ok((u, true))) => Some(Arc::from(u.to_ascii_lowercase())),
            Some(Err(e)) => {
                rejected.push((attr::USER_ID, e));
                None
            }
        };
        Self {
            order_id,
            user_id,
            rejected,
        }
    }

    /// Strict mode: the first rule broken (order id first) as the start's error.
    pub(crate) fn into_strict(mut self) -> Result<Self> {
        if self.rejected.is_empty() {
            return Ok(self);
        }
        Err(self.rejected.swap_remove(0).1)
    }

    /// How many ids were rejected.
    pub(crate) fn rejected_count(&self) -> usize {
        self.rejected.len()
    }

    /// The span attributes naming the problem, empty when every id was accepted.
    pub(crate) fn problem_attributes(&self) -> Vec<KeyValue> {
        if self.rejected.is_empty() {
            return Vec::new();
        }
        let keys: Vec<&str> = self.rejected.iter().map(|(k, _)| *k).collect();
        let messages: Vec<String> = self.rejected.iter().map(|(_, e)| e.to_string()).collect();
        vec![
            KeyValue::new(attr::PROBLEM, messages.join("; ")),
            KeyValue::new(attr::ID_REJECTED, keys.join(",")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427";

    #[test]
    fn good_ids_pass_unchanged_and_the_user_id_is_lowercased() {
        let ids = StageIds::check(Ok(Arc::from("ORD-1")), Some(Ok(Arc::from(UUID))));
        assert_eq!(ids.order_id.as_deref(), Some("ORD-1"));
        assert_eq!(
            ids.user_id.as_deref(),
            Some("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
        );
        assert_eq!(ids.rejected_count(), 0);
        assert!(ids.problem_attributes().is_empty());
    }

    #[test]
    fn shared_ids_are_the_same_text_whatever_the_cache_holds() {
        // More ids than slots, twice round, plus one too long to keep: every answer is the
        // asked id, and a repeated id still in the cache is the same allocation.
        let ids: Vec<String> = (0..3 * SHARED_IDS).map(|i| format!("ORD-{i}")).collect();
        for _ in 0..2 {
            for id in &ids {
                assert_eq!(&*shared_id(id), id.as_str());
            }
        }
        let first = shared_id("ORD-A");
        assert!(Arc::ptr_eq(&first, &shared_id("ORD-A")));
        let long = "O".repeat(SHARED_ID_MAX_LEN + 1);
        assert_eq!(&*shared_id(&long), long.as_str());
    }

    #[test]
    fn a_lowercase_user_id_is_kept_without_a_copy() {
        let given: Arc<str> = Arc::from("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        let ids = StageIds::check(Ok(Arc::from("ORD-1")), Some(Ok(Arc::clone(&given))));
        let kept = ids.user_id.expect("accepted");
        assert!(Arc::ptr_eq(&kept, &given));
    }

    #[test]
    fn lenient_check_drops_a_non_uuid_user_id_and_names_it() {
        let ids = StageIds::check(Ok(Arc::from("ORD-1")), Some(Ok(Arc::from("42"))));
        assert_eq!(ids.order_id.as_deref(), Some("ORD-1"));
        assert_eq!(ids.user_id, None);
        let attrs = ids.problem_attributes();
        assert_eq!(attrs[0].key.as_str(), attr::PROBLEM);
        assert_eq!(
            attrs[0].value.as_str(),
            "invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)"
        );
        assert_eq!(attrs[1].value.as_str(), "user.id");
    }

    #[test]
    fn lenient_check_drops_a_bad_order_id_and_counts_both_ids() {
        let ids = StageIds::check(
            Ok(Arc::from("ORD-1\r\nX-Evil: 1")),
            Some(Ok(Arc::from("x"))),
        );
        assert_eq!(ids.order_id, None);
        assert_eq!(ids.rejected_count(), 2);
        let attrs = ids.problem_attributes();
        assert!(
            attrs[0].value.as_str().starts_with(
                "invalid order id: \"ORD-1\\r\\nX-Evil: 1\" contains the character '\\r'"
            ),
            "{}",
            attrs[0].value.as_str()
        );
        assert_eq!(attrs[1].value.as_str(), "order.id,user.id");
    }

    #[test]
    fn strict_check_fails_with_the_order_id_error_first() {
        let e = StageIds::check(Ok(Arc::from("")), Some(Ok(Arc::from("42"))))
            .into_strict()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid order id: it is empty");
        let e = StageIds::check(Ok(Arc::from("ORD-1")), Some(Ok(Arc::from("42"))))
            .into_strict()
            .unwrap_err();
        assert!(e.to_string().starts_with("invalid user id: \"42\""), "{e}");
    }

    #[test]
    fn an_id_that_is_not_utf8_is_rejected_with_its_bytes_quoted() {
        let ids = StageIds::check(
            id_text("order id", &[b'O', 0xc3, 0x28]),
            Some(id_text("user id", &[0xff])),
        );
        assert_eq!(ids.order_id, None);
        let attrs = ids.problem_attributes();
        assert_eq!(
            attrs[0].value.as_str(),
            "invalid order id: \"O\\xc3(\" is not UTF-8 (invalid byte at offset 1); \
             invalid user id: \"\\xff\" is not UTF-8 (invalid byte at offset 0)"
        );
        assert_eq!(attrs[1].value.as_str(), "order.id,user.id");
    }

    #[test]
    fn strict_check_passes_good_ids() {
        let ids = StageIds::check(Ok(Arc::from("ORD-1")), None)
            .into_strict()
            .unwrap();
        assert_eq!(ids.order_id.as_deref(), Some("ORD-1"));
        assert_eq!(ids.user_id, None);
    }
}
