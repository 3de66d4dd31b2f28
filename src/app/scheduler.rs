//! The scheduler: the one owner of timed work (routing left undone, chasers, digests, the
//! machine-mail list, and deleting machine mail past its retention period). It reads the facts
//! and plans through [`Workflow::tick`] at the clock's `now`, applies each unit in its own
//! transaction, wakes the outbox and sleeps until the next thing is due. Without a workflow it
//! only deletes old machine mail.

use crate::app::ingest::SharedContext;
use crate::app::workflow::{Workflow, machine_mail_purge};
use crate::config::MachineMailSettings;
use crate::core::plan::tick::MAX_SLEEP;
use crate::io::clock::Clock;
use crate::io::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// The one owner of timed work: routing left undone, chasers, digests, the machine-mail list
/// (with a workflow), deleting machine mail past `machine.keep_days` (always). Plans with the
/// pure planners at the clock's `now`, applies each unit in its own transaction, wakes the
/// outbox, sleeps until the next thing is due (at most 15 minutes) or shutdown.
pub async fn scheduler(
    wf: Option<Arc<Workflow>>,
    machine: MachineMailSettings,
    store: Store,
    ctx: SharedContext,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        let now = clock.now();
        purge(&store, &machine, now).await;
        let context = Arc::clone(&ctx.read().unwrap_or_else(|e| e.into_inner()));
        let ticked = match &wf {
            Some(wf) => wf.tick(&store, &context, now),
            None => Ok((
                Vec::new(),
                now + chrono::Duration::seconds(MAX_SLEEP.as_secs() as i64),
            )),
        };
        let pause = match ticked {
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

/// Deletes machine mail past its retention period, logged with how many and which ids (no sender
/// or subject). A failure is logged and tried again at the next run.
async fn purge(store: &Store, machine: &MachineMailSettings, now: chrono::DateTime<chrono::Utc>) {
    let change = match machine_mail_purge(store, machine, now) {
        Ok(Some(change)) => change,
        Ok(None) => return,
        Err(e) => {
            error!(error = %e, "scheduler: cannot read the machine mail kept");
            return;
        }
    };
    let ids = &change.machine_mail_purged;
    let (count, first, last) = (ids.len(), ids.first().copied(), ids.last().copied());
    match store.apply_async(change).await {
        Ok(_) => info!(
            count,
            first = first.map(|i| i.to_string()),
            last = last.map(|i| i.to_string()),
            keep_days = machine.keep_days,
            "machine mail past its retention period deleted"
        ),
        Err(e) => {
            error!(error = %e, "scheduler: old machine mail could not be deleted; retried next time")
        }
    }
}
