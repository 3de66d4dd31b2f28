//! The scheduler: the one owner of timed work (routing left undone, chasers, digests). It reads
//! the facts and plans through [`Workflow::tick`] at the clock's `now`, applies each unit in its
//! own transaction, wakes the outbox and sleeps until the next thing is due.

use crate::app::ingest::SharedContext;
use crate::app::workflow::Workflow;
use crate::core::plan::tick::MAX_SLEEP;
use crate::io::clock::Clock;
use crate::io::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// The one owner of timed work: routing left undone, chasers, digests. Plans with the pure
/// planners at the clock's `now`, applies each unit in its own transaction, wakes the outbox,
/// sleeps until the next thing is due (at most 15 minutes) or shutdown.
pub async fn scheduler(
    wf: Arc<Workflow>,
    store: Store,
    ctx: SharedContext,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        let now = clock.now();
        let context = Arc::clone(&ctx.read().unwrap_or_else(|e| e.into_inner()));
        let pause = match wf.tick(&store, &context, now) {
            Ok((changes, next)) => {
                let mut mails = false;
                for change in changes {
                    mails |= !change.outbox_new.is_empty();
                    if let Err(e) = store.apply_async(change).await {
                        error!(error = %e, "scheduler: a change could not be recorded; retried next time");
                    }
                }
                if mails {
                    wake.notify_one();
                }
                (next - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP)
            }
            Err(e) => {
                error!(error = %e, "scheduler: cannot read the store");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    info!("scheduler stopped");
}
