//! `wait`/`notify` across instances: futex-style waits keyed by where an
//! `i32` lives physically (a frame and an offset), so that two instances
//! that map the same shared page at different addresses meet, and only
//! they: a page that is not shared is keyed by its address space and
//! address, so an instance never meets another through memory they do not
//! share (a zero page has no frame, a copy-on-write page's frame is shared
//! with clones of other tenants).
//!
//! Each tenant may have at most its [`TenantLimits::waiters`] waiting at
//! once, so the queues cannot grow without bound.
//!
//! [`TenantLimits::waiters`]: crate::limits::TenantLimits::waiters

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use waven_mmu::{Errno, SpaceId};
use waven_runtime::InterruptHandle;

/// Where an `i32` lives, as far as `wait` and `notify` are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FutexKey {
    /// In a frame that several spaces may map (a region's): the frame's
    /// key (frame and offset).
    Frame(u64),
    /// In memory only this space reaches: the space and the address.
    Private(SpaceId, u64),
}

/// How often a waiter looks at its store's interrupt handle (deadline or
/// shutdown).
const INTERRUPT_POLL: Duration = Duration::from_millis(20);

/// What `wait` returns (the ABI's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken by `notify`.
    Woken = 0,
    /// The value was not the expected one.
    NotEqual = 1,
    /// The timeout passed.
    TimedOut = 2,
}

/// Waiters by key, and how many each tenant has.
#[derive(Default)]
pub(crate) struct Futex {
    queues: Mutex<Queues>,
    wakeup: Condvar,
}

#[derive(Default)]
struct Queues {
    by_key: HashMap<FutexKey, Queue>,
    /// Waiters per tenant (entries removed at zero).
    per_tenant: HashMap<String, usize>,
}

/// A tenant that waits, and how many waiters it may have.
pub(crate) struct Waiter<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) limit: usize,
}

/// Tickets of the waiters of one key, in arrival order, and the tickets
/// that were woken and have not noticed yet.
#[derive(Default)]
struct Queue {
    waiting: Vec<u64>,
    woken: Vec<u64>,
    next_ticket: u64,
}

