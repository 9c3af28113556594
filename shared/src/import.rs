//! An import from WHMCS, staged, previewed and applied (`domain::import` decides what each
//! record becomes; this module reads and writes).
//!
//! - **Staged**: each uploaded answer's records are items of the import (a record uploaded
//!   again under the same WHMCS id replaces the one before); each upload raises the import's
//!   files' version, so that a preview of an older version is not used.
//! - **Previewed**: the clients' lines, a page at a time, then the services' (which need the
//!   clients'), each page's lines kept as one chunk in the transaction that moves the preview
//!   on. A preview is done once per version of the files, then read as often as asked.
//! - **Applied**: the preview's lines walked in order, each record written in its own
//!   transaction with its link (`domain::import::Link`), the walk's place kept after each
//!   page. A record is worked out again from what it is then (a service changed here since
//!   the preview is said why, never overwritten blindly); one written by this import already
//!   (a page done again after a crash) is found by its link and not written twice.
//!
//! Nothing here calls a panel, charges, queues an operation or mails: the only event is each
//! service's `service.imported`, from its history entry.

use crate::budget::Budget;
use crate::domain::account::{Account, LedgerKind};
use crate::domain::import::{
    self, client_line, service_line, ApplyProgress, Context, Import, ImportFile, ImportStatus, Line, Link,
    Mapping, PreviewPhase, PreviewProgress, Record, Summary, Verdict, Writer,
};
use crate::domain::principal::Actor;
use crate::domain::whmcs::{self, Answer};
use crate::domain::{Tariff, TariffId};
use crate::error::ApiError;
use crate::store::imports::Staged;
use crate::store::{PageRequest, StoreError};
use crate::App;
use std::collections::HashMap;

/// Client records read per page of the preview (a client has at most two: its list entry and
/// its details).
const CLIENT_PAGE: u16 = 500;
/// Service records read per page of the preview.
const SERVICE_PAGE: u16 = 200;
/// Lines applied per step of the apply.
const APPLY_STEP: usize = 50;
/// The most one staged record may weigh (as JSON): 90 of them stay within a transaction's 4 MB.
const MAX_RECORD_BYTES: usize = 32 * 1024;

/// A new import of `source` with `mapping`, checked against the catalog.
pub async fn create(app: &App, source: &str, mapping: Mapping, by: &str) -> Result<Import, ApiError> {
    if source != import::SOURCE {
        return Err(ApiError::Unprocessable(format!("source must be `{}`", import::SOURCE)));
    }
    mapping.check().map_err(ApiError::Unprocessable)?;
    let tariffs = all_tariffs(app).await?;
    if let Some((pid, missing)) = mapping.products.iter().find(|(_, t)| !tariffs.contains_key(*t)) {
        return Err(ApiError::Unprocessable(format!(
            "products: pid {pid} maps to `{missing}`, which is no tariff"
        )));
    }
    let import = Import {
        id: crate::domain::ids::next_id(),
        source: source.to_owned(),
        mapping,
        status: ImportStatus::Staged,
        created_at: app.clock.now(),
        created_by: by.to_owned(),
        files_version: 0,
        preview: None,
        apply: None,
        version: 1,
    };
    app.store.put_import(&import).await?;
    Ok(import)
}

pub async fn get(app: &App, id: &str) -> Result<Import, ApiError> {
    let id = crate::domain::ids::parse_id(id).ok_or_else(|| ApiError::not_found("import"))?;
    app.store.get_import(&id).await?.ok_or_else(|| ApiError::not_found("import"))
}

