//! Wire forms that differ from the stored form, and from one reader to another: a client never
//! reads where the control panels are, nor their errors' own text (`domain::failure`).

use crate::domain::catalog::RulesByType;
use crate::domain::{HistoryEntry, Principal, ProductTypeRules, Service, ServiceId};
use serde_json::{json, Value};

/// A service as the API shows it to `reader`: the stored service plus its `display_status` and
/// `flags`; for a client, `last_error` in words for the client.
pub fn service(service: &Service, reader: &Principal) -> Value {
    let mut body = serde_json::to_value(service).expect("a service serializes");
    let fields = body.as_object_mut().expect("a service is an object");
    if !reader.is_provider() {
        fields.insert("last_error".into(), json!(service.last_error_for_client()));
    }
    let special_price = fields.remove("special_price").unwrap_or(Value::Bool(false));
    let operations_running = fields.remove("operations_running").unwrap_or(Value::Bool(false));
    // The pending operation's undo data is the worker's business; the special price as set is
    // the pricing's (the renewal price and `flags.special_price` show it).
    fields.remove("pending");
    fields.remove("special");
    // The paid time has its own route (`GET /services/{id}/paid-time`).
    fields.remove("paid_time");
    fields.remove("renewal_lines");
    // A certificate order has its own route (`GET /services/{id}/validation`), and so has the
    // certificate's chain (`GET /services/{id}/certificate`).
    fields.remove("acme");
    if let Some(issued) = &service.certificate {
        fields.insert("certificate".into(), issued.summary());
    }
    fields.insert("display_status".into(), Value::from(service.display_status()));
    fields.insert(
        "flags".into(),
        json!({
            "special_price": special_price,
            "operations_running": operations_running,
            "auto_renew": service.auto_renew.enabled,
        }),
    );
    body
}

/// A service as its answer: `service` with `allowed_actions`, what `reader` may do to it now
/// (`domain::actions`), from its product type's `rules` (read here when not given) and its
/// tariff (kept by the instance once read).
pub async fn service_answer(
    app: &crate::App,
    service: &Service,
    reader: &Principal,
    rules: Option<&ProductTypeRules>,
) -> Result<Value, crate::ApiError> {
    let read;
    let rules = match rules {
        Some(rules) => Some(rules),
        None => {
            read = app.store.listed_product_types().await?;
            read.iter().find(|r| r.product_type == service.product_type)
        }
    };
    with_actions(app, service, reader, rules).await
}

/// Service answers for a list: the product types' rules read once.
pub async fn service_answers(
    app: &crate::App,
    services: &[Service],
    reader: &Principal,
) -> Result<Vec<Value>, crate::ApiError> {
    let every_rules = RulesByType::new(app.store.listed_product_types().await?);
    service_answers_under(app, services, reader, &every_rules).await
}

/// `service_answers` under rules the request read already (a checkout's).
pub async fn service_answers_under(
    app: &crate::App,
    services: &[Service],
    reader: &Principal,
    every_rules: &RulesByType,
) -> Result<Vec<Value>, crate::ApiError> {
    let mut answers = Vec::with_capacity(services.len());
    for service in services {
        answers.push(with_actions(app, service, reader, every_rules.get(service.product_type)).await?);
    }
    Ok(answers)
}

async fn with_actions(
    app: &crate::App,
    service: &Service,
    reader: &Principal,
    rules: Option<&ProductTypeRules>,
) -> Result<Value, crate::ApiError> {
    let mut view = self::service(service, reader);
    let actions = match rules {
        Some(rules) => {
            let tariff = app.store.get_tariff(&service.tariff_id).await?;
            let now = app.clock.now();
            json!(crate::domain::actions::allowed_actions(service, rules, tariff.as_ref(), reader, now))
        }
        // A product type without rules takes no operation (its routes refuse them too).
        None => json!({}),
    };
    view["allowed_actions"] = actions;
    Ok(view)
}

/// A history entry as `reader` reads it: for a client, a given-up operation's `error` in words
/// for the client.
pub fn history_entry(entry: &HistoryEntry, reader: &Principal, provider_name: &str) -> Value {
    let shown = if reader.is_provider() { entry.clone() } else { entry.for_client(provider_name) };
    serde_json::to_value(shown).expect("a history entry serializes")
}

