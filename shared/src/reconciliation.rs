//! Reconciliation: each product type's control panel walked page by page beside the table,
//! and every difference kept as a drift item (`domain::drift`). Nothing here asks a panel to
//! change anything: a product type whose rules say `fix_suspensions` has the job queue the
//! ordinary suspension (`Work::Resync`) for a service billing holds suspended and its panel
//! runs; every other difference waits for a person.
//!
//! Per product type a run goes through three phases, each resumable where it stopped (the
//! run's `at`, written in the same transaction as each page's chunk):
//! 1. **snapshot**: the type's services, a page of the type's index at a time, each kept as
//!    its version and whether the panel should hold it, before the panel is read;
//! 2. **panel**: `GET {panel_url}/services`, a page at a time; each account of ours is
//!    compared with its service read again, and only if that service is still at its
//!    snapshot's version (no operation started or ended while the panel was read) and settled
//!    (no operation under way); the page's ids are kept as seen;
//! 3. **missing**: the services the panel should hold and never listed, again only those still
//!    at their snapshot's version.
//!
//! A difference is kept in one transaction with its service's mark (the attention list and a
//! `drift_found` history entry), conditional on the snapshot's version: a service that changed
//! after the run read it is never reported. The cost is O(services + accounts) of the type.

use crate::budget::Budget;
use crate::domain::catalog::ReconcileMode;
use crate::domain::drift::{
    self, is_settled, DriftItem, DriftKind, PanelAccount, PanelStatus, Phase, Progress, Resolution, Run,
    RunStatus, Snapped,
};
use crate::domain::{ProductType, ProductTypeRules, Service, ServiceId, Timestamp};
use crate::error::ApiError;
use crate::panel::{ProcessingModule, SettingsAnswer, SettingsCall};
use crate::store::reconciliations::{read_seen, read_snapshot, snapshot_line, RunRead};
use crate::store::StoreError;
use crate::App;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// Accounts asked of a panel per call.
pub const PANEL_PAGE: u16 = 100;
/// Services read per page of the snapshot.
const SNAPSHOT_PAGE: u16 = 500;