/// Stages the answer `body` as the file `name` of the import: 413 past `MAX_FILE_BYTES`, 422
/// when it is no WHMCS answer, 409 once the import is being applied.
pub async fn upload(app: &App, import: &Import, name: &str, body: &[u8]) -> Result<ImportFile, ApiError> {
    if !import::is_file_name(name) {
        return Err(ApiError::BadRequest(
            "a file's name is 1 to 100 letters, digits, `.`, `_` or `-`".into(),
        ));
    }
    if body.len() > import::MAX_FILE_BYTES {
        return Err(ApiError::TooLarge(format!("a file is at most {} bytes", import::MAX_FILE_BYTES)));
    }
    if import.status != ImportStatus::Staged {
        return Err(applied());
    }
    let answer = whmcs::read_answer(body).map_err(|why| ApiError::Unprocessable(format!("{name}: {why}")))?;
    let records: Vec<Staged> = match &answer {
        Answer::Clients(clients) => clients.iter().cloned().map(Staged::Client).collect(),
        Answer::ClientDetails(client) => vec![Staged::Client(client.clone())],
        Answer::Products(products) => {
            products.iter().cloned().map(|p| Staged::Product(Box::new(p))).collect()
        }
    };
    if let Some(whmcs_id) = records.iter().find(|r| r.weight() > MAX_RECORD_BYTES).map(Staged::whmcs_id) {
        return Err(ApiError::Unprocessable(format!(
            "{name}: record {whmcs_id} weighs more than {MAX_RECORD_BYTES} bytes"
        )));
    }
    // Raised before the records are written and again after: a preview read in between is of
    // a version that is then not the files'.
    touch(app, &import.id).await?;
    match app.store.stage_records(&import.id, &records).await {
        Err(StoreError::ConditionFailed) => return Err(applied()),
        other => other?,
    }
    let file = ImportFile {
        name: name.to_owned(),
        kind: answer.kind().to_owned(),
        records: answer.records() as u64,
        bytes: body.len() as u64,
        sha256: crate::domain::ids::sha256_hex(body),
        uploaded_at: app.clock.now(),
    };
    app.store.put_import_file(&import.id, &file).await?;
    touch(app, &import.id).await?;
    Ok(file)
}

async fn touch(app: &App, id: &str) -> Result<(), ApiError> {
    match app.store.touch_import_files(id).await {
        Err(StoreError::ConditionFailed) => Err(applied()),
        other => Ok(other?),
    }
}

fn applied() -> ApiError {
    ApiError::Conflict("the import is applied: a newer export is a new import".into())
}

/// Every tariff, by id.
async fn all_tariffs(app: &App) -> Result<HashMap<TariffId, Tariff>, ApiError> {
    let mut tariffs = HashMap::new();
    let mut after = None;
    loop {
        let page = app.store.list_tariffs(None, PageRequest { limit: 100, after }).await?;
        tariffs.extend(page.items.into_iter().map(|t| (t.id.clone(), t)));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(tariffs),
        }
    }
}

/// Moves the import on (`advance_import`): another invocation having done so is a 409.
async fn advance(app: &App, import: &mut Import, lines: Option<(u32, Vec<String>)>) -> Result<(), ApiError> {
    match app.store.advance_import(import, lines).await {
        Err(StoreError::ConditionFailed) => {
            return Err(ApiError::Conflict(format!("import {} is being carried on elsewhere", import.id)))
        }
        other => other?,
    }
    import.version += 1;
    Ok(())
}

/// Carries the preview of the import's files as they are on, until it is done or `budget` is
/// spent: the import as it then stands.
pub async fn carry_on_preview(app: &App, id: &str, budget: Budget) -> Result<Import, ApiError> {
    match preview_steps(app, id, budget).await {
        // Carried on elsewhere meanwhile (the job, another reader): it goes on there; this
        // answers the import as it stands.
        Err(ApiError::Conflict(_)) => get(app, id).await,
        other => other,
    }
}

async fn preview_steps(app: &App, id: &str, budget: Budget) -> Result<Import, ApiError> {
    let mut import = get(app, id).await?;
    let mut cache: Option<(HashMap<TariffId, Tariff>, HashMap<u64, Line>)> = None;
    while !import.previewed() && import.status == ImportStatus::Staged && !budget.spent() {
        let stale = import.preview.as_ref().is_none_or(|p| p.of_files != import.files_version);
        if stale {
            import.preview = Some(PreviewProgress::start(import.files_version));
            advance(app, &mut import, None).await?;
            continue;
        }
        let progress = import.preview.clone().expect("checked above");
        match progress.phase {
            PreviewPhase::Clients => preview_clients(app, &mut import, progress).await?,
            PreviewPhase::Services => {
                if cache.is_none() {
                    let clients = app
                        .store
                        .preview_lines(&import.id, progress.of_files, 0..progress.client_chunks)
                        .await?;
                    let by_id = clients.into_iter().map(|l| (l.whmcs_id, l)).collect();
                    cache = Some((all_tariffs(app).await?, by_id));
                }
                let (tariffs, clients) = cache.as_ref().expect("read above");
                preview_services(app, &mut import, progress, tariffs, clients).await?;
            }
            PreviewPhase::Done => break,
        }
    }
    Ok(import)
}

