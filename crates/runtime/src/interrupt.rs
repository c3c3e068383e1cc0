//! Stopping a store from outside: a wall-clock deadline and an explicit
//! interrupt (shutdown), for running code and blocking host calls alike.
//!
//! ```text
//!  InterruptHandle (Arc, any thread) ── interrupt() ──► flag + condvar
//!        │                                               │
//!        │  engine safepoints (loop headers, calls) ◄────┤ trap "interrupted"
//!        │  blocking host calls: sleep() / check()  ◄────┘ return Interrupted
//!        └─ deadline: blocking calls never sleep past it; a Watchdog
//!           thread sets the flag when it passes, for code that never blocks
//! ```
//!
//! Running code notices the flag at its next safepoint; engines do not read
//! the clock, so a deadline needs a [`Watchdog`] (or any thread calling
//! [`InterruptHandle::interrupt`]) to stop a loop that never blocks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use waven_mmu::Doorbell;

/// Why a store stopped: the value blocking host calls return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

/// A handle that stops one store (or several that share it).
///
/// Cloning gives another handle to the same flag.
#[derive(Clone, Default)]
pub struct InterruptHandle {
    inner: Arc<State>,
}

/// The bit an interrupt sets on the doorbells of the stores it stops
/// (`waven_mmu::Doorbell`, whose [`Doorbell::SHOOTDOWN`] bit the MMU uses):
/// compiled code polls one byte for both.
pub(crate) const DOORBELL_INTERRUPT: u8 = 2;

#[derive(Default)]
struct State {
    /// Set once; never cleared.
    flag: AtomicBool,
    /// The doorbells of the stores using this handle, rung when the flag
    /// is set.
    doorbells: Mutex<Vec<Weak<Doorbell>>>,
    /// The deadline, if any.
    deadline: Mutex<Option<Instant>>,
    /// Wakes blocked sleepers when the flag is set.
    wakeup: Condvar,
}

impl InterruptHandle {
    /// A handle with no deadline that has not been interrupted.
    pub fn new() -> InterruptHandle {
        InterruptHandle::default()
    }

    /// Stops the store: running code traps with
    /// [`TrapKind::Interrupted`](crate::TrapKind::Interrupted) at its next
    /// safepoint and blocking host calls return. Final: a store once
    /// interrupted stays interrupted.
    pub fn interrupt(&self) {
        let _guard = self.lock_deadline();
        self.raise();
        self.inner.wakeup.notify_all();
    }

    /// Sets the flag, then rings every attached doorbell (in that order:
    /// code that clears a ring and then reads the flag sees it set).
    fn raise(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        let mut doorbells = self.lock_doorbells();
        doorbells.retain(|doorbell| match doorbell.upgrade() {
            Some(doorbell) => {
                doorbell.ring(DOORBELL_INTERRUPT);
                true
            }
            None => false,
        });
    }

    /// Rings `doorbell` whenever this handle interrupts (at once if it
    /// already has).
    pub(crate) fn attach(&self, doorbell: &Arc<Doorbell>) {
        let mut doorbells = self.lock_doorbells();
        doorbells.retain(|d| d.strong_count() > 0);
        doorbells.push(Arc::downgrade(doorbell));
        drop(doorbells);
        if self.inner.flag.load(Ordering::SeqCst) {
            doorbell.ring(DOORBELL_INTERRUPT);
        }
    }

