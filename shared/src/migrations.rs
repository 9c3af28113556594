//! Changes to the shape of stored items, each safe to run again: it rewrites only what is still
//! in the old shape, conditionally on the version it read, so a second run changes nothing and
//! a change made meanwhile through a route wins.

use crate::app::App;
use crate::domain::account::{paid_for, LedgerEntry};
use crate::domain::ClientId;
use crate::error::ApiError;
use crate::store::services::ServiceFilter;
use crate::store::PageRequest;
use crate::sweeps::{Budget, Summary};
use std::collections::HashMap;

/// Gives each service stored before the paid time's record was kept its record: what its
/// client's ledger says was paid for it, less what came back, over its paid time
/// (`Service::with_paid_time_recorded`). `found` counts the services read, `acted` those given
/// a record, `left` those with work under way and `failed` those changed meanwhile (the next
/// run looks again at both).
pub async fn record_paid_time(app: &App, budget: Budget) -> Result<Summary, ApiError> {
    let mut summary = Summary::default();
    let mut ledgers: HashMap<ClientId, Vec<LedgerEntry>> = HashMap::new();
    let mut after = None;
    loop {
        if budget.spent() {
            summary.unfinished = true;
            return Ok(summary);
        }
        let page =
            app.store.list_services(&ServiceFilter::default(), PageRequest { limit: 100, after }).await?;
        for service in page.items {
            summary.found += 1;
            if service.with_paid_time_recorded(0, None).is_none() {
                // Work under way on one in the old shape: the next run records it.
                if service.paid_time.is_empty() && service.pending.is_some() {
                    summary.left += 1;
                }
                continue;
            }
            if !ledgers.contains_key(&service.client_id) {
                ledgers.insert(service.client_id.clone(), whole_ledger(app, &service.client_id).await?);
            }
            let (paid, since) = paid_for(&service.id, &ledgers[&service.client_id]);
            let Some(recorded) = service.with_paid_time_recorded(paid, since) else { continue };
            let mut batch = app.store.batch();
            batch.service(&recorded)?;
            match app.store.commit(batch).await {
                Ok(()) => summary.acted += 1,
                Err(e) => {
                    tracing::warn!(service = %service.id, error = %e, "not recorded: tried again next run");
                    summary.failed += 1;
                }
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(summary),
        }
    }
}

/// Every entry of a client's ledger.
async fn whole_ledger(app: &App, client: &ClientId) -> Result<Vec<LedgerEntry>, ApiError> {
    let (mut entries, mut after) = (Vec::new(), None);
    loop {
        let page = app.store.list_ledger(client, PageRequest { limit: 100, after }).await?;
        entries.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(entries),
        }
    }
}
