//! The store's writers' gate: any number of changes commit together, and a backup or a check
//! that must see every tree at one instant holds them all back while it reads.
//!
//! sled 0.34 has no read snapshot across trees (its iterators see commits made during a scan),
//! so a consistent reading needs the writers paused. Every commit passes the gate shared; an
//! export or a verification takes it exclusive. Async writers wait on a [`Notify`] instead of
//! blocking a runtime thread; the exclusive side is a blocking reader on a thread of its own.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use tokio::sync::Notify;

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct Gate {
    lock: RwLock<()>,
    /// Woken when an exclusive holder lets go.
    opened: Notify,
}

/// Holds the writers back until dropped, then wakes the async ones.
pub(super) struct Exclusive<'a> {
    guard: Option<RwLockWriteGuard<'a, ()>>,
    opened: &'a Notify,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.opened.notify_waiters();
    }
}

impl Gate {
    /// A writer's pass, blocking while a reader holds the gate exclusively. (The lock guards no
    /// data, so a panic while it was held poisons nothing worth refusing.)
    pub(super) fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A writer's pass for async code: waits on the gate's notification, not on a thread.
    pub(super) async fn shared_async(&self) -> RwLockReadGuard<'_, ()> {
        loop {
            let opened = self.opened.notified();
            tokio::pin!(opened);
            // Registered before trying, so an exclusive holder letting go in between wakes us.
            opened.as_mut().enable();
            if let Some(pass) = self.try_shared() {
                return pass;
            }
            opened.await;
        }
    }

    /// A writer's pass if no reader holds (or waits for) the gate exclusively.
    fn try_shared(&self) -> Option<RwLockReadGuard<'_, ()>> {
        match self.lock.try_read() {
            Ok(pass) => Some(pass),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Holds every writer back until the returned guard is dropped. Blocking: call it off the
    /// async runtime's threads.
    pub(super) fn exclusive(&self) -> Exclusive<'_> {
        Exclusive {
            guard: Some(self.lock.write().unwrap_or_else(PoisonError::into_inner)),
            opened: &self.opened,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_writers_wait_for_an_exclusive_reader_then_pass() {
        let gate = Arc::new(Gate::default());
        let held = gate.exclusive();
        let waiting = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let _pass = gate.shared_async().await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a writer waits while a backup reads"
        );
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the writer passes once the reader lets go")
            .expect("no panic");
        let (a, b) = (gate.shared(), gate.shared());
        drop((a, b));
        let _pass = gate.shared_async().await;
    }
}
