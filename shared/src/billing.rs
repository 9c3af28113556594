//! The application layer of money: accounts, payments and the cart.

use crate::app::App;
use crate::domain::account::{Account, LedgerEntry, LedgerKind};
use crate::domain::catalog::RulesByType;
use crate::domain::history::Actor;
use crate::domain::lifecycle::Change;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::{ClientId, Principal, Service, Status, Timestamp};
use crate::error::ApiError;
use crate::http::{Query, Reply, PAGE_PARAMS};
use crate::operations::{account, account_with_rules, add_change, enqueue};
use crate::store::StoreError;
use crate::views;
use lambda_http::Request;

/// The most services one checkout pays for (a transaction holds at most 100 items: three a
/// service, and the account and payment).
pub const MAX_CHECKOUT: usize = 30;

/// `{client_id, balance, entries, cursor}`: the balance and one page of the ledger.
pub async fn account_reply(
    app: &App,
    principal: &Principal,
    client: &ClientId,
    req: &Request,
) -> Result<Reply, ApiError> {
    let query = Query::parse(req, &PAGE_PARAMS)?;
    let page = query.page(crate::domain::ids::parse_id)?;
    // The first page comes with the account in one read; a later one needs both reads.
    let (account, ledger) = if page.after.is_none() {
        let (account, ledger) = app.store.account_with_ledger(client, page.limit).await?;
        (account.unwrap_or_else(|| Account::open(client.clone())), ledger)
    } else {
        (account(app, client).await?, app.store.list_ledger(client, page).await?)
    };
    let mut entries: Vec<serde_json::Value> =
        ledger.items.iter().map(|e| serde_json::to_value(e).expect("an entry serializes")).collect();
    views::hide_deleted_links(app, principal, &mut entries).await?;
    Reply::ok(serde_json::json!({
        "client_id": account.client_id,
        "balance": account.balance,
        "entries": entries,
        "cursor": ledger.next.map(|n| crate::http::encode_cursor(&n)),
    }))
}

/// The services in a client's cart: ordered (or quick orders) not paid for yet, oldest first.
pub fn cart(services: Vec<Service>) -> Vec<Service> {
    let mut cart: Vec<Service> = services
        .into_iter()
        .filter(|s| !s.paid && matches!(s.status, Status::Ordered | Status::ConfigurationRequired))
        .collect();
    cart.sort_by(|a, b| a.id.cmp(&b.id));
    cart
}

/// Whether `account` can pay for `services` now: each of their product types has a control
/// panel to activate them on (409 naming the first that has none), and the balance covers all
/// of them (402).
pub fn ensure_payable(account: &Account, services: &[Service], rules: &RulesByType) -> Result<(), ApiError> {
    for service in services {
        rules.operable(service.product_type)?;
    }
    // Each price is at most `MAX_AMOUNT`, but a stored one is not re-checked here: a sum that
    // does not fit is more than any balance.
    let total =
        services.iter().try_fold(0u64, |total, s| total.checked_add(s.order_price)).unwrap_or(u64::MAX);
    if total > account.balance || total == u64::MAX {
        return Err(
            crate::domain::account::InsufficientFunds { needed: total, balance: account.balance }.into()
        );
    }
    Ok(())
}

/// Charges `account` for each service and pays its order: the changes and the ledger entries.
/// Refuses as a whole (nothing charged) unless `ensure_payable`.
pub fn pay_for(
    account: &mut Account,
    services: &[Service],
    rules: &RulesByType,
    actor: &Actor,
    at: Timestamp,
) -> Result<(Vec<Change>, Vec<LedgerEntry>), ApiError> {
    ensure_payable(account, services, rules)?;
    let mut changes = Vec::new();
    let mut entries = Vec::new();
    for service in services {
        changes.push(service.pay_order(actor, at)?);
        // A free order moves no money: no ledger entry of 0.
        if service.order_price > 0 {
            entries.push(account.charge(
                LedgerKind::OrderCharge,
                service.order_price,
                Some(&service.id),
                at,
            )?);
        }
    }
    Ok((changes, entries))
}

/// Whom a received payment may be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// A client the backend has seen (an account or a service): any other is 404.
    Known,
    /// Possibly a new one: its account is opened with the payment.
    MayBeNew,
}

/// Writes a received payment: the credit of what was received, and when the whole cart (of at
/// most `MAX_CHECKOUT` services) can then be paid for (`ensure_payable`), its checkout, all in
/// one transaction.
pub async fn receive_payment(
    app: &App,
    payment: &Payment,
    client: Client,
    actor: &Actor,
) -> Result<Vec<Change>, ApiError> {
    let now = app.clock.now();
    let (mut account, rules) = account_with_rules(app, &payment.client_id).await?;
    let services = app.store.client_services(&payment.client_id).await?;
    // Never seen: no account written, no service ordered (a mistyped client id, say).
    if client == Client::Known && account.version == 0 && services.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no such client: `{}` has no account and no service (`new_client: true` opens one)",
            payment.client_id
        )));
    }
    let mut entries = vec![account.credit_payment(payment, now)];
    let cart = cart(services);
    let (checked_out, unmarked) = if !cart.is_empty()
        && cart.len() <= MAX_CHECKOUT
        && ensure_payable(&account, &cart, &rules).is_ok()
    {
        let (paid, charges) = pay_for(&mut account, &cart, &rules, actor, now)?;
        entries.extend(charges);
        (paid, Vec::new())
    } else {
        // Not checked out: the services no longer wait for this payment.
        let unmarked = cart.iter().filter_map(|s| s.mark_payment(&payment.id, false, actor, now));
        (Vec::new(), unmarked.take(MAX_CHECKOUT).collect())
    };
    let changes: Vec<&Change> = checked_out.iter().chain(&unmarked).collect();
    let conflict =
        "the payment, the account or a service changed meanwhile (or the external_id is recorded already)";
    write_cart(app, Some(payment), account, &entries, &changes, conflict).await?;
    Ok(checked_out)
}

