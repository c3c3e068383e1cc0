//! Making revocation final: when an operation that takes rights away
//! returns, no access of another thread can still complete with the old
//! rights, not even one whose translation began before the call.
//!
//! Clearing a table entry stops accesses that *start* afterwards; an access
//! that already read the old entry (and was then descheduled, say) would
//! still land in the frame. So the mutator waits for a *shootdown*: every
//! thread holding a pin on the space passes a safepoint, where by
//! construction it has no access in flight.
//!
//! ```text
//!  mutator (revoke, unmap, protect, ...)        accessor thread (a Pinned)
//!  ─────────────────────────────────────        ─────────────────────────────
//!  lock state; change entries; unlock            ... load entry; access frame
//!  for each other accessor a:                    safepoint():
//!      t = ++a.requested          (SeqCst)  ──►    r = a.requested  (Acquire)
//!  wait until a.acked >= t                         if r != acked:
//!      or a.retired               (Acquire) ◄──       a.acked = r   (Release)
//!  return                                        ... later loads see new entries
//! ```
//!
//! Why it is final: an accessor's accesses before its safepoint (or before
//! it unpinned) happen-before its `acked` (or `retired`) store, which the
//! mutator reads before it returns; its accesses after the safepoint follow
//! its read of `requested`, which was incremented after the entries
//! changed, so they see the new entries. A pin registered after the mutator
//! took its snapshot of the accessors registered under the same lock,
//! after the entries changed, so it sees them too.
//!
//! The mutator's own thread is skipped: it is not inside an access while
//! it runs the operation (engines unpin around host calls, and a host that
//! holds a pin on the same thread is not accessing either).
//!
//! A pin may carry a [`Doorbell`]: a byte that the mutator rings (after
//! incrementing `requested`) so that code which polls one byte at its
//! safepoints, instead of comparing the handshake words of every pin, knows
//! when to acknowledge. The thread that polls clears the bit *before* it
//! acknowledges; a ring it cleared was made after its request, so the
//! acknowledgement that follows sees that request (the clearing RMW reads
//! the ring, which the request happens-before), and a ring it did not see
//! stays set for its next safepoint. No request is lost either way.
//!
//! How long the wait lasts: an engine reaches a safepoint at every function
//! entry and loop header, so within a bounded stretch of straight-line code
//! or one slow-path access (which holds the space's state lock, and so
//! already serializes with the mutator). An OS that withholds CPU from an
//! accessor thread can delay the mutator for as long as it does so; it
//! cannot make the mutator return early.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// One pin's handshake words.
pub(crate) struct Accessor {
    /// Shootdowns asked of this accessor (incremented by mutators).
    requested: AtomicU64,
    /// The last request acknowledged at a safepoint (written by the
    /// accessor's thread only).
    acked: AtomicU64,
    /// Set when the pin is dropped: nothing of it is in flight any more.
    retired: AtomicBool,
    /// The thread that holds the pin.
    thread: ThreadId,
    /// Rung after each request, if the pin has one.
    doorbell: Option<Arc<Doorbell>>,
}

/// A byte that a thread running guest code polls at its safepoints: any
/// bit set means "leave the fast path and look". The MMU sets
/// [`Doorbell::SHOOTDOWN`] when it asks a pin carrying the doorbell for a
/// shootdown; the other bits belong to the embedder (waven's runtime rings
/// its interrupts on the same byte, so one load tests both).
#[derive(Debug, Default)]
pub struct Doorbell {
    bits: AtomicU8,
}

impl Doorbell {
    /// The bit of a requested shootdown: clear it with [`Doorbell::take`],
    /// then call [`crate::Pinned::safepoint`] on every pin carrying this
    /// doorbell.
    pub const SHOOTDOWN: u8 = 1;

    /// A doorbell with no bit set.
    pub fn new() -> Doorbell {
        Doorbell::default()
    }

    /// Sets `bits`.
    pub fn ring(&self, bits: u8) {
        self.bits.fetch_or(bits, Ordering::SeqCst);
    }

    /// Clears `bits`; whether any of them was set.
    pub fn take(&self, bits: u8) -> bool {
        self.bits.fetch_and(!bits, Ordering::SeqCst) & bits != 0
    }

    /// The bits set now.
    pub fn bits(&self) -> u8 {
        self.bits.load(Ordering::SeqCst)
    }

    /// The byte's address, for compiled code that polls it with a plain
    /// byte load.
    pub fn as_ptr(&self) -> *const u8 {
        self.bits.as_ptr().cast_const()
    }
}