async fn preview_clients(app: &App, import: &mut Import, at: PreviewProgress) -> Result<(), ApiError> {
    let (staged, more) = app.store.staged_page(&import.id, 'C', at.after, CLIENT_PAGE).await?;
    let mut by_id: Vec<(u64, Vec<whmcs::Client>)> = Vec::new();
    for record in staged {
        let Staged::Client(client) = record else { continue };
        match by_id.last_mut() {
            Some((id, answers)) if *id == client.id => answers.push(client),
            _ => by_id.push((client.id, vec![client])),
        }
    }
    // A client's answers may straddle the page's end: its last client is read with the next.
    if more && by_id.len() > 1 {
        by_id.pop();
    }
    let ids: Vec<u64> = by_id.iter().map(|(id, _)| *id).collect();
    let links = app.store.import_links('C', &ids).await?;
    let lines: Vec<Line> =
        by_id.iter().map(|(id, answers)| client_line(*id, answers, &import.mapping, links.get(id))).collect();
    page_done(app, import, at, lines, more).await
}

async fn preview_services(
    app: &App,
    import: &mut Import,
    at: PreviewProgress,
    tariffs: &HashMap<TariffId, Tariff>,
    clients: &HashMap<u64, Line>,
) -> Result<(), ApiError> {
    let (staged, more) = app.store.staged_page(&import.id, 'S', at.after, SERVICE_PAGE).await?;
    let products: Vec<whmcs::Product> = staged
        .into_iter()
        .filter_map(|s| match s {
            Staged::Product(p) => Some(*p),
            Staged::Client(_) => None,
        })
        .collect();
    let ids: Vec<u64> = products.iter().map(|p| p.id).collect();
    let links = app.store.import_links('S', &ids).await?;
    let context = Context { mapping: &import.mapping, tariffs, clients, now: app.clock.now() };
    let lines: Vec<Line> = products.iter().map(|p| service_line(p, &context, links.get(&p.id))).collect();
    page_done(app, import, at, lines, more).await
}

/// A page's lines (one a record, in WHMCS id order) kept as the next chunk, with the preview
/// moved on past them, or to the next phase after the phase's last page (no `more`).
async fn page_done(
    app: &App,
    import: &mut Import,
    mut at: PreviewProgress,
    lines: Vec<Line>,
    more: bool,
) -> Result<(), ApiError> {
    let phase = at.phase;
    at.after = lines.last().map(|l| l.whmcs_id).or(at.after);
    if !more {
        at.phase = if phase == PreviewPhase::Clients { PreviewPhase::Services } else { PreviewPhase::Done };
        at.after = None;
    }
    let chunk = if lines.is_empty() {
        None
    } else {
        let n = at.chunks;
        at.chunks += 1;
        if phase == PreviewPhase::Clients {
            at.client_chunks += 1;
        }
        at.lines += lines.len() as u64;
        let encoded =
            lines.iter().map(|l| serde_json::to_string(l).map_err(|e| ApiError::Internal(e.to_string())));
        Some((n, encoded.collect::<Result<Vec<_>, _>>()?))
    };
    import.preview = Some(at);
    advance(app, import, chunk).await
}

/// A page of a done preview: its lines from `from` (their index), at most `limit` of those of
/// `action` when named, where the next page starts, and the summary of all its lines.
pub async fn preview_page(
    app: &App,
    import: &Import,
    from: usize,
    limit: usize,
    action: Option<Verdict>,
) -> Result<(Vec<Line>, Option<usize>, Summary), ApiError> {
    let progress = import
        .preview
        .as_ref()
        .filter(|_| import.previewed())
        .ok_or_else(|| ApiError::Conflict("the preview is not done yet".into()))?;
    let lines = app.store.preview_lines(&import.id, progress.of_files, 0..progress.chunks).await?;
    let mut summary = Summary::default();
    lines.iter().for_each(|l| summary.add(l));
    let mut page = Vec::new();
    let mut next = None;
    for (i, line) in lines.iter().enumerate().skip(from) {
        if action.is_some_and(|a| a != line.action) {
            continue;
        }
        if page.len() == limit {
            next = Some(i);
            break;
        }
        page.push(line.clone());
    }
    Ok((page, next, summary))
}