/// Writes a cart's money (the account, one version on, with its entries) and its service
/// changes, with the payment if one pays for it, in one transaction; then queues the
/// activations. `conflict` explains a lost race.
pub async fn write_cart(
    app: &App,
    payment: Option<&Payment>,
    mut account: Account,
    entries: &[LedgerEntry],
    changes: &[&Change],
    conflict: &str,
) -> Result<(), ApiError> {
    account.version += 1;
    let mut batch = app.store.batch();
    if let Some(payment) = payment {
        batch.payment(payment)?;
    }
    batch.account(&account, entries)?;
    for change in changes {
        add_change(&mut batch, change)?;
    }
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => return Err(ApiError::Conflict(conflict.into())),
        other => other?,
    }
    enqueue(app, changes).await
}

/// Starts a payment: it is stored `pending`, and the services of the cart (as many as one
/// checkout takes) show that their payment is in progress, all in one transaction.
pub async fn start_payment(app: &App, payment: &Payment, actor: &Actor) -> Result<(), ApiError> {
    let now = app.clock.now();
    let cart = cart(app.store.client_services(&payment.client_id).await?);
    let marked: Vec<Change> = cart
        .iter()
        .filter_map(|s| s.mark_payment(&payment.id, true, actor, now))
        .take(MAX_CHECKOUT)
        .collect();
    let mut batch = app.store.batch();
    batch.payment(payment)?;
    for change in &marked {
        add_change(&mut batch, change)?;
    }
    match app.store.commit(batch).await {
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict("the cart changed meanwhile; try again".into()))
        }
        other => Ok(other?),
    }
}

/// The wire form of a payment.
pub fn payment_view(payment: &Payment) -> serde_json::Value {
    serde_json::json!({
        "id": payment.id,
        "client_id": payment.client_id,
        "amount": payment.amount,
        "settled_amount": payment.settled_amount,
        "status": payment.status,
        "external_id": payment.external_id,
        "created_at": payment.created_at,
        "reversal": payment.reversal,
    })
}

/// A new payment of `amount` for `client`; a received one has received `amount`.
pub fn new_payment(
    client: ClientId,
    amount: u64,
    status: PaymentStatus,
    external_id: Option<String>,
    at: Timestamp,
) -> Result<Payment, ApiError> {
    if amount == 0 || amount > crate::domain::payment::MAX_PAYMENT {
        return Err(ApiError::Unprocessable(format!(
            "amount must be 1 to {} minor units",
            crate::domain::payment::MAX_PAYMENT
        )));
    }
    Ok(Payment {
        id: crate::domain::ids::next_id(),
        client_id: client,
        amount,
        status,
        settled_amount: (status == PaymentStatus::Received).then_some(amount),
        external_id,
        created_at: at,
        version: 1,
        reversal: None,
    })
}

/// The services a checkout answers `reader` with.
pub async fn services_view(
    app: &App,
    changes: &[Change],
    reader: &Principal,
    rules: &RulesByType,
) -> Result<serde_json::Value, ApiError> {
    let services: Vec<_> = changes.iter().map(|c| c.service.clone()).collect();
    Ok(serde_json::json!({ "items": views::service_answers_under(app, &services, reader, rules).await? }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{sample_rules, ProductTypeRules};

    #[test]
    fn a_cart_whose_prices_add_up_past_any_balance_is_refused_not_panicked_on() {
        let at = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
        let mut services =
            vec![crate::domain::order::sample_service(at), crate::domain::order::sample_service(at)];
        for service in &mut services {
            service.order_price = u64::MAX / 2 + 1;
        }
        let rules =
            RulesByType::new([ProductTypeRules { panel_url: Some("http://panel".into()), ..sample_rules() }]);
        let account = Account { client_id: ClientId::parse("alice").unwrap(), balance: u64::MAX, version: 1 };
        let refused = ensure_payable(&account, &services, &rules).unwrap_err();
        assert!(matches!(refused, ApiError::PaymentRequired(_)), "{refused:?}");
    }

    #[test]
    fn a_free_order_writes_no_ledger_entry() {
        let at = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
        let mut free = crate::domain::order::sample_service(at);
        free.order_price = 0;
        let paid = crate::domain::order::sample_service(at);
        let rules =
            RulesByType::new([ProductTypeRules { panel_url: Some("http://panel".into()), ..sample_rules() }]);
        let mut account =
            Account { client_id: ClientId::parse("alice").unwrap(), balance: 10_000, version: 1 };
        let actor = Actor { id: "alice".into(), role: crate::domain::Role::Client };
        let (changes, entries) = pay_for(&mut account, &[free, paid.clone()], &rules, &actor, at).unwrap();
        assert_eq!(changes.len(), 2, "both paid");
        let amounts: Vec<i64> = entries.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [-(paid.order_price as i64)], "one entry, for the order that cost something");
    }
}
