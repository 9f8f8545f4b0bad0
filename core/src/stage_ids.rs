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
use crate::identity;
use crate::schema::{self, attr};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanId, TraceId};
use std::sync::Arc;

/// A user id in its lowercase form, copied once.
pub(crate) fn lowercase_arc(user_id: &str) -> Arc<str> {
    if user_id.bytes().any(|b| b.is_ascii_uppercase()) {
        Arc::from(user_id.to_ascii_lowercase())
    } else {
        Arc::from(user_id)
    }
}

/// A hash of an id for picking a slot of this thread's id cache: eight bytes at a time, then
/// a full mix (MurmurHash3's finaliser) so that ids differing in their last digit, like
/// sequential order numbers, land in unrelated slots. A collision only costs a cache miss.
pub(crate) fn id_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Ids each thread keeps (order and user ids together): sets of [`KNOWN_WAYS`] entries, so
/// two ids that hash alike (an order and its user, two interleaved orders) both stay.
const KNOWN_SETS: usize = 32;
const KNOWN_WAYS: usize = 4;
const KNOWN_IDS: usize = KNOWN_SETS * KNOWN_WAYS;
/// Longer ids are not kept (a valid order id is at most this long, a user id 36 bytes).
const KNOWN_ID_MAX_LEN: usize = schema::MAX_ORDER_ID_LEN;

/// An id this thread has seen, with what is already known about it: a thread that starts
/// stages for the same few orders and users checks each id and derives an order's trace ids
/// (two SHA-256 runs) once, not once per stage.
struct KnownId {
    text: Arc<str>,
    /// [`id_hash`] of `text`: compared before the bytes, so a way holding another id costs
    /// one comparison.
    hash: u64,
    /// Set once the id passed the order-id rule: the order's derived trace id and root span id.
    order: Option<(TraceId, SpanId)>,
    /// Set once the id passed the user-id rule: its lowercase form.
    user: Option<Arc<str>>,
}

/// This thread's known ids: the set is chosen by [`id_hash`]; a new id takes an empty way of
/// its set, or the next one in turn. Entries never move while kept (a [`SharedId`] names its
/// slot).
struct KnownIds {
    entries: Vec<Option<KnownId>>,
    /// Per set: the way the next new id replaces when the set is full.
    next_victim: Vec<u8>,
    /// The slots of the two ids found or kept last (most recent first): a thread's stages
    /// usually repeat the previous stage's order id and user id, which are then found by one
    /// comparison each, without hashing. A slot emptied or reused is caught by the comparison.
    recent: [u8; 2],
}

impl KnownIds {
    /// The kept id spelled by `bytes` if it is one of the two found or kept last.
    fn recent(&mut self, bytes: &[u8]) -> Option<SharedId> {
        if self.entries.is_empty() {
            return None;
        }
        for slot in self.recent.map(usize::from) {
            if let Some(k) = &self.entries[slot]
                && k.text.as_bytes() == bytes
            {
                let found = SharedId::kept(&k.text, slot);
                self.used(slot);
                return Some(found);
            }
        }
        None
    }

    /// Remembers `slot` as the most recent.
    fn used(&mut self, slot: usize) {
        // Slots are below KNOWN_IDS (128), so they fit a byte.
        let slot = slot as u8;
        if self.recent[0] != slot {
            self.recent = [slot, self.recent[0]];
        }
    }

    /// The kept id spelled by `bytes`, if there is one. Kept ids are text, so bytes found
    /// here need no UTF-8 check.
    fn find(&mut self, bytes: &[u8], hash: u64) -> Option<SharedId> {
        if self.entries.is_empty() {
            self.entries.resize_with(KNOWN_IDS, || None);
            self.next_victim.resize(KNOWN_SETS, 0);
        }
        let set = (hash as usize) % KNOWN_SETS;
        let found =
            (set * KNOWN_WAYS..(set + 1) * KNOWN_WAYS).find_map(|slot| match &self.entries[slot] {
                Some(k) if k.hash == hash && k.text.as_bytes() == bytes => {
                    Some((SharedId::kept(&k.text, slot), slot))
                }
                _ => None,
            });
        found.map(|(id, slot)| {
            self.used(slot);
            id
        })
    }