/// Starts the apply of a previewed import (refused while the preview has errors, unless
/// `skip_errors`), or finds it started: then carries it on within `budget`.
pub async fn apply(
    app: &App,
    id: &str,
    skip_errors: bool,
    by: &str,
    budget: Budget,
) -> Result<Import, ApiError> {
    let mut import = get(app, id).await?;
    if import.status == ImportStatus::Staged {
        // Only a preview done for the files as they are, which the provider could read: an
        // apply never works one out itself.
        if !import.previewed() {
            return Err(ApiError::Conflict(
                "the files changed since the preview: read it again, then apply".into(),
            ));
        }
        let (_, _, summary) = preview_page(app, &import, 0, 0, None).await?;
        if summary.errors() > 0 && !skip_errors {
            return Err(ApiError::Conflict(format!(
                "the preview has {} records in error: correct them, or apply with skip_errors",
                summary.errors()
            )));
        }
        let read = import.version;
        import.status = ImportStatus::Applying;
        import.apply = Some(ApplyProgress {
            skip_errors,
            started_by: by.to_owned(),
            started_at: app.clock.now(),
            finished_at: None,
            chunk: 0,
            offset: 0,
            done: Default::default(),
            failed: 0,
            failures: Vec::new(),
        });
        match advance(app, &mut import, None).await {
            // Started meanwhile by another call (or the files changed): as it now stands.
            Err(ApiError::Conflict(_)) => {
                import = get(app, id).await?;
                if import.status == ImportStatus::Staged || import.version == read {
                    return Err(ApiError::Conflict(
                        "the import changed meanwhile: read its preview again".into(),
                    ));
                }
            }
            other => other?,
        }
    }
    carry_on_apply(app, import, budget).await
}

/// Carries the apply on until it is done or `budget` is spent; carried on elsewhere meanwhile,
/// the import as it stands.
async fn carry_on_apply(app: &App, import: Import, budget: Budget) -> Result<Import, ApiError> {
    let id = import.id.clone();
    match apply_steps(app, import, budget).await {
        Err(ApiError::Conflict(_)) => get(app, &id).await,
        other => other,
    }
}

async fn apply_steps(app: &App, mut import: Import, budget: Budget) -> Result<Import, ApiError> {
    let Some(preview) = import.preview.clone() else { return Ok(import) };
    let actor = Actor {
        id: import.apply.as_ref().map(|a| a.started_by.clone()).unwrap_or_default(),
        role: crate::domain::Role::Provider,
    };
    let mut cache: Option<(HashMap<TariffId, Tariff>, HashMap<u64, Line>)> = None;
    while import.status == ImportStatus::Applying && !budget.spent() {
        let mut at = import.apply.clone().expect("an import being applied has its progress");
        if at.chunk >= preview.chunks {
            at.finished_at = Some(app.clock.now());
            import.apply = Some(at);
            import.status = ImportStatus::Done;
            advance(app, &mut import, None).await?;
            break;
        }
        if cache.is_none() {
            let clients =
                app.store.preview_lines(&import.id, preview.of_files, 0..preview.client_chunks).await?;
            cache = Some((all_tariffs(app).await?, clients.into_iter().map(|l| (l.whmcs_id, l)).collect()));
        }
        let (tariffs, clients) = cache.as_ref().expect("read above");
        let chunk = app.store.preview_lines(&import.id, preview.of_files, at.chunk..at.chunk + 1).await?;
        let start = at.offset as usize;
        let step: Vec<Line> = chunk.iter().skip(start).take(APPLY_STEP).cloned().collect();
        let writer = Writer { actor: &actor, import_id: &import.id, now: app.clock.now() };
        apply_lines(app, &import.mapping, &step, (tariffs, clients), &writer, &mut at).await?;
        if start + step.len() >= chunk.len() {
            at.chunk += 1;
            at.offset = 0;
        } else {
            at.offset += step.len() as u32;
        }
        import.apply = Some(at);
        advance(app, &mut import, None).await?;
    }
    Ok(import)
}