/// A panel's page of accounts.
#[derive(Debug, Deserialize)]
struct AccountsPage {
    items: Vec<PanelAccount>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// The most a panel's account may weigh (its ids, options and parameters as JSON), and its
/// cursor: what a run keeps of it stays well inside an item.
const MAX_ACCOUNT_BYTES: usize = 8 * 1024;
const MAX_CURSOR_BYTES: usize = 1024;

/// A panel's page as a run can use it: at most the page asked for, each account and the
/// cursor bounded, and a cursor that moves on (a panel answering the same one again would
/// keep a run going for ever).
fn check_page(page: &AccountsPage, cursor: Option<&str>) -> Result<(), String> {
    if page.items.len() > usize::from(PANEL_PAGE) {
        return Err(format!("{} accounts where {PANEL_PAGE} were asked for", page.items.len()));
    }
    if let Some(next) = &page.next_cursor {
        if next.len() > MAX_CURSOR_BYTES || Some(next.as_str()) == cursor {
            return Err("a cursor too long, or the same again".into());
        }
    }
    for account in &page.items {
        let weight = serde_json::to_vec(account).map_or(usize::MAX, |bytes| bytes.len());
        if weight > MAX_ACCOUNT_BYTES {
            return Err(format!("an account of {weight} bytes (at most {MAX_ACCOUNT_BYTES})"));
        }
    }
    Ok(())
}

/// A new run over `product_types` (every type when empty), not yet carried on.
pub async fn start(app: &App, product_types: Vec<ProductType>, started_by: &str) -> Result<Run, ApiError> {
    let product_types = if product_types.is_empty() { ProductType::ALL.to_vec() } else { product_types };
    let run = Run {
        id: crate::domain::ids::next_id(),
        status: RunStatus::Running,
        product_types,
        started_at: app.clock.now(),
        finished_at: None,
        started_by: started_by.to_owned(),
        at: Progress::start(),
        version: 1,
    };
    app.store.put_run(&run).await?;
    Ok(run)
}

/// Carries the run on until it is done or `budget` is spent: its summary as it then stands.
/// Another invocation carrying it on at once makes this one stop (its page's items are kept
/// once: each is written only if new).
pub async fn carry_on(app: &App, id: &str, budget: Budget) -> Result<RunRead, ApiError> {
    carry_on_for(app, id, budget, usize::MAX).await
}

/// `carry_on`, for at most `steps` steps (a page read and written, or a phase or type begun).
pub async fn carry_on_for(app: &App, id: &str, budget: Budget, steps: usize) -> Result<RunRead, ApiError> {
    let mut run = app.store.get_run(id).await?.ok_or_else(|| ApiError::not_found("reconciliation"))?.run;
    let mut snapshot: Option<(ProductType, HashMap<ServiceId, Snapped>)> = None;
    let mut taken = 0;
    while run.status == RunStatus::Running && !budget.spent() && taken < steps {
        taken += 1;
        let Some(&product_type) = run.product_types.get(run.at.type_index) else {
            run.status = RunStatus::Done;
            run.finished_at = Some(app.clock.now());
            advance(app, &mut run).await?;
            break;
        };
        match run.at.phase {
            Phase::Snapshot => snapshot_page(app, &mut run, product_type).await?,
            Phase::Panel | Phase::Missing => {
                let Some(rules) = panel_rules(app, product_type).await? else {
                    // No panel: nothing to compare.
                    run.at = Progress { type_index: run.at.type_index + 1, ..Progress::start() };
                    advance(app, &mut run).await?;
                    continue;
                };
                if snapshot.as_ref().is_none_or(|(t, _)| *t != product_type) {
                    let lines = app.store.chunk_lines(&run.id, "SNAP", product_type).await?;
                    snapshot = Some((product_type, read_snapshot(&lines)?));
                }
                let snapped = &snapshot.as_ref().expect("read above").1;
                if run.at.phase == Phase::Panel {
                    panel_page(app, &mut run, &rules, snapped).await?;
                } else {
                    missing(app, &mut run, product_type, snapped).await?;
                }
            }
        }
    }
    app.store.get_run(id).await?.ok_or_else(|| ApiError::not_found("reconciliation"))
}

/// Writes the run's progress; another invocation having carried it on is a 409.
async fn advance(app: &App, run: &mut Run) -> Result<(), ApiError> {
    advance_with(app, run, None).await
}

/// `advance`, with the page's chunk of lines in the same write.
async fn advance_with(
    app: &App,
    run: &mut Run,
    chunk: Option<(&str, ProductType, u32, Vec<String>)>,
) -> Result<(), ApiError> {
    match app.store.advance_run(run, chunk).await {
        Err(StoreError::ConditionFailed) => {
            return Err(ApiError::Conflict(format!(
                "reconciliation {} is being carried on elsewhere",
                run.id
            )))
        }
        other => other?,
    }
    run.version += 1;
    Ok(())
}

/// The type's rules as they are now, if it has a panel.
async fn panel_rules(app: &App, product_type: ProductType) -> Result<Option<ProductTypeRules>, ApiError> {
    let rules = app.store.product_type_rules(product_type).await?;
    Ok(rules.filter(|r| r.panel_url.is_some()))
}

async fn snapshot_page(app: &App, run: &mut Run, product_type: ProductType) -> Result<(), ApiError> {
    let (services, next) =
        app.store.services_of_type_page(product_type, run.at.cursor.as_deref(), SNAPSHOT_PAGE).await?;
    let lines: Vec<String> = services
        .iter()
        .map(|s| {
            let settled = is_settled(s);
            let held = settled && drift::compare(s, None) == Some(DriftKind::MissingOnPanel);
            snapshot_line(s, Snapped { version: s.version, held, settled })
        })
        .collect();
    page_done(app, run, ("SNAP", product_type), lines, next, Phase::Panel).await
}

/// A page's end: its chunk of lines kept (`part`: `SNAP` or `SEEN`), then the run on to the
/// next page, or to the phase `then` after the last, written.
async fn page_done(
    app: &App,
    run: &mut Run,
    (part, product_type): (&str, ProductType),
    lines: Vec<String>,
    next: Option<String>,
    then: Phase,
) -> Result<(), ApiError> {
    let chunk = (!lines.is_empty()).then_some((part, product_type, run.at.chunks, lines));
    if chunk.is_some() {
        run.at.chunks += 1;
    }
    run.at.cursor = next;
    if run.at.cursor.is_none() {
        run.at = Progress { type_index: run.at.type_index, phase: then, cursor: None, chunks: 0 };
    }
    advance_with(app, run, chunk).await
}

async fn panel_page(
    app: &App,
    run: &mut Run,
    rules: &ProductTypeRules,
    snapshot: &HashMap<ServiceId, Snapped>,
) -> Result<(), ApiError> {
    let (product_type, panel_url) = (rules.product_type, rules.panel_url.as_deref().unwrap_or_default());
    let fix_suspensions = rules.reconcile == ReconcileMode::FixSuspensions;
    let mut call = SettingsCall::get("services".into()).query("limit", PANEL_PAGE);
    if let Some(cursor) = &run.at.cursor {
        call = call.query("cursor", cursor);
    }
    let page: AccountsPage = match app.panel.settings(panel_url, &call).await {
        Ok(SettingsAnswer::Done(body)) => serde_json::from_value(body).map_err(|e| {
            ApiError::BadGateway(format!("the {} panel's accounts: {e}", product_type.as_str()))
        })?,
        Ok(_) => {
            return Err(ApiError::BadGateway(format!(
                "the {} panel lists no accounts",
                product_type.as_str()
            )))
        }
        Err(e) => return Err(ApiError::BadGateway(e.to_string())),
    };
    check_page(&page, run.at.cursor.as_deref()).map_err(|why| {
        ApiError::BadGateway(format!("the {} panel's accounts: {why}", product_type.as_str()))
    })?;
    let ours: Vec<ServiceId> =
        page.items.iter().filter_map(|a| a.service_id.as_deref().and_then(ServiceId::parse)).collect();
    let services = app.store.services_by_id(&ours).await?;
    let now = app.clock.now();
    for account in &page.items {
        let id = account.service_id.as_deref().and_then(ServiceId::parse);
        let service = id.as_ref().and_then(|id| services.get(id));
        match (service, id) {
            // A service of this type the snapshot holds, unchanged since: compared.
            (Some(service), Some(id)) if snapshot.get(&id).is_some_and(|s| s.version == service.version) => {
                if let Some(kind) =
                    is_settled(service).then(|| drift::compare(service, Some(account))).flatten()
                {
                    let fix = fix_suspensions && kind == DriftKind::NotSuspendedOnPanel;
                    keep(app, run, product_type, kind, Some(service), Some(account), now, fix).await?;
                }
            }
            // Ours, but changed since the snapshot or newer than it: the next run looks again.
            (Some(_), _) => {}
            // An account the panel says it holds nothing for: nothing to adopt or remove.
            (None, _) if account.status == PanelStatus::Missing => {}
            // No service of ours (or an id we never gave out).
            (None, _) => {
                keep(app, run, product_type, DriftKind::OrphanOnPanel, None, Some(account), now, false)
                    .await?
            }
        }
    }
    let seen: Vec<String> = ours.iter().map(ToString::to_string).collect();
    page_done(app, run, ("SEEN", product_type), seen, page.next_cursor, Phase::Missing).await
}

async fn missing(
    app: &App,
    run: &mut Run,
    product_type: ProductType,
    snapshot: &HashMap<ServiceId, Snapped>,
) -> Result<(), ApiError> {
    let seen: HashSet<String> = read_seen(app.store.chunk_lines(&run.id, "SEEN", product_type).await?);
    let mut unseen: Vec<ServiceId> = snapshot
        .iter()
        .filter(|(id, s)| s.held && !seen.contains(&id.to_string()))
        .map(|(id, _)| id.clone())
        .collect();
    unseen.sort();
    let services = app.store.services_by_id(&unseen).await?;
    let now = app.clock.now();
    for id in &unseen {
        let Some(service) = services.get(id) else { continue };
        let unchanged = snapshot.get(id).is_some_and(|s| s.version == service.version);
        if unchanged
            && is_settled(service)
            && drift::compare(service, None) == Some(DriftKind::MissingOnPanel)
        {
            keep(app, run, product_type, DriftKind::MissingOnPanel, Some(service), None, now, false).await?;
        }
    }
    run.at = Progress { type_index: run.at.type_index + 1, ..Progress::start() };
    advance(app, run).await
}

/// Keeps one drift item (with its service's mark); one kept before, or a service that changed
/// meanwhile, leaves things as they are. With `fix`, the item is kept resolved by the job
/// itself: the panel is brought back in step through the queue (`Service::drift_fixed`).
#[allow(clippy::too_many_arguments)]
async fn keep(
    app: &App,
    run: &Run,
    product_type: ProductType,
    kind: DriftKind,
    service: Option<&Service>,
    account: Option<&PanelAccount>,
    now: Timestamp,
    fix: bool,
) -> Result<(), ApiError> {
    let account_id = account.and_then(|a| a.account_id.clone());
    // An account of no service of ours is named by a hash of what the panel calls it: its
    // words never make a key.
    let panel_name = account_id.clone().or_else(|| account.and_then(|a| a.service_id.clone()));
    let item = DriftItem {
        id: drift::item_id(service.map(|s| s.id.as_str()), panel_name.as_deref()),
        run_id: run.id.clone(),
        kind,
        product_type,
        service_id: service.map(|s| s.id.clone()),
        account_id,
        billing: service.map(drift::billing_view).unwrap_or(serde_json::Value::Null),
        panel: account
            .map(|a| serde_json::to_value(a).unwrap_or_default())
            .unwrap_or(serde_json::Value::Null),
        found_at: now,
        resolution: None,
    };
    let Some(service) = service else {
        return kept(app.store.keep_drift(&item, None).await);
    };
    if fix {
        let (fixed, found) = service.drift_fixed(&item, now)?;
        let resolution = Resolution {
            action: "apply_billing".into(),
            by: fixed.entry.actor.id.clone(),
            at: now,
            reason: Some("fix_suspensions".into()),
            service_id: None,
        };
        let item = DriftItem { resolution: Some(resolution), ..item };
        let written = app.store.keep_drift(&item, Some((&fixed.service, &[&found, &fixed.entry]))).await;
        if written.is_ok() {
            crate::operations::enqueue(app, &[&fixed]).await?;
        }
        return kept(written);
    }
    let marked = service.mark_drift(kind, &run.id, now);
    kept(app.store.keep_drift(&item, Some((&marked.service, &[&marked.entry]))).await)
}

/// A kept item, or one kept before (or a service that changed meanwhile): either way done.
fn kept(written: Result<(), StoreError>) -> Result<(), ApiError> {
    match written {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Runs started longer ago are left as they stand (their items stay listed); the next day's
/// run covers what they did not reach.
pub const CARRIED_ON_FOR_DAYS: i64 = 7;

/// The runs of the last `CARRIED_ON_FOR_DAYS` that are not done, oldest first (for the
/// scheduled job to carry on).
pub async fn unfinished(app: &App) -> Result<Vec<Run>, ApiError> {
    let since = app.clock.now().plus_seconds(-CARRIED_ON_FOR_DAYS * 86_400);
    let mut unfinished = Vec::new();
    let mut after = None;
    'pages: loop {
        let (runs, next) = app.store.list_runs(50, after.as_deref()).await?;
        for read in runs {
            if read.run.started_at < since {
                break 'pages;
            }
            if read.run.status == RunStatus::Running {
                unfinished.push(read.run);
            }
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    unfinished.reverse();
    Ok(unfinished)
}

/// What a scheduled invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scheduled {
    /// The run it started (the day's first).
    pub started: Option<String>,
    /// The runs it carried on, and those of them now done.
    pub carried_on: Vec<String>,
    pub done: Vec<String>,
    /// The runs that could not go on (a panel down): tried again the next hour.
    pub failed: Vec<String>,
}

/// The scheduled job: the runs not done carried on, oldest first, then the day's run started
/// if none was started today (UTC), all within `budget`.
pub async fn scheduled(app: &App, budget: Budget) -> Result<Scheduled, ApiError> {
    let mut summary = Scheduled::default();
    let mut runs = unfinished(app).await?;
    let today = app.clock.now().day();
    let started_today = scheduled_today(app, &today).await?;
    if !started_today {
        let run = start(app, Vec::new(), "schedule").await?;
        summary.started = Some(run.id.clone());
        runs.push(run);
    }
    for run in runs {
        if budget.spent() {
            break;
        }
        summary.carried_on.push(run.id.clone());
        match carry_on(app, &run.id, budget).await {
            Ok(read) if read.run.status == RunStatus::Done => summary.done.push(run.id),
            Ok(_) => {}
            // Carried on elsewhere at the same time: that invocation goes on with it.
            Err(ApiError::Conflict(_)) => {}
            // A panel that is down holds its run, not the others: the next hour tries again.
            Err(e) => {
                tracing::warn!(run = %run.id, error = %e, "a reconciliation could not go on");
                summary.failed.push(run.id);
            }
        }
    }
    Ok(summary)
}

/// Whether the schedule started a run today (a provider's own runs do not count).
async fn scheduled_today(app: &App, today: &str) -> Result<bool, ApiError> {
    let mut after = None;
    loop {
        let (runs, next) = app.store.list_runs(20, after.as_deref()).await?;
        for read in &runs {
            if read.run.started_at.day().as_str() < today {
                return Ok(false);
            }
            if read.run.started_by == "schedule" {
                return Ok(true);
            }
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(false),
        }
    }
}
