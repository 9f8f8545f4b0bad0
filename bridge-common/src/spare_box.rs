//! One spare allocation per thread for a handle the bridge hands out on every stage.
//!
//! Why: a caller starts, ends and frees one stage at a time, so the stage handle's box is
//! the only block of its size class in flight on that thread. mimalloc then finds its free
//! list empty on every allocation and takes its generic path to collect the one block freed
//! just before (callgrind: about 70 instructions more per stage than its fast path, and
//! which size classes hit it changes with the handle's size). Keeping the freed box for the
//! next start skips the allocator both ways.
//!
//! ```
//! use ordertrace_bridge::SpareBox;
//!
//! thread_local! {
//!     static SPARE: SpareBox<[u64; 4]> = const { SpareBox::new() };
//! }
//! let first = SpareBox::boxed(&SPARE, [1; 4]);
//! let address = &*first as *const [u64; 4];
//! SpareBox::recycle(&SPARE, first);
//! let second = SpareBox::boxed(&SPARE, [2; 4]);
//! assert_eq!(&*second as *const [u64; 4], address, "the same allocation again");
//! assert_eq!(*second, [2; 4]);
//! ```

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::thread::LocalKey;

/// A thread's spare allocation for one `T` (declare it in a `thread_local!`).
pub struct SpareBox<T>(Cell<Option<Box<MaybeUninit<T>>>>);

impl<T> SpareBox<T> {
    /// An empty spare, for a `thread_local!` initialiser.
    pub const fn new() -> Self {
        Self(Cell::new(None))
    }

    /// Boxes `value`, in this thread's spare allocation if it has one.
    pub fn boxed(spare: &'static LocalKey<Self>, value: T) -> Box<T> {
        match spare.try_with(|s| s.0.take()).ok().flatten() {
            Some(empty) => {
                let raw = Box::into_raw(empty).cast::<T>();
                // SAFETY: the allocation is a `Box<MaybeUninit<T>>`'s, sized and aligned for
                // a `T`; after the write it holds an initialised `T`, so it is a `Box<T>`'s.
                unsafe {
                    raw.write(value);
                    Box::from_raw(raw)
                }
            }
            None => Box::new(value),
        }
    }

    /// Drops the boxed value and keeps its allocation as this thread's spare; freed instead
    /// when the thread has one already or is exiting.
    pub fn recycle(spare: &'static LocalKey<Self>, boxed: Box<T>) {
        let raw = Box::into_raw(boxed);
        // SAFETY: `raw` came from a `Box<T>`: the value is dropped once, here, and the
        // allocation goes on as the `Box<MaybeUninit<T>>` of the same layout. If the drop
        // panics the allocation leaks, as a panicking `Box` drop would leak it too.
        let empty = unsafe {
            std::ptr::drop_in_place(raw);
            Box::from_raw(raw.cast::<MaybeUninit<T>>())
        };
        // A thread past its destructors cannot keep it: the closure and the box are dropped.
        let _ = spare.try_with(move |s| {
            if let Some(extra) = s.0.replace(Some(empty)) {
                drop(extra);
            }
        });
    }
}

impl<T> Default for SpareBox<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    thread_local! {
        static SPARE: SpareBox<Rc<()>> = const { SpareBox::new() };
    }

    #[test]
    fn a_recycled_value_is_dropped_and_its_allocation_reused() {
        let counted = Rc::new(());
        let first = SpareBox::boxed(&SPARE, Rc::clone(&counted));
        let address = &*first as *const Rc<()>;
        assert_eq!(Rc::strong_count(&counted), 2);
        SpareBox::recycle(&SPARE, first);
        assert_eq!(Rc::strong_count(&counted), 1, "the value was dropped");
        let second = SpareBox::boxed(&SPARE, Rc::clone(&counted));
        assert_eq!(&*second as *const Rc<()>, address);
        assert_eq!(Rc::strong_count(&counted), 2);
        drop(second);
        assert_eq!(Rc::strong_count(&counted), 1);
    }

    #[test]
    fn without_a_spare_a_new_allocation_is_made() {
        let a = SpareBox::boxed(&SPARE, Rc::new(()));
        let b = SpareBox::boxed(&SPARE, Rc::new(()));
        assert_ne!(&*a as *const Rc<()>, &*b as *const Rc<()>);
        // Two recycled: one is kept, the other freed (no leak, no double free; run under
        // Miri or a sanitizer to see it).
        SpareBox::recycle(&SPARE, a);
        SpareBox::recycle(&SPARE, b);
        let c = SpareBox::boxed(&SPARE, Rc::new(()));
        let d = SpareBox::boxed(&SPARE, Rc::new(()));
        assert_ne!(&*c as *const Rc<()>, &*d as *const Rc<()>);
    }

    thread_local! {
        static SPARE_U64: SpareBox<u64> = const { SpareBox::new() };
    }

    #[test]
    fn a_box_freed_on_another_thread_becomes_that_threads_spare() {
        let made_here = SpareBox::boxed(&SPARE_U64, 7u64);
        let address = &*made_here as *const u64 as usize;
        let reused_there = std::thread::spawn(move || {
            SpareBox::recycle(&SPARE_U64, made_here);
            let next = SpareBox::boxed(&SPARE_U64, 8u64);
            (&*next as *const u64 as usize, *next)
        })
        .join()
        .expect("thread");
        assert_eq!(reused_there, (address, 8));
    }
}