    fn lock_doorbells(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Doorbell>>> {
        self.inner
            .doorbells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the store was interrupted or its deadline has passed.
    pub fn is_interrupted(&self) -> bool {
        if self.inner.flag.load(Ordering::Relaxed) {
            return true;
        }
        match *self.lock_deadline() {
            Some(at) if Instant::now() >= at => {
                self.raise();
                true
            }
            _ => false,
        }
    }

    /// The flag alone, without reading the clock: what engines test at
    /// their safepoints.
    #[inline]
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.inner.flag
    }

    /// Sets the wall-clock deadline: blocking calls return at it, and a
    /// [`Watchdog`] watching this handle interrupts running code then.
    pub fn set_deadline(&self, at: Instant) {
        *self.lock_deadline() = Some(at);
        self.inner.wakeup.notify_all();
    }

    /// The deadline, if one is set.
    pub fn deadline(&self) -> Option<Instant> {
        *self.lock_deadline()
    }

    /// `Err(Interrupted)` if the store was interrupted or its deadline has
    /// passed: for host calls to test between steps of long work.
    ///
    /// # Errors
    ///
    /// [`Interrupted`] as said.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.is_interrupted() {
            Err(Interrupted)
        } else {
            Ok(())
        }
    }

    /// Blocks for `duration` (`None`: without end), but returns early with
    /// `Err(Interrupted)` when the store is interrupted or its deadline
    /// passes.
    ///
    /// # Errors
    ///
    /// [`Interrupted`] as said.
    pub fn sleep(&self, duration: Option<Duration>) -> Result<(), Interrupted> {
        let until = duration.and_then(|d| Instant::now().checked_add(d));
        let mut deadline = self.lock_deadline();
        loop {
            if self.inner.flag.load(Ordering::SeqCst) {
                return Err(Interrupted);
            }
            let now = Instant::now();
            if deadline.is_some_and(|at| now >= at) {
                self.raise();
                return Err(Interrupted);
            }
            if until.is_some_and(|at| now >= at) {
                return Ok(());
            }
            // `duration: None` sleeps until the deadline or an interrupt.
            let wake = [until, *deadline].into_iter().flatten().min();
            deadline = match wake {
                None => self
                    .inner
                    .wakeup
                    .wait(deadline)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    self.inner
                        .wakeup
                        .wait_timeout(deadline, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// The time left until the deadline (`None`: no deadline), zero once
    /// it has passed. Blocking calls that wait on something of their own
    /// wait at most this long, then [`check`](Self::check).
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    fn lock_deadline(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.inner
            .deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A thread that interrupts handles when their deadlines pass, so that
/// code that never blocks is stopped too.
///
/// Create it before guests start (in the enclave profile no thread is
/// created afterwards); [`Watchdog::watch`] only queues a handle.
pub struct Watchdog {
    shared: Arc<WatchList>,
    thread: Option<thread::JoinHandle<()>>,
}

#[derive(Default)]
struct WatchList {
    state: Mutex<WatchState>,
    wakeup: Condvar,
}

#[derive(Default)]
struct WatchState {
    handles: Vec<InterruptHandle>,
    stop: bool,
}

impl Watchdog {
    /// Starts the watchdog thread, and returns once it runs.
    ///
    /// # Errors
    ///
    /// The OS refused to create the thread.
    pub fn start() -> std::io::Result<Watchdog> {
        let shared = Arc::new(WatchList::default());
        let inner = Arc::clone(&shared);
        let (ready, started) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name("waven-watchdog".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                // The thread is set up (stack, signal stack, thread-local
                // storage) once it runs this: say so, so that a caller that
                // starts guests afterwards sees no memory mapped for it.
                let _ = ready.send(());
                inner.run()
            })?;
        let _ = started.recv();
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    /// Watches `handle`: it is interrupted when its deadline (read now
    /// and at every wake-up) passes. Handles without a deadline are kept
    /// until the watchdog stops.
    pub fn watch(&self, handle: &InterruptHandle) {
        let mut state = self.shared.lock();
        state.handles.push(handle.clone());
        self.shared.wakeup.notify_all();
    }
}

impl WatchList {
    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        let mut state = self.lock();
        while !state.stop {
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            state.handles.retain(|handle| match handle.deadline() {
                _ if handle.inner.flag.load(Ordering::SeqCst) => false,
                Some(at) if at <= now => {
                    handle.interrupt();
                    false
                }
                Some(at) => {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    true
                }
                None => true,
            });
            state = match next {
                None => self
                    .wakeup
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    self.wakeup
                        .wait_timeout(state, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wakeup.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_at_the_deadline() {
        let handle = InterruptHandle::new();
        handle.set_deadline(Instant::now() + Duration::from_millis(30));
        let start = Instant::now();
        assert_eq!(handle.sleep(None), Err(Interrupted));
        assert!(start.elapsed() >= Duration::from_millis(25));
        assert!(handle.is_interrupted());
    }

    #[test]
    fn sleep_without_deadline_returns_after_its_duration() {
        let handle = InterruptHandle::new();
        assert_eq!(handle.sleep(Some(Duration::from_millis(5))), Ok(()));
        assert!(!handle.is_interrupted());
    }

    #[test]
    fn interrupt_wakes_a_sleeper() {
        let handle = InterruptHandle::new();
        let other = handle.clone();
        let sleeper = thread::spawn(move || other.sleep(None));
        thread::sleep(Duration::from_millis(20));
        handle.interrupt();
        assert_eq!(sleeper.join().unwrap(), Err(Interrupted));
    }

    #[test]
    fn watchdog_sets_the_flag_at_the_deadline() {
        let watchdog = Watchdog::start().unwrap();
        let handle = InterruptHandle::new();
        handle.set_deadline(Instant::now() + Duration::from_millis(20));
        watchdog.watch(&handle);
        let start = Instant::now();
        while !handle.flag().load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "watchdog never fired"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
}