    /// Keeps `id` (not kept yet, see [`find`](Self::find), which sizes the table) in an empty
    /// way of its set, or the next one in turn.
    fn keep(&mut self, id: &str, hash: u64) -> SharedId {
        let set = (hash as usize) % KNOWN_SETS;
        let ways = set * KNOWN_WAYS..(set + 1) * KNOWN_WAYS;
        let empty = ways.clone().find(|&slot| self.entries[slot].is_none());
        let slot = empty.unwrap_or_else(|| {
            let victim = &mut self.next_victim[set];
            let slot = ways.start + usize::from(*victim);
            *victim = (*victim + 1) % KNOWN_WAYS as u8;
            slot
        });
        let text: Arc<str> = Arc::from(id);
        let shared = SharedId::kept(&text, slot);
        self.used(slot);
        self.entries[slot] = Some(KnownId {
            text,
            hash,
            order: None,
            user: None,
        });
        shared
    }
}

thread_local! {
    // Initialised as a constant: an access is then a plain thread-local read, without the
    // lazy-initialisation check (the vectors grow on first use).
    static KNOWN: std::cell::RefCell<KnownIds> = const {
        std::cell::RefCell::new(KnownIds {
            entries: Vec::new(),
            next_victim: Vec::new(),
            recent: [0, 0],
        })
    };
}

/// An id as a shared string, with the cache slot it was found in.
///
/// A thread that starts stages for the same few orders and users hands each stage the same
/// allocation (a reference count) instead of copying the id, and freeing the copy on the
/// export thread, once per stage.
#[derive(Debug, Clone)]
pub(crate) struct SharedId {
    pub(crate) text: Arc<str>,
    /// The slot of this thread's cache holding `text`, if it is kept there. Checked by pointer
    /// before use: a builder moved to another thread finds a different id there and checks
    /// the id again.
    slot: Option<u8>,
}

impl SharedId {
    /// The id kept in `slot` of this thread's cache.
    fn kept(text: &Arc<str>, slot: usize) -> Self {
        Self {
            text: Arc::clone(text),
            slot: u8::try_from(slot).ok(),
        }
    }
}

/// `id` as a [`SharedId`]: the kept copy if this thread has one, otherwise a new one, kept.
pub(crate) fn shared_id(id: &str) -> SharedId {
    known_or_kept(id.as_bytes(), || Ok::<_, std::convert::Infallible>(id))
        .unwrap_or_else(|never| match never {})
}

/// The [`SharedId`] spelled by `bytes`: the kept copy if this thread has one (no UTF-8 check:
/// kept ids are text), otherwise `text()` (which checks) as a new one, kept.
fn known_or_kept<'b, E>(
    bytes: &'b [u8],
    text: impl FnOnce() -> std::result::Result<&'b str, E>,
) -> std::result::Result<SharedId, E> {
    let copy = |id: &str| SharedId {
        text: Arc::from(id),
        slot: None,
    };
    if bytes.len() > KNOWN_ID_MAX_LEN {
        return text().map(copy);
    }
    let found = KNOWN.try_with(|known| {
        let mut known = known.borrow_mut();
        known.recent(bytes).ok_or_else(|| {
            let hash = id_hash(bytes);
            (known.find(bytes, hash), hash)
        })
    });
    let hash = match found {
        Ok(Ok(id)) | Ok(Err((Some(id), _))) => return Ok(id),
        Ok(Err((None, hash))) => hash,
        Err(_) => id_hash(bytes),
    };
    let id = text()?;
    // An error: the thread is being torn down (its cache is gone): a copy.
    Ok(KNOWN
        .try_with(|known| known.borrow_mut().keep(id, hash))
        .unwrap_or_else(|_| copy(id)))
}