impl Accessor {
    /// Acknowledges every request made so far: called between accesses.
    #[inline(always)]
    pub(crate) fn safepoint(&self) {
        let requested = self.requested.load(Ordering::Acquire);
        if requested != self.acked.load(Ordering::Relaxed) {
            self.acked.store(requested, Ordering::Release);
        }
    }

    fn is_past(&self, ticket: u64) -> bool {
        self.retired.load(Ordering::Acquire) || self.acked.load(Ordering::Acquire) >= ticket
    }
}

/// The accessors of one address space.
#[derive(Default)]
pub(crate) struct Accessors {
    list: Mutex<Vec<Arc<Accessor>>>,
}

impl Accessors {
    /// Registers an accessor on the current thread, rung through
    /// `doorbell` if there is one.
    pub(crate) fn register(&self, doorbell: Option<Arc<Doorbell>>) -> Arc<Accessor> {
        let accessor = Arc::new(Accessor {
            requested: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            retired: AtomicBool::new(false),
            thread: thread::current().id(),
            doorbell,
        });
        self.lock().push(Arc::clone(&accessor));
        accessor
    }

    /// Unregisters an accessor whose accesses have all ended.
    pub(crate) fn retire(&self, accessor: &Arc<Accessor>) {
        accessor.retired.store(true, Ordering::Release);
        let mut list = self.lock();
        if let Some(i) = list.iter().position(|a| Arc::ptr_eq(a, accessor)) {
            list.swap_remove(i);
        }
    }

    /// Waits until every accessor of other threads has passed a safepoint
    /// or retired. Call after the entries changed, holding no lock that an
    /// accessor may need to reach its safepoint (in particular not the
    /// space's state lock).
    pub(crate) fn shootdown(&self) {
        let me = thread::current().id();
        let waits: Vec<(Arc<Accessor>, u64)> = self
            .lock()
            .iter()
            .filter(|a| a.thread != me)
            .map(|a| {
                let ticket = a.requested.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(doorbell) = &a.doorbell {
                    doorbell.ring(Doorbell::SHOOTDOWN);
                }
                (Arc::clone(a), ticket)
            })
            .collect();
        for (accessor, ticket) in waits {
            wait_until(|| accessor.is_past(ticket));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Accessor>>> {
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Spins briefly (a safepoint is usually a few instructions away), then
/// yields, then sleeps in growing steps up to a millisecond, so that a
/// descheduled accessor costs the waiter little CPU.
fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..256 {
        if done() {
            return;
        }
        std::hint::spin_loop();
    }
    for _ in 0..64 {
        if done() {
            return;
        }
        thread::yield_now();
    }
    let mut pause = Duration::from_micros(20);
    while !done() {
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shootdown_waits_for_a_safepoint_of_another_thread() {
        let accessors = Arc::new(Accessors::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let accessors = Arc::clone(&accessors);
            thread::spawn(move || {
                let me = accessors.register(None);
                tx.send(()).unwrap();
                // Not at a safepoint for a while.
                thread::sleep(Duration::from_millis(50));
                me.safepoint();
                thread::sleep(Duration::from_millis(50));
                accessors.retire(&me);
            })
        };
        rx.recv().unwrap();
        let start = std::time::Instant::now();
        accessors.shootdown();
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(30),
            "returned after {waited:?}"
        );
        worker.join().unwrap();
    }

    #[test]
    fn a_shootdown_rings_the_doorbell_of_a_pin_that_has_one() {
        let accessors = Arc::new(Accessors::default());
        let doorbell = Arc::new(Doorbell::new());
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let accessors = Arc::clone(&accessors);
            let doorbell = Arc::clone(&doorbell);
            thread::spawn(move || {
                let me = accessors.register(Some(Arc::clone(&doorbell)));
                tx.send(()).unwrap();
                // Polls the byte only, as compiled code does.
                while doorbell.bits() == 0 {
                    std::hint::spin_loop();
                }
                assert!(doorbell.take(Doorbell::SHOOTDOWN));
                me.safepoint();
                accessors.retire(&me);
            })
        };
        rx.recv().unwrap();
        accessors.shootdown();
        worker.join().unwrap();
        assert_eq!(doorbell.bits(), 0);
    }

    #[test]
    fn the_own_thread_and_retired_accessors_are_not_waited_for() {
        let accessors = Accessors::default();
        let mine = accessors.register(None);
        accessors.shootdown();
        accessors.retire(&mine);
        accessors.shootdown();
        assert!(accessors.lock().is_empty());
    }
}