/// A product type's rules as `reader` reads them: for a client, without where its panel or
/// authority is, nor the ACME account's settings (the EAB key's name among them).
pub fn product_type(rules: &ProductTypeRules, reader: &Principal) -> Value {
    let mut body = serde_json::to_value(rules).expect("product type rules serialize");
    if !reader.is_provider() {
        let fields = body.as_object_mut().expect("rules are an object");
        for provider_only in ["panel_url", "acme_directory_url", "eab_kid", "eab_hmac_key", "contact"] {
            fields.remove(provider_only);
        }
    }
    body
}

/// A ticket as `reader` reads it: for a client, without a link to a deleted service, and with
/// the provider's staff shown as the provider.
pub async fn ticket(
    app: &crate::App,
    reader: &Principal,
    ticket: &crate::domain::ticket::Ticket,
) -> Result<Value, crate::ApiError> {
    let mut view = tickets(app, reader, std::slice::from_ref(ticket)).await?;
    Ok(view.pop().expect("one ticket in, one out"))
}

/// `tickets` as `reader` reads them (see `ticket`).
pub async fn tickets(
    app: &crate::App,
    reader: &Principal,
    tickets: &[crate::domain::ticket::Ticket],
) -> Result<Vec<Value>, crate::ApiError> {
    let provider_name = &app.settings.provider_name;
    let mut views: Vec<Value> = tickets
        .iter()
        .map(|t| if reader.is_provider() { t.clone() } else { t.for_client(provider_name) })
        .map(|t| serde_json::to_value(t).expect("a ticket serializes"))
        .collect();
    hide_deleted_links(app, reader, &mut views).await?;
    Ok(views)
}

/// For a client, `service_id` set to null in each of `items` (tickets, ledger entries) that
/// links to a deleted service: a client never sees one. The provider sees every link.
pub async fn hide_deleted_links(
    app: &crate::App,
    principal: &crate::domain::Principal,
    items: &mut [Value],
) -> Result<(), crate::ApiError> {
    if principal.is_provider() {
        return Ok(());
    }
    let linked: Vec<ServiceId> =
        items.iter().filter_map(|item| item["service_id"].as_str().and_then(ServiceId::parse)).collect();
    if linked.is_empty() {
        return Ok(());
    }
    let deleted = app.store.deleted_among(&linked).await?;
    for item in items.iter_mut() {
        if item["service_id"].as_str().and_then(ServiceId::parse).is_some_and(|id| deleted.contains(&id)) {
            item["service_id"] = Value::Null;
        }
    }
    Ok(())
}

/// A service's paid time as `GET /services/{id}/paid-time` shows it: each stretch with what
/// was paid for it line by line, what was paid in all, and what of it is unused at `now`.
pub fn paid_time(service: &Service, now: crate::domain::Timestamp) -> Value {
    use crate::domain::paid_time::{paid_until, unused_after};
    let record = service.paid_time();
    let stretches: Vec<Value> = record
        .iter()
        .map(|s| {
            json!({
                "from": s.from,
                "to": s.to,
                "kind": s.kind,
                "tariff_id": s.tariff_id,
                "options": s.options,
                "period_months": s.months,
                "amount": s.amount(),
                "lines": s.lines,
                "imported": s.imported,
            })
        })
        .collect();
    let paid: u64 = record.iter().map(|s| s.amount()).sum();
    json!({
        "service_id": service.id,
        "expires_at": service.expires_at,
        "paid_until": paid_until(&record),
        "paid": paid,
        "unused": unused_after(&record, now),
        "renewal_price": service.renewal_price,
        "renewal_lines": service.renewal_lines(),
        "stretches": stretches,
    })
}