/// Runs `f` on the cache entry of `id` if this thread still keeps it; `None` otherwise.
fn with_known<T>(id: &SharedId, f: impl FnOnce(&mut KnownId) -> T) -> Option<T> {
    let slot = usize::from(id.slot?);
    KNOWN
        .try_with(|known| {
            let mut known = known.borrow_mut();
            match known.entries.get_mut(slot) {
                Some(Some(k)) if Arc::ptr_eq(&k.text, &id.text) => Some(f(k)),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// The order-id rule for `id`, and the order's derived ids: from the cache when this thread
/// has already checked it, otherwise checked, derived and remembered.
fn checked_order_id(id: &SharedId) -> Result<(TraceId, SpanId)> {
    if let Some(Some(ids)) = with_known(id, |k| k.order) {
        return Ok(ids);
    }
    schema::validate_order_id(&id.text)?;
    let ids = (
        identity::order_trace_id(&id.text),
        identity::order_root_span_id(&id.text),
    );
    with_known(id, |k| k.order = Some(ids));
    Ok(ids)
}

/// The user-id rule for `id` (a UUID), and its lowercase form: from the cache when this
/// thread has already checked it. A lowercase id (the usual case) is kept without a copy.
fn checked_user_id(id: SharedId) -> Result<Arc<str>> {
    // `Some(None)`: known and already lowercase, so the id itself is the answer (no copy,
    // no reference count taken and given back).
    match with_known(&id, |k| {
        k.user
            .as_ref()
            .map(|u| (!Arc::ptr_eq(u, &k.text)).then(|| Arc::clone(u)))
    }) {
        Some(Some(Some(lower))) => return Ok(lower),
        Some(Some(None)) => return Ok(id.text),
        _ => {}
    }
    let lower = if schema::check_uuid_case(&id.text)? {
        Arc::from(id.text.to_ascii_lowercase())
    } else {
        Arc::clone(&id.text)
    };
    with_known(&id, |k| k.user = Some(Arc::clone(&lower)));
    Ok(lower)
}

/// An id as a caller gave it to a stage builder: its text, or why it could not be read as text.
/// The error is boxed so the builder, moved by value through each call of its chain, stays small.
pub(crate) type IdInput = std::result::Result<SharedId, Box<OrderTraceError>>;

/// An id handed over as bytes (C ABI, JNI), as text, or the error of an id that is not UTF-8:
/// such an id breaks the rules like any other, so lenient mode still starts the stage.
pub(crate) fn id_text(field: &'static str, bytes: &[u8]) -> IdInput {
    known_or_kept(bytes, || std::str::from_utf8(bytes)).map_err(|e| {
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
    /// The order id and its derived trace id and root span id; `None` when it was rejected.
    pub(crate) order_id: Option<(Arc<str>, TraceId, SpanId)>,
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
        let order_id = order_id
            .map_err(|e| *e)
            .and_then(|o| checked_order_id(&o).map(|(t, s)| (o.text, t, s)));
        let order_id = match order_id {
            Ok(o) => Some(o),
            Err(e) => {
                rejected.push((attr::ORDER_ID, e));
                None
            }
        };
        let user_id = match user_id.map(|u| u.map_err(|e| *e).and_then(checked_user_id)) {
            None => None,
            Some(Ok(u)) => Some(u),
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
    #[inline]
    pub(crate) fn problem_attributes(&self) -> Vec<KeyValue> {
        if self.rejected.is_empty() {
            return Vec::new();
        }
        self.problem_attributes_of_rejected()
    }

    /// The rare half of [`problem_attributes`](Self::problem_attributes), kept out of line.
    #[cold]
    fn problem_attributes_of_rejected(&self) -> Vec<KeyValue> {
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
        let ids = StageIds::check(Ok(shared_id("ORD-1")), Some(Ok(shared_id(UUID))));
        assert_eq!(ids.order_id.as_ref().map(|o| &*o.0), Some("ORD-1"));
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
        let ids: Vec<String> = (0..3 * KNOWN_IDS).map(|i| format!("ORD-{i}")).collect();
        for _ in 0..2 {
            for id in &ids {
                assert_eq!(&*shared_id(id).text, id.as_str());
            }
        }
        let first = shared_id("ORD-A");
        assert!(Arc::ptr_eq(&first.text, &shared_id("ORD-A").text));
        let long = "O".repeat(KNOWN_ID_MAX_LEN + 1);
        assert_eq!(&*shared_id(&long).text, long.as_str());
    }

    #[test]
    fn bytes_of_a_kept_id_are_that_id_and_other_bytes_are_still_checked() {
        let kept = shared_id("ORD-55");
        let again = id_text("order id", b"ORD-55").expect("text");
        assert!(Arc::ptr_eq(&kept.text, &again.text));
        assert_eq!(again.slot, kept.slot);
        // Not kept, not UTF-8: checked and refused, not found.
        assert!(id_text("order id", b"ORD-5\xff").is_err());
        // Longer than any kept id: checked, a copy.
        let long = vec![b'O'; KNOWN_ID_MAX_LEN + 1];
        assert_eq!(id_text("order id", &long).expect("text").slot, None);
    }

    #[test]
    fn sequential_order_ids_spread_over_the_sets_like_random_ones() {
        // 32 ids into 32 sets at random fill about 20; a weak hash of ids that differ only in
        // their last digits fills far fewer.
        let sets: std::collections::HashSet<usize> = (0..KNOWN_SETS)
            .map(|i| (id_hash(format!("ORD-{}", 10_000 + i).as_bytes()) as usize) % KNOWN_SETS)
            .collect();
        assert!(sets.len() >= 16, "{} sets", sets.len());
    }

    #[test]
    fn ids_used_together_stay_known_even_when_they_share_a_set() {
        // A thread serving 16 orders for one user: after the first round every id is found
        // where it was kept, so no order id is checked (and its trace ids derived) twice.
        let ids: Vec<String> = (0..16).map(|i| format!("ORD-1-{i}")).collect();
        let first: Vec<SharedId> = ids.iter().map(|id| shared_id(id)).collect();
        let user = shared_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        for (id, kept) in ids.iter().zip(&first) {
            let again = shared_id(id);
            assert_eq!(again.slot, kept.slot, "{id}");
            assert!(Arc::ptr_eq(&again.text, &kept.text), "{id}");
        }
        assert!(Arc::ptr_eq(
            &user.text,
            &shared_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427").text
        ));
    }

    #[test]
    fn the_last_two_ids_are_found_by_comparison_and_a_reused_slot_is_not_mistaken() {
        let mut known = KnownIds {
            entries: Vec::new(),
            next_victim: Vec::new(),
            recent: [0, 0],
        };
        assert!(known.recent(b"ORD-1").is_none(), "nothing kept yet");
        let hash = id_hash(b"ORD-1");
        assert!(known.find(b"ORD-1", hash).is_none());
        let order = known.keep("ORD-1", hash);
        let user_id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        let user = known.keep(user_id, id_hash(user_id.as_bytes()));
        let again = known.recent(b"ORD-1").expect("second most recent");
        assert!(Arc::ptr_eq(&again.text, &order.text));
        assert_eq!(again.slot, order.slot);
        assert!(known.recent(user_id.as_bytes()).is_some());
        assert!(known.recent(b"ORD-2").is_none());
        assert!(Arc::ptr_eq(
            &user.text,
            &known.recent(user.text.as_bytes()).unwrap().text
        ));
        // Every way of ORD-1's set taken by other ids: its slot now holds another id, and the
        // recent slots say so instead of handing out the old one.
        for i in 0..KNOWN_WAYS {
            known.keep(&format!("X-{i}"), hash);
        }
        assert!(known.recent(b"ORD-1").is_none());
        assert!(known.find(b"ORD-1", hash).is_none());
    }

    #[test]
    fn checked_ids_are_remembered_and_a_rejected_id_is_rejected_every_time() {
        let order = shared_id("ORD-77");
        let first = checked_order_id(&order).expect("valid");
        assert_eq!(
            first,
            (
                identity::order_trace_id("ORD-77"),
                identity::order_root_span_id("ORD-77")
            )
        );
        assert_eq!(with_known(&order, |k| k.order), Some(Some(first)));
        assert_eq!(checked_order_id(&order).expect("valid"), first);
        let bad = shared_id("ORD 77");
        assert!(checked_order_id(&bad).is_err());
        assert!(checked_order_id(&bad).is_err());
        let user = shared_id("1B4E28BA-2FA1-11D2-883F-0016D3CCA427");
        assert_eq!(
            &*checked_user_id(user.clone()).expect("uuid"),
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        );
        assert_eq!(
            &*checked_user_id(user.clone()).expect("uuid"),
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        );
    }

    #[test]
    fn an_id_from_another_threads_cache_is_checked_again_not_trusted() {
        // The slot recorded with the id is only a hint: on another thread the slot holds
        // something else (or nothing), and the id is checked as if new.
        let order = shared_id("ORD-88");
        std::thread::spawn(move || {
            assert_eq!(with_known(&order, |_| ()), None);
            assert!(checked_order_id(&order).is_ok());
            let bad = SharedId {
                text: Arc::from("ORD 88"),
                slot: order.slot,
            };
            assert!(checked_order_id(&bad).is_err());
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn a_lowercase_user_id_is_kept_without_a_copy() {
        let given = shared_id("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        let ids = StageIds::check(Ok(shared_id("ORD-1")), Some(Ok(given.clone())));
        let kept = ids.user_id.expect("accepted");
        assert!(Arc::ptr_eq(&kept, &given.text));
    }

    #[test]
    fn lenient_check_drops_a_non_uuid_user_id_and_names_it() {
        let ids = StageIds::check(Ok(shared_id("ORD-1")), Some(Ok(shared_id("42"))));
        assert_eq!(ids.order_id.as_ref().map(|o| &*o.0), Some("ORD-1"));
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
            Ok(shared_id("ORD-1\r\nX-Evil: 1")),
            Some(Ok(shared_id("x"))),
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
        let e = StageIds::check(Ok(shared_id("")), Some(Ok(shared_id("42"))))
            .into_strict()
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid order id: it is empty");
        let e = StageIds::check(Ok(shared_id("ORD-1")), Some(Ok(shared_id("42"))))
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
        let ids = StageIds::check(Ok(shared_id("ORD-1")), None)
            .into_strict()
            .unwrap();
        assert_eq!(ids.order_id.as_ref().map(|o| &*o.0), Some("ORD-1"));
        assert_eq!(ids.user_id, None);
    }
}
