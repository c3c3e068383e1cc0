//! `wait`/`notify` across instances: futex-style waits keyed by where an
//! `i32` lives physically (a frame and an offset), so that two instances
//! that map the same shared page at different addresses meet.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// Waiters by physical key.
#[derive(Default)]
pub(crate) struct Futex {
    queues: Mutex<HashMap<u64, Queue>>,
    wakeup: Condvar,
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
    pub(crate) fn wait(
        &self,
        key: u64,
        still_expected: impl FnOnce() -> bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if !still_expected() {
            return WaitOutcome::NotEqual;
        }
        let queue = queues.entry(key).or_default();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push(ticket);
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let queue = queues
                .get_mut(&key)
                .expect("our queue exists while we wait");
            if let Some(i) = queue.woken.iter().position(|&t| t == ticket) {
                queue.woken.swap_remove(i);
                Self::drop_if_empty(&mut queues, key);
                return WaitOutcome::Woken;
            }
            let left = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => {
                        queue.waiting.retain(|&t| t != ticket);
                        Self::drop_if_empty(&mut queues, key);
                        return WaitOutcome::TimedOut;
                    }
                },
            };
            queues = match left {
                None => self
                    .wakeup
                    .wait(queues)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    self.wakeup
                        .wait_timeout(queues, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Wakes up to `count` waiters of `key`, oldest first; returns how many.
    pub(crate) fn notify(&self, key: u64, count: u32) -> u32 {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = queues.get_mut(&key) else {
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

    fn drop_if_empty(queues: &mut HashMap<u64, Queue>, key: u64) {
        if queues
            .get(&key)
            .is_some_and(|q| q.waiting.is_empty() && q.woken.is_empty())
        {
            queues.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_changed_value_does_not_wait_and_a_timeout_ends_the_wait() {
        let futex = Futex::default();
        assert_eq!(futex.wait(1, || false, None), WaitOutcome::NotEqual);
        let outcome = futex.wait(1, || true, Some(Duration::from_millis(10)));
        assert_eq!(outcome, WaitOutcome::TimedOut);
        assert_eq!(futex.notify(1, 1), 0, "the timed-out waiter is gone");
    }

    #[test]
    fn notify_wakes_at_most_count_waiters_of_that_key() {
        let futex = Arc::new(Futex::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let futex = futex.clone();
                std::thread::spawn(move || futex.wait(7, || true, Some(Duration::from_secs(10))))
            })
            .collect();
        let mut woken = 0;
        let start = Instant::now();
        while woken < 2 && start.elapsed() < Duration::from_secs(10) {
            woken += futex.notify(7, 2 - woken);
            std::thread::yield_now();
        }
        assert_eq!(woken, 2);
        assert_eq!(futex.notify(8, 5), 0, "other keys wake nobody");
        let mut rest = 0;
        while rest == 0 && start.elapsed() < Duration::from_secs(10) {
            rest = futex.notify(7, 5);
        }
        assert_eq!(rest, 1);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), WaitOutcome::Woken);
        }
    }
}