/// A reconciliation run as the API shows it: `{id, status, product_types, started_at,
/// finished_at, started_by, counts: {kind: n}}` (every kind, zero included).
pub fn reconciliation(read: &crate::store::reconciliations::RunRead) -> Value {
    let counts: serde_json::Map<String, Value> = crate::domain::drift::DriftKind::ALL
        .into_iter()
        .map(|k| (k.as_str().to_owned(), json!(read.counts.get(&k).copied().unwrap_or(0))))
        .collect();
    json!({
        "id": read.run.id,
        "status": read.run.status,
        "product_types": read.run.product_types,
        "started_at": read.run.started_at,
        "finished_at": read.run.finished_at,
        "started_by": read.run.started_by,
        "counts": counts,
    })
}

/// A drift item as the API shows it.
pub fn drift_item(item: &crate::domain::drift::DriftItem) -> Value {
    json!({
        "id": item.id,
        "reconciliation_id": item.run_id,
        "kind": item.kind,
        "product_type": item.product_type,
        "service_id": item.service_id,
        "account_id": item.account_id,
        "billing": item.billing,
        "panel": item.panel,
        "found_at": item.found_at,
        "resolution": item.resolution,
    })
}

/// An import as the API shows it: its mapping, files, and how far its preview and apply are.
pub fn import(import: &crate::domain::import::Import, files: &[crate::domain::import::ImportFile]) -> Value {
    use crate::domain::import::Verdict;
    let preview = import.preview.as_ref().map(|p| {
        let status = match (p.of_files == import.files_version, import.previewed()) {
            (false, _) => "stale",
            (true, true) => "done",
            (true, false) => "running",
        };
        json!({"status": status, "lines": p.lines})
    });
    let apply = import.apply.as_ref().map(|a| {
        let counts: serde_json::Map<String, Value> = Verdict::ALL
            .into_iter()
            .map(|v| (v.as_str().to_owned(), json!(a.done.get(&v).copied().unwrap_or(0))))
            .collect();
        let done: u64 = a.done.values().sum::<u64>() + a.failed;
        json!({
            "skip_errors": a.skip_errors,
            "started_by": a.started_by,
            "started_at": a.started_at,
            "finished_at": a.finished_at,
            "lines_done": done,
            "lines": import.preview.as_ref().map_or(0, |p| p.lines),
            "done": counts,
            "failed": a.failed,
            "failures": a.failures,
        })
    });
    json!({
        "id": import.id,
        "source": import.source,
        "status": import.status,
        "created_at": import.created_at,
        "created_by": import.created_by,
        "mapping": import.mapping,
        "files": files,
        "preview": preview.unwrap_or(json!({"status": "not_started", "lines": 0})),
        "apply": apply,
    })
}

/// A bulk operation as its routes answer it: the operation and its fields, where it stands,
/// and how many of its services ended each way (`left`: not ended yet, under way included).
pub fn bulk_operation(bulk: &crate::domain::bulk::BulkOperation) -> Value {
    let mut view = json!({
        "id": bulk.id,
        "operation": bulk.action.name(),
        "status": bulk.status.as_str(),
        "counts": {
            "done": bulk.counts.done,
            "refused": bulk.counts.refused,
            "failed": bulk.counts.failed,
            "left": bulk.left(),
            "cancelled": bulk.counts.cancelled,
        },
        "under_way": bulk.in_flight.len(),
        "filter": bulk.filter,
        "named_ids": bulk.named_ids,
        "preview": bulk.totals,
        "created_by": bulk.created_by,
        "created_at": bulk.created_at,
        "approvals": bulk.approvals,
        "approvals_needed": bulk.approvals_needed,
        "concurrency": bulk.concurrency,
        "finished_at": bulk.finished_at,
    });
    if let (Some(view), Some(fields)) = (view.as_object_mut(), bulk.action.fields().as_object()) {
        view.extend(fields.clone());
    }
    view
}

/// One service of a bulk operation: what the preview said (a quote or a refusal) and what
/// became of it.
pub fn bulk_service(item: &crate::domain::bulk::BulkItem) -> Value {
    json!({
        "seq": item.seq,
        "service_id": item.service_id,
        "client_id": item.client_id,
        "product_type": item.product_type,
        "quote": item.quote,
        "refusal": item.refusal,
        "state": item.state,
        "reason": item.reason,
        "operation_id": item.operation_id,
        "finished_at": item.finished_at,
    })
}