/// Writes the lines of one step, each record in its own transaction, counting each in `at`.
async fn apply_lines(
    app: &App,
    mapping: &Mapping,
    lines: &[Line],
    (tariffs, clients): (&HashMap<TariffId, Tariff>, &HashMap<u64, Line>),
    writer: &Writer<'_>,
    at: &mut ApplyProgress,
) -> Result<(), ApiError> {
    let services: Vec<u64> =
        lines.iter().filter(|l| l.record == Record::Service && l.writes()).map(|l| l.whmcs_id).collect();
    let products = app.store.staged_products(writer.import_id, &services).await?;
    let links = app.store.import_links('S', &services).await?;
    let existing_ids: Vec<_> = links.values().filter_map(|l| l.service_id.clone()).collect();
    let existing = app.store.services_by_id(&existing_ids).await?;
    // A service is written only for a client brought in as its line says (by this import or an
    // earlier one): one whose own write failed, or that another import brought in under
    // another id meanwhile, keeps its services out.
    let clients_of: Vec<u64> = products.values().map(|p| p.client_id).collect();
    let client_links = app.store.import_links('C', &clients_of).await?;
    let context = Context { mapping, tariffs, clients, now: writer.now };
    for line in lines {
        if !line.writes() {
            at.count(line.action);
            continue;
        }
        let written = match line.record {
            Record::Client => apply_client(app, line, writer).await,
            Record::Service => match products.get(&line.whmcs_id) {
                None => Err("its record is gone".to_owned()),
                Some(product) if !client_in(&client_links, clients, product.client_id) => {
                    Err(format!("its client {} was not brought in as previewed", product.client_id))
                }
                Some(product) => {
                    let link = links.get(&line.whmcs_id);
                    let service = link.and_then(|l| l.service_id.as_ref()).and_then(|id| existing.get(id));
                    apply_service(app, product, &context, (link, service), line.action, writer).await
                }
            },
        };
        match written {
            Ok(verdict) => at.count(verdict),
            Err(why) => at.fail(line.record, line.whmcs_id, &why),
        }
    }
    Ok(())
}

/// Whether the WHMCS client `id` was brought in as its preview line says.
fn client_in(links: &HashMap<u64, Link>, clients: &HashMap<u64, Line>, id: u64) -> bool {
    let planned = clients.get(&id).and_then(|l| l.client_id.as_ref());
    links.get(&id).is_some_and(|link| Some(&link.client_id) == planned)
}