impl Futex {
    /// Waits on `key` if `still_expected()` (evaluated under the futex lock,
    /// so that a `notify` after the guest's store cannot be missed).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if `waiter`'s tenant has as many waiters as it may.
    pub(crate) fn wait(
        &self,
        key: FutexKey,
        waiter: &Waiter<'_>,
        still_expected: impl FnOnce() -> bool,
        timeout: Option<Duration>,
        interrupt: &InterruptHandle,
    ) -> Result<WaitOutcome, Errno> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if !still_expected() {
            return Ok(WaitOutcome::NotEqual);
        }
        let waiting = queues.per_tenant.get(waiter.tenant).copied().unwrap_or(0);
        if waiting >= waiter.limit {
            return Err(Errno::ENOMEM);
        }
        queues
            .per_tenant
            .insert(waiter.tenant.to_owned(), waiting + 1);
        let outcome = Self::sleep(&self.wakeup, queues, key, timeout, interrupt);
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.per_tenant.get_mut(waiter.tenant) {
            Some(n) if *n > 1 => *n -= 1,
            _ => {
                queues.per_tenant.remove(waiter.tenant);
            }
        }
        Ok(outcome)
    }

    /// Queues a ticket on `key` and sleeps until it is woken, `timeout`
    /// passes or the store is interrupted (then `TimedOut`: the caller
    /// traps). An interrupt is noticed within [`INTERRUPT_POLL`].
    fn sleep(
        wakeup: &Condvar,
        mut queues: std::sync::MutexGuard<'_, Queues>,
        key: FutexKey,
        timeout: Option<Duration>,
        interrupt: &InterruptHandle,
    ) -> WaitOutcome {
        let queue = queues.by_key.entry(key).or_default();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push(ticket);
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let Some(queue) = queues.by_key.get_mut(&key) else {
                // Unreachable: our ticket keeps the queue; treat as woken.
                return WaitOutcome::Woken;
            };
            if let Some(i) = queue.woken.iter().position(|&t| t == ticket) {
                queue.woken.swap_remove(i);
                Self::drop_if_empty(&mut queues, key);
                return WaitOutcome::Woken;
            }
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) || interrupt.is_interrupted() {
                queue.waiting.retain(|&t| t != ticket);
                Self::drop_if_empty(&mut queues, key);
                return WaitOutcome::TimedOut;
            }
            let slice = left.map_or(INTERRUPT_POLL, |left| left.min(INTERRUPT_POLL));
            queues = wakeup
                .wait_timeout(queues, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Wakes up to `count` waiters of `key`, oldest first; returns how many.
    pub(crate) fn notify(&self, key: FutexKey, count: u32) -> u32 {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = queues.by_key.get_mut(&key) else {
            return 0;
        };
        let n = (count as usize).min(queue.waiting.len());
        let woken: Vec<u64> = queue.waiting.drain(..n).collect();
        queue.woken.extend(woken);
        drop(queues);
        if n > 0 {
            self.wakeup.notify_all();
        }
        n as u32
    }

    fn drop_if_empty(queues: &mut Queues, key: FutexKey) {
        if queues
            .by_key
            .get(&key)
            .is_some_and(|q| q.waiting.is_empty() && q.woken.is_empty())
        {
            queues.by_key.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const ANY: Waiter<'static> = Waiter {
        tenant: "t",
        limit: 8,
    };

    static NEVER: std::sync::LazyLock<InterruptHandle> =
        std::sync::LazyLock::new(InterruptHandle::new);

    fn key(n: u64) -> FutexKey {
        FutexKey::Frame(n)
    }

    #[test]
    fn a_changed_value_does_not_wait_and_a_timeout_ends_the_wait() {
        let futex = Futex::default();
        assert_eq!(
            futex.wait(key(1), &ANY, || false, None, &NEVER),
            Ok(WaitOutcome::NotEqual)
        );
        let outcome = futex.wait(
            key(1),
            &ANY,
            || true,
            Some(Duration::from_millis(10)),
            &NEVER,
        );
        assert_eq!(outcome, Ok(WaitOutcome::TimedOut));
        assert_eq!(futex.notify(key(1), 1), 0, "the timed-out waiter is gone");
        let none = Waiter {
            tenant: "t",
            limit: 0,
        };
        assert_eq!(
            futex.wait(key(1), &none, || true, None, &NEVER),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn an_interrupt_ends_an_endless_wait() {
        let futex = Arc::new(Futex::default());
        let interrupt = InterruptHandle::new();
        let waiter = {
            let (futex, interrupt) = (futex.clone(), interrupt.clone());
            std::thread::spawn(move || futex.wait(key(3), &ANY, || true, None, &interrupt))
        };
        std::thread::sleep(Duration::from_millis(30));
        interrupt.interrupt();
        assert_eq!(waiter.join().unwrap(), Ok(WaitOutcome::TimedOut));
        assert_eq!(futex.notify(key(3), 1), 0, "the interrupted waiter is gone");
    }

    #[test]
    fn notify_wakes_at_most_count_waiters_of_that_key() {
        let futex = Arc::new(Futex::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let futex = futex.clone();
                std::thread::spawn(move || {
                    let never = InterruptHandle::new();
                    futex.wait(key(7), &ANY, || true, Some(Duration::from_secs(10)), &never)
                })
            })
            .collect();
        let mut woken = 0;
        let start = Instant::now();
        while woken < 2 && start.elapsed() < Duration::from_secs(10) {
            woken += futex.notify(key(7), 2 - woken);
            std::thread::yield_now();
        }
        assert_eq!(woken, 2);
        assert_eq!(futex.notify(key(8), 5), 0, "other keys wake nobody");
        let mut rest = 0;
        while rest == 0 && start.elapsed() < Duration::from_secs(10) {
            rest = futex.notify(key(7), 5);
        }
        assert_eq!(rest, 1);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Ok(WaitOutcome::Woken));
        }
    }
}