/// A client's account, credited once with its imported balance, and its link; its WHMCS
/// address as its notification address where it has none. An update writes nothing.
async fn apply_client(app: &App, line: &Line, writer: &Writer<'_>) -> Result<Verdict, String> {
    let Some(client_id) = line.client_id.clone() else { return Err("no client id".into()) };
    if line.action == Verdict::Update {
        return Ok(Verdict::Update);
    }
    let balance = line.balance.unwrap_or(0);
    let link = Link {
        client_id: client_id.clone(),
        service_id: None,
        import_id: writer.import_id.to_owned(),
        balance,
    };
    for _ in 0..3 {
        let account = app.store.get_account(&client_id).await.map_err(|e| e.to_string())?;
        let mut account = account.unwrap_or_else(|| Account::open(client_id.clone()));
        let mut entries = Vec::new();
        if balance > 0 {
            entries.push(account.credit(LedgerKind::ImportedBalance, balance, None, writer.now));
            account.version += 1;
        }
        match app.store.import_client(line.whmcs_id, &account, &entries, &link).await {
            Ok(()) => {
                set_address(app, line).await;
                return Ok(Verdict::Create);
            }
            Err(StoreError::ConditionFailed) => {
                let links = app.store.import_links('C', &[line.whmcs_id]).await.map_err(|e| e.to_string())?;
                match links.get(&line.whmcs_id) {
                    // Written by this import already (a step done again), or by another meanwhile.
                    Some(l) if l.import_id == writer.import_id => {
                        set_address(app, line).await;
                        return Ok(Verdict::Create);
                    }
                    Some(_) => {
                        return Err(
                            "imported meanwhile by another import: its balance is not credited again".into()
                        )
                    }
                    // The account changed meanwhile: read again.
                    None => continue,
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("its account kept changing: import it again".into())
}

/// The client's WHMCS e-mail (kept on its line when it is an address) as its notification
/// address, where it has none.
async fn set_address(app: &App, line: &Line) {
    let (Some(client_id), Some(email)) = (&line.client_id, &line.email) else { return };
    match app.store.set_address_if_none(client_id, email).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => tracing::warn!(client = %client_id, error = %e, "an imported client's address was not set"),
    }
}

/// A service made, or brought to its record when an earlier import made it.
async fn apply_service(
    app: &App,
    product: &whmcs::Product,
    context: &Context<'_>,
    (link, existing): (Option<&Link>, Option<&crate::domain::Service>),
    planned: Verdict,
    writer: &Writer<'_>,
) -> Result<Verdict, String> {
    if link.is_some_and(|l| l.import_id == writer.import_id) {
        // Written by this import already: a step done again.
        return Ok(planned);
    }
    let plan = import::plan(product, context, link).map_err(|(_, why)| why)?;
    let (service, entry, verdict) = match (link, existing) {
        (Some(_), Some(existing)) => {
            let (service, entry) = plan.update(existing, writer)?;
            (service, entry, Verdict::Update)
        }
        (Some(_), None) => return Err("imported before, and gone here".into()),
        (None, _) => {
            let (service, entry) =
                plan.create(import::service_id(product.id, &product.regdate, writer.import_id), writer);
            (service, entry, Verdict::Create)
        }
    };
    let link = Link {
        client_id: service.client_id.clone(),
        service_id: Some(service.id.clone()),
        import_id: writer.import_id.to_owned(),
        balance: 0,
    };
    match app.store.import_service(product.id, &service, &entry, &link).await {
        Ok(()) => Ok(verdict),
        Err(StoreError::ConditionFailed) => {
            let links = app.store.import_links('S', &[product.id]).await.map_err(|e| e.to_string())?;
            match links.get(&product.id) {
                Some(l) if l.import_id == writer.import_id => Ok(verdict),
                _ => Err("changed here since it was read: import it again".into()),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// What the scheduled job did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Scheduled {
    pub carried_on: Vec<String>,
    pub done: Vec<String>,
    pub failed: Vec<String>,
}

/// The job: the imports of the last 7 days being applied, or with a preview under way,
/// carried on, oldest first, within `budget`.
pub async fn scheduled(app: &App, budget: Budget) -> Result<Scheduled, ApiError> {
    let mut summary = Scheduled::default();
    let week_ago = app.clock.now().plus_seconds(-7 * 86_400);
    let mut unfinished = Vec::new();
    let mut after = None;
    'pages: loop {
        let (imports, next) = app.store.list_imports(50, after.as_deref()).await?;
        for import in imports {
            if import.created_at < week_ago {
                break 'pages;
            }
            let previewing = import.status == ImportStatus::Staged
                && import.preview.as_ref().is_some_and(|p| p.of_files == import.files_version)
                && !import.previewed();
            if import.status == ImportStatus::Applying || previewing {
                unfinished.push(import);
            }
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    unfinished.reverse();
    for import in unfinished {
        if budget.spent() {
            break;
        }
        summary.carried_on.push(import.id.clone());
        let result = match import.status {
            ImportStatus::Applying => carry_on_apply(app, import.clone(), budget).await,
            _ => carry_on_preview(app, &import.id, budget).await,
        };
        match result {
            Ok(i)
                if i.status == ImportStatus::Done || (i.status == ImportStatus::Staged && i.previewed()) =>
            {
                summary.done.push(i.id)
            }
            Ok(_) | Err(ApiError::Conflict(_)) => {}
            Err(e) => {
                tracing::warn!(import = %import.id, error = %e, "an import could not go on");
                summary.failed.push(import.id);
            }
        }
    }
    Ok(summary)
}
