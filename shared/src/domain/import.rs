//! An import of a provider's live services from WHMCS (`domain::whmcs` reads its answers): the
//! mapping that says what each WHMCS id is here, what would happen to each record (the
//! preview's lines), and the service and account each record becomes. Nothing here charges,
//! calls a panel or mails anyone: an imported service is recorded as it runs in WHMCS.
//!
//! A record is known again by its WHMCS id (its `Link`, written with it): a second import of
//! it updates what it made, never makes another, and never credits a client's balance again.

use super::lifecycle::Hold;
use super::paid_time::{list_lines, scaled_to, Holding, PaidLine, Stretch};
use super::pricing::special_lines;
use super::principal::Actor;
use super::service::{resting_status, SpecialPrice};
use super::whmcs::{self, Cycle, Product, ProductStatus};
use super::{
    Action, AutoRenew, ClientId, HistoryEntry, HistoryId, OptionLine, ProductType, Service, ServiceId,
    Status, Tariff, TariffId, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The most of a line's reason kept.
pub const MAX_REASON_CHARS: usize = 300;

/// The one source an import reads today.
pub const SOURCE: &str = "whmcs";
/// The most entries of each table of a mapping.
pub const MAX_MAPPING_ENTRIES: usize = 5_000;

/// What each WHMCS id is here, exactly as the provider gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// WHMCS product (`pid`) to tariff.
    pub products: BTreeMap<String, TariffId>,
    /// WHMCS configurable option id to the tariff's option id.
    #[serde(default)]
    pub configoptions: BTreeMap<String, String>,
    /// WHMCS server (`serverid`) to the product type whose panel it is.
    #[serde(default)]
    pub servers: BTreeMap<String, ProductType>,
    /// The WHMCS custom fields (by id) kept as parameters, which the client reads: none unless
    /// named (providers keep notes and secrets in custom fields).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customfields: Vec<String>,
    pub clients: ClientMapping,
    /// Currency code to its decimal digits (2 for USD).
    pub currencies: BTreeMap<String, u8>,
    /// Where WHMCS's due dates are midnights: `Z` (UTC, when not given) or `+HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// How a WHMCS client id becomes ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMapping {
    /// `{prefix}{WHMCS id}`.
    Prefix(String),
    /// A row per WHMCS client id.
    Table(BTreeMap<String, ClientId>),
}

impl Mapping {
    /// The mapping, if every entry can be used: why not, in words.
    pub fn check(&self) -> Result<(), String> {
        let sizes =
            [self.products.len(), self.configoptions.len(), self.servers.len(), self.currencies.len()];
        let table = match &self.clients {
            ClientMapping::Table(t) => t.len(),
            ClientMapping::Prefix(_) => 0,
        };
        if sizes.iter().chain([&table]).any(|n| *n > MAX_MAPPING_ENTRIES) {
            return Err(format!("a mapping table has more than {MAX_MAPPING_ENTRIES} entries"));
        }
        if self.products.is_empty() {
            return Err("products maps no WHMCS product".into());
        }
        let id_ok = |id: &str| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        let listed = self.customfields.iter();
        for id in
            self.products.keys().chain(self.configoptions.keys()).chain(self.servers.keys()).chain(listed)
        {
            if !id_ok(id) {
                return Err(format!("`{id}` is not a WHMCS id"));
            }
        }
        for option in self.configoptions.values() {
            if !super::catalog::is_slug(option, super::catalog::MAX_PARAM_NAME_LEN) {
                return Err(format!("`{option}` is not an option id"));
            }
        }
        if self.currencies.len() != 1 {
            return Err("currencies names exactly one currency: the one the stack bills in".into());
        }
        for (code, digits) in &self.currencies {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) || *digits > 4 {
                return Err(format!("currency `{code}`: a code of 3 capitals, with 0 to 4 digits"));
            }
        }
        match &self.clients {
            ClientMapping::Prefix(prefix) => {
                if prefix.len() > 64 || ClientId::parse(&format!("{prefix}1")).is_none() {
                    return Err("clients.prefix must be at most 64 characters, no control characters".into());
                }
            }
            ClientMapping::Table(table) => {
                if let Some(id) = table.keys().find(|id| !id_ok(id)) {
                    return Err(format!("clients.table: `{id}` is not a WHMCS id"));
                }
            }
        }
        if let Some(zone) = &self.zone {
            if !whmcs::is_zone(zone) {
                return Err("zone must be Z or an offset +HH:MM".into());
            }
        }
        Ok(())
    }

    /// Our id for the WHMCS client `id`, if the mapping gives one.
    pub fn client_id(&self, id: u64) -> Option<ClientId> {
        match &self.clients {
            ClientMapping::Prefix(prefix) => ClientId::parse(&format!("{prefix}{id}")),
            ClientMapping::Table(table) => table.get(&id.to_string()).cloned(),
        }
    }

    fn zone(&self) -> &str {
        self.zone.as_deref().unwrap_or("Z")
    }
}

/// A record's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Client,
    Service,
}

/// What an import does with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Create,
    Update,
    Skip,
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Verdict::Create, Verdict::Update, Verdict::Skip, Verdict::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Create => "create",
            Verdict::Update => "update",
            Verdict::Skip => "skip",
            Verdict::Error => "error",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == raw)
    }
}

/// One line of a preview: what would happen to one record, and what the summary needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub record: Record,
    pub whmcs_id: u64,
    pub action: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ours: a client's id; a service's client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// A client's: its currency's digits, and the balance to import (minor units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<u64>,
    /// A client's WHMCS e-mail, when it is an address (its notification address, where it has
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A service's: its tariff, its renewal price and the tariff's list price for its period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<TariffId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_price: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_price: Option<u64>,
}

impl Line {
    fn of(record: Record, whmcs_id: u64, action: Verdict, reason: Option<String>) -> Self {
        Line {
            record,
            whmcs_id,
            action,
            // WHMCS's own words in it are bounded: a chunk of lines stays well inside an item.
            reason: reason.map(|r| r.chars().take(MAX_REASON_CHARS).collect()),
            client_id: None,
            digits: None,
            balance: None,
            email: None,
            tariff_id: None,
            renewal_price: None,
            list_price: None,
        }
    }

    /// Whether the apply writes it.
    pub fn writes(&self) -> bool {
        matches!(self.action, Verdict::Create | Verdict::Update)
    }

    /// The line as the preview lists it.
    pub fn view(&self) -> serde_json::Value {
        let mut view =
            serde_json::json!({"record": self.record, "whmcs_id": self.whmcs_id, "action": self.action});
        if let Some(reason) = &self.reason {
            view["reason"] = serde_json::json!(reason);
        }
        view
    }
}

/// What an earlier import made of a WHMCS record (its client, and for a service, the service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub client_id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    /// The import that last wrote the record: a page applied again skips what it wrote.
    pub import_id: String,
    /// A client's balance imported, once.
    #[serde(default)]
    pub balance: u64,
}

/// A client's line: its WHMCS answers (its `GetClients` entry, its `GetClientsDetails`, or
/// both) read by `mapping`, against what an earlier import made of it.
pub fn client_line(id: u64, answers: &[whmcs::Client], mapping: &Mapping, link: Option<&Link>) -> Line {
    let error = |why: String| Line::of(Record::Client, id, Verdict::Error, Some(why));
    let Some(client_id) = mapping.client_id(id) else {
        return error(format!("client {id} has no row in the mapping's clients table"));
    };
    let Some(details) = answers.iter().find(|c| c.details) else {
        return error(format!("no GetClientsDetails answer for client {id} (its credit and currency)"));
    };
    let Some(&digits) = mapping.currencies.get(details.currency_code.trim()) else {
        return error(format!("currency `{}` has no mapping", details.currency_code));
    };
    let Some(credit) = whmcs::minor_units(&details.credit, digits, super::amount::MAX_AMOUNT) else {
        return error(format!("credit `{}` does not parse as {digits} decimals", details.credit));
    };
    let (action, balance, reason) = match link {
        Some(link) if link.client_id != client_id => {
            return error(format!(
                "imported before as client `{}`, mapped now to `{client_id}`",
                link.client_id
            ))
        }
        Some(_) => (Verdict::Update, 0, Some("imported before: its balance is not credited again".into())),
        None => (Verdict::Create, credit, None),
    };
    Line {
        client_id: Some(client_id),
        digits: Some(digits),
        balance: Some(balance),
        email: Some(details.email.trim().to_owned()).filter(|e| super::notification::is_email(e)),
        ..Line::of(Record::Client, id, action, reason)
    }
}

/// How an imported service stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Suspended by the administrator, with WHMCS's reason.
    Suspended(String),
    /// Ordered, not paid: the client's cart.
    Pending,
}

/// What a WHMCS product becomes here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub whmcs_id: u64,
    pub whmcs_client_id: u64,
    pub client_id: ClientId,
    pub tariff: Tariff,
    pub months: u16,
    pub options: Vec<OptionLine>,
    pub params: BTreeMap<String, String>,
    /// `nextduedate`; none for a free account WHMCS gives no due date.
    pub expires_at: Option<Timestamp>,
    pub renewal_price: u64,
    pub list_lines: Vec<PaidLine>,
    pub free: bool,
    pub standing: Standing,
    /// What a pending order costs (`firstpaymentamount`).
    pub order_price: u64,
    /// `firstpaymentamount` (what the first period was paid), and when it was registered.
    pub first_payment: Option<u64>,
    pub registered: Option<Timestamp>,
    /// The day of the month of `nextduedate` as WHMCS writes it: the renewals' anchor.
    pub due_day: u8,
}

impl Plan {
    pub fn list_price(&self) -> u64 {
        super::paid_time::total(&self.list_lines)
    }

    pub fn special(&self) -> bool {
        self.renewal_price != self.list_price()
    }

    fn renewal_lines(&self) -> Vec<PaidLine> {
        if self.special() {
            special_lines(&self.list_lines, self.renewal_price)
        } else {
            self.list_lines.clone()
        }
    }
}

/// What a service's plan needs besides its record.
pub struct Context<'a> {
    pub mapping: &'a Mapping,
    pub tariffs: &'a HashMap<TariffId, Tariff>,
    /// The clients' lines, by WHMCS id.
    pub clients: &'a HashMap<u64, Line>,
    /// Now: a due date already past is said in the preview (the expiry sweep acts on it).
    pub now: Timestamp,
}

/// A service's line: `product` planned by `context`, against what an earlier import made of it
/// (`link`).
pub fn service_line(product: &Product, context: &Context, link: Option<&Link>) -> Line {
    match plan(product, context, link) {
        Ok(plan) => {
            let action = if link.is_some() { Verdict::Update } else { Verdict::Create };
            let overdue = plan.expires_at.filter(|due| *due <= context.now).map(|due| {
                format!("overdue since {}: the expiry sweep suspends it unless it is renewed", due.day())
            });
            Line {
                client_id: Some(plan.client_id.clone()),
                tariff_id: Some(plan.tariff.id.clone()),
                renewal_price: Some(plan.renewal_price),
                list_price: Some(plan.list_price()),
                ..Line::of(Record::Service, product.id, action, overdue)
            }
        }
        Err((action, why)) => Line::of(Record::Service, product.id, action, Some(why)),
    }
}

/// The plan of `product`, or why it is skipped or in error.
pub fn plan(product: &Product, context: &Context, link: Option<&Link>) -> Result<Plan, NotPlanned> {
    let error = |why: String| (Verdict::Error, why);
    let skip = |why: String| (Verdict::Skip, why);
    let status = ProductStatus::parse(&product.status)
        .ok_or_else(|| error(format!("status `{}` is not one WHMCS gives", product.status)))?;
    // Gone in WHMCS but imported before: an error, for the provider to delete it here (an
    // import calls no panel), never passed over while it renews.
    let gone = |what: String| match link.and_then(|l| l.service_id.as_ref()) {
        Some(id) => error(format!("{what} in WHMCS, imported before as {id}: delete it here")),
        None => skip(what),
    };
    match status {
        ProductStatus::Terminated
        | ProductStatus::Cancelled
        | ProductStatus::Fraud
        | ProductStatus::Completed => return Err(gone(product.status.trim().to_owned())),
        _ => {}
    }
    let cycle = Cycle::parse(&product.billing_cycle)
        .ok_or_else(|| error(format!("billing cycle `{}` has no mapping", product.billing_cycle)))?;
    let months = match cycle {
        Cycle::OneTime => return Err(gone("a one-time product".into())),
        Cycle::Free => 1,
        Cycle::Months(m) => m,
    };
    let tariff_id = context
        .mapping
        .products
        .get(product.pid.trim())
        .ok_or_else(|| error(format!("pid `{}` has no mapping", product.pid)))?;
    let tariff = context
        .tariffs
        .get(tariff_id)
        .ok_or_else(|| error(format!("tariff `{tariff_id}` does not exist")))?;
    let server = product.server_id.trim();
    if !server.is_empty() && server != "0" {
        match context.mapping.servers.get(server) {
            None => return Err(error(format!("server `{server}` has no mapping"))),
            Some(t) if *t != tariff.product_type => {
                return Err(error(format!(
                    "server `{server}` is the {} panel, tariff `{tariff_id}` a {} tariff",
                    t.as_str(),
                    tariff.product_type.as_str()
                )))
            }
            Some(_) => {}
        }
    }
    let client = context
        .clients
        .get(&product.client_id)
        .ok_or_else(|| error(format!("client {} unknown", product.client_id)))?;
    let (Some(client_id), Some(digits), true) = (&client.client_id, client.digits, client.writes()) else {
        return Err(error(format!("client {} is in error", product.client_id)));
    };
    if let Some(link) = link {
        if &link.client_id != client_id {
            return Err(error(format!(
                "imported before for client `{}`: a service never moves to another client",
                link.client_id
            )));
        }
    }
    let max = super::amount::MAX_AMOUNT;
    let recurring = whmcs::minor_units(&product.recurring_amount, digits, max)
        .ok_or_else(|| error(format!("recurringamount `{}` does not parse", product.recurring_amount)))?;
    // A free account is never renewed: it never lapses, whatever date WHMCS shows.
    let expires_at = match whmcs::midnight(&product.next_due_date, context.mapping.zone()) {
        _ if cycle == Cycle::Free => None,
        Some(due) => Some(due),
        None => return Err(error(format!("due date missing (`{}`)", product.next_due_date))),
    };
    let due_day = product.next_due_date.trim().get(8..10).and_then(|d| d.parse().ok()).unwrap_or(1);
    let (options, mut params) = options_and_params(product, context.mapping)?;
    for (name, value) in [
        ("domain", &product.domain),
        ("username", &product.username),
        ("dedicated_ip", &product.dedicated_ip),
    ] {
        if !value.trim().is_empty() {
            params.insert(name.into(), value.trim().to_owned());
        }
    }
    let ips: Vec<&str> =
        product.assigned_ips.split(['\n', '\r', ',']).map(str::trim).filter(|ip| !ip.is_empty()).collect();
    if !ips.is_empty() {
        params.insert("assigned_ips".into(), ips.join(", "));
    }
    check_params(&params)?;
    let list_lines = list_lines(Holding { tariff, options: &options }, months)
        .map_err(|r| error(r.message().to_owned()))?;
    let standing = match status {
        ProductStatus::Active => Standing::Active,
        ProductStatus::Suspended => Standing::Suspended(product.suspension_reason.trim().to_owned()),
        _ => Standing::Pending,
    };
    let order_price = match standing {
        Standing::Pending => {
            whmcs::minor_units(&product.first_payment_amount, digits, max).ok_or_else(|| {
                error(format!("firstpaymentamount `{}` does not parse", product.first_payment_amount))
            })?
        }
        _ => 0,
    };
    let first_payment = whmcs::minor_units(&product.first_payment_amount, digits, max);
    Ok(Plan {
        whmcs_id: product.id,
        whmcs_client_id: product.client_id,
        client_id: client_id.clone(),
        tariff: tariff.clone(),
        months,
        options,
        params,
        expires_at,
        renewal_price: if cycle == Cycle::Free { 0 } else { recurring },
        list_lines,
        free: cycle == Cycle::Free,
        standing,
        order_price,
        first_payment,
        registered: whmcs::midnight(&product.regdate, context.mapping.zone()),
        due_day,
    })
}

/// Why a record is skipped or in error.
type NotPlanned = (Verdict, String);

/// The mapped configurable options as options (a quantity; `yesno` one or none); the others
/// kept as parameters, with the custom fields, so that nothing WHMCS knew is lost (the renewal
/// price is WHMCS's, whatever they cost there).
fn options_and_params(
    product: &Product,
    mapping: &Mapping,
) -> Result<(Vec<OptionLine>, BTreeMap<String, String>), NotPlanned> {
    let mut options: Vec<OptionLine> = Vec::new();
    let mut params = BTreeMap::new();
    for field in &product.config_options {
        let value = field.value.trim();
        let Some(option) = mapping.configoptions.get(field.id.trim()) else {
            if !value.is_empty() {
                params.insert(
                    format!("configoption_{}", slug(&field.id)),
                    format!("{}: {value}", field.name.trim()),
                );
            }
            continue;
        };
        let quantity = match (field.kind.trim(), value) {
            ("yesno", "" | "0" | "No" | "no" | "off") => 0,
            ("yesno", "1" | "Yes" | "yes" | "on") => 1,
            (_, v) => v.parse::<u32>().map_err(|_| {
                (
                    Verdict::Error,
                    format!("configoption {} `{}` is not a quantity: `{v}`", field.id, field.name),
                )
            })?,
        };
        if quantity == 0 {
            continue;
        }
        if options.iter().any(|o| &o.id == option) {
            return Err((Verdict::Error, format!("two configoptions map to option `{option}`")));
        }
        options.push(OptionLine { id: option.clone(), quantity });
    }
    for field in &product.custom_fields {
        let listed = mapping.customfields.iter().any(|id| id == field.id.trim());
        if listed && !field.value.trim().is_empty() {
            params.insert(
                format!("customfield_{}", slug(&field.id)),
                format!("{}: {}", field.name.trim(), field.value.trim()),
            );
        }
    }
    options.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((options, params))
}

fn slug(id: &str) -> String {
    id.trim().chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).take(40).collect()
}

fn check_params(params: &BTreeMap<String, String>) -> Result<(), NotPlanned> {
    use super::catalog::MAX_PARAMS;
    if params.len() > MAX_PARAMS {
        return Err((Verdict::Error, format!("{} parameters (at most {MAX_PARAMS} are kept)", params.len())));
    }
    for (name, value) in params {
        super::text::paragraphs(value, &format!("parameter `{name}`"), super::order::MAX_PARAM_VALUE_LEN)
            .map_err(|e| (Verdict::Error, e.to_string()))?;
    }
    Ok(())
}

/// Who an import acts as, and which import and record it writes.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    pub actor: &'a Actor,
    pub import_id: &'a str,
    pub now: Timestamp,
}

impl Plan {
    /// The service the plan makes, new, with its `imported` history entry.
    pub fn create(&self, id: ServiceId, by: &Writer) -> (Service, HistoryEntry) {
        let months = self.months;
        let mut service = Service {
            params: self.params.clone(),
            options: self.options.clone(),
            ..Service::new_on(id, self.client_id.clone(), &self.tariff, months, by.now)
        };
        self.price(&mut service);
        service.auto_renew = AutoRenew { enabled: !self.free, period_months: months };
        match &self.standing {
            Standing::Pending => {
                service.order_price = self.order_price;
                service.order_lines = scaled_to(&self.list_lines, self.order_price);
            }
            Standing::Active | Standing::Suspended(_) => {
                service.paid = true;
                if let Standing::Suspended(_) = self.standing {
                    service.holds = vec![Hold::Admin];
                }
                service.status = resting_status(&service.holds);
                if let Some(due) = self.expires_at {
                    service.expires_at = Some(due);
                    service.anchor_day = Some(self.due_day);
                    service.paid_time = vec![self.stretch(None, due)];
                }
            }
        }
        let entry = self.entry(&service, None, "created", by);
        (service, entry)
    }

    /// `existing` (made by an earlier import of the record) brought to the plan: its due date,
    /// price, status and options. Its client and tariff never change; a due date earlier than
    /// its own leaves its own (an update never takes paid time back); a service with an
    /// operation under way, or gone, is left and said why.
    pub fn update(&self, existing: &Service, by: &Writer) -> Result<(Service, HistoryEntry), String> {
        if existing.client_id != self.client_id {
            return Err(format!(
                "imported before for client `{}`: a service never moves to another client",
                existing.client_id
            ));
        }
        if existing.tariff_id != self.tariff.id {
            return Err(format!(
                "imported before on tariff `{}`: a tariff is changed here, not by an import",
                existing.tariff_id
            ));
        }
        if existing.status == Status::Deleted {
            return Err("deleted here".into());
        }
        if existing.pending.is_some() || existing.status == Status::InProgress || existing.operations_running
        {
            return Err("an operation is under way here: import it again once it ends".into());
        }
        // Lapsed here (suspended for non-payment, on a grace, owing time) or to be deleted: what
        // billing does about it here is not overwritten by an export.
        let lapsed = existing.holds.contains(&Hold::NonPayment)
            || existing.grace.is_some()
            || existing.delete_at.is_some()
            || existing.paid_time.iter().any(|s| s.kind == super::paid_time::StretchKind::Owed);
        if lapsed {
            return Err("lapsed or to be deleted here: settle it here, then import it again".into());
        }
        let at_rest = matches!(
            existing.status,
            Status::Active | Status::Suspended | Status::SuspendedByAdmin | Status::SuspendedAbuse
        );
        let in_cart = existing.status == Status::Ordered && !existing.paid;
        if !at_rest && !in_cart {
            return Err(format!("{} here: an import does not change that", existing.status.as_str()));
        }
        let mut next = existing.clone();
        next.version += 1;
        next.options = self.options.clone();
        next.params = self.params.clone();
        next.period_months = self.months;
        self.price(&mut next);
        if self.free {
            next.auto_renew.enabled = false;
        } else if existing.renewal_price == 0 && existing.special_price {
            // A free account no longer: renewed as WHMCS renews it.
            next.auto_renew.enabled = true;
        }
        match (&self.standing, existing.status) {
            (Standing::Pending, Status::Ordered) => {
                next.order_price = self.order_price;
                next.order_lines = scaled_to(&self.list_lines, self.order_price);
            }
            (Standing::Pending, status) => {
                return Err(format!("Pending in WHMCS, {} here", status.as_str()));
            }
            (_, Status::Ordered) if !existing.paid => {
                // Activated in WHMCS since: as a new import of it would make it.
                let (made, _) = self.create(existing.id.clone(), by);
                next = Service { created_at: existing.created_at, version: existing.version + 1, ..made };
            }
            (standing, _) => {
                next.holds.retain(|h| *h != Hold::Admin);
                if let Standing::Suspended(_) = standing {
                    next.holds.push(Hold::Admin);
                }
                next.status = resting_status(&next.holds);
                self.extend(&mut next);
            }
        }
        let entry = self.entry(&next, Some(existing.status), "updated", by);
        Ok((next, entry))
    }

    /// The renewal price and its lines: WHMCS's recurring amount, a special price where it is
    /// not the tariff's list price for the period.
    fn price(&self, service: &mut Service) {
        service.renewal_price = self.renewal_price;
        service.renewal_lines = self.renewal_lines();
        service.special_price = self.special();
        service.special =
            self.special().then_some(SpecialPrice { price: self.renewal_price, months: self.months });
        service.auto_renew.period_months = self.months;
    }

    /// The paid time up to the plan's due date, where it is later than the service's own: the
    /// time from where the record ends, paid at the renewal price for its share of a period.
    fn extend(&self, service: &mut Service) {
        let Some(due) = self.expires_at else { return };
        if service.expires_at.is_some_and(|own| own >= due) {
            return;
        }
        let covered = super::paid_time::covered_until(&service.paid_time);
        service.paid_time.push(self.stretch(covered, due));
        service.expires_at = Some(due);
        service.anchor_day = Some(self.due_day);
    }

    /// The imported stretch ending at `due`: one period, or from `from` when the record ends
    /// later than a period before `due` (its price that share of the period's).
    fn stretch(&self, from: Option<Timestamp>, due: Timestamp) -> Stretch {
        let months = self.months;
        let period_start = due.minus_months_on_day(u32::from(months), self.due_day);
        let start = from.map_or(period_start, |f| f.max(period_start).min(due));
        // What the period was paid: the first payment when the service was registered within
        // it (a first period is often sold at another price), else the renewal price.
        let first_period = from.is_none() && self.registered.is_some_and(|r| r >= period_start);
        let paid = match self.first_payment {
            Some(first) if first_period => scaled_to(&self.renewal_lines(), first),
            _ => self.renewal_lines(),
        };
        let period = period_start.seconds_until(due).max(1);
        let share = |amount: u64| {
            (u128::from(amount) * start.seconds_until(due).max(0) as u128 / period as u128) as u64
        };
        let lines: Vec<PaidLine> =
            paid.into_iter().map(|l| PaidLine { amount: share(l.amount), ..l }).collect();
        let bought = super::paid_time::bought(
            start,
            due,
            months,
            u32::from(months),
            &self.tariff.id,
            &self.options,
            lines,
        );
        // Its price is a whole period's, spread over the period's days (not its own).
        let span_days = super::amount::days_started(period_start, due).max(1) as u32;
        Stretch { imported: true, span_days, ..bought }
    }

    fn entry(&self, service: &Service, before: Option<Status>, result: &str, by: &Writer) -> HistoryEntry {
        let mut details = serde_json::json!({
            "result": result,
            "source": SOURCE,
            "import_id": by.import_id,
            "whmcs_id": self.whmcs_id,
            "whmcs_client_id": self.whmcs_client_id,
            "tariff_id": self.tariff.id,
            "expires_at": service.expires_at,
            "renewal_price": service.renewal_price,
            "period_months": self.months,
            "auto_renew": service.auto_renew.enabled,
        });
        if let Standing::Suspended(reason) = &self.standing {
            details["reason"] = serde_json::json!(reason);
        }
        HistoryEntry {
            id: HistoryId::generate(),
            at: by.now,
            actor: by.actor.clone(),
            operation: Action::Imported,
            status_before: before,
            status_after: service.status,
            details,
        }
    }
}

/// The preview's summary, worked out from its lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub clients: BTreeMap<Verdict, u64>,
    pub services: BTreeMap<Verdict, u64>,
    /// Per client to be written, the balance it brings (minor units; 0 when imported before).
    pub balances: Vec<serde_json::Value>,
    /// Per tariff, the services to be written on it.
    pub tariffs: BTreeMap<TariffId, u64>,
    /// The services whose renewal price is not their tariff's list price (special prices).
    pub special_prices: Vec<serde_json::Value>,
}

impl Summary {
    pub fn add(&mut self, line: &Line) {
        let counts = match line.record {
            Record::Client => &mut self.clients,
            Record::Service => &mut self.services,
        };
        *counts.entry(line.action).or_default() += 1;
        if !line.writes() {
            return;
        }
        match line.record {
            Record::Client => self.balances.push(serde_json::json!({
                "whmcs_id": line.whmcs_id,
                "client_id": line.client_id,
                "balance": line.balance.unwrap_or(0),
            })),
            Record::Service => {
                if let Some(tariff) = &line.tariff_id {
                    *self.tariffs.entry(tariff.clone()).or_default() += 1;
                }
                if line.renewal_price != line.list_price {
                    self.special_prices.push(serde_json::json!({
                        "whmcs_id": line.whmcs_id,
                        "tariff_id": line.tariff_id,
                        "renewal_price": line.renewal_price,
                        "list_price": line.list_price,
                    }));
                }
            }
        }
    }

    pub fn errors(&self) -> u64 {
        self.clients.get(&Verdict::Error).copied().unwrap_or(0)
            + self.services.get(&Verdict::Error).copied().unwrap_or(0)
    }
}

/// The id a service imported from WHMCS record `whmcs_id` gets: a ULID of its registration day
/// (so lists sort it among the services of its time) and a hash of the record, the same for
/// every attempt of one import.
pub fn service_id(whmcs_id: u64, regdate: &str, import_id: &str) -> ServiceId {
    ServiceId::derived(whmcs::midnight(regdate, "Z"), &format!("{SOURCE}/{import_id}/{whmcs_id}"))
}

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Taking files; previewed as often as asked.
    Staged,
    /// Being written, a page at a time.
    Applying,
    Done,
}

/// A preview's phase: the clients' lines first (the services' need them), then the services'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewPhase {
    Clients,
    Services,
    Done,
}

/// How far the preview of the files' version `of_files` has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewProgress {
    pub of_files: u32,
    pub phase: PreviewPhase,
    /// The last WHMCS id of the phase's kind done.
    pub after: Option<u64>,
    /// The chunks of lines written, and how many of them are the clients'.
    pub chunks: u32,
    pub client_chunks: u32,
    pub lines: u64,
}

impl PreviewProgress {
    pub fn start(of_files: u32) -> Self {
        Self { of_files, phase: PreviewPhase::Clients, after: None, chunks: 0, client_chunks: 0, lines: 0 }
    }
}

/// How far the apply has come: the next line is line `offset` of chunk `chunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyProgress {
    pub skip_errors: bool,
    pub started_by: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub chunk: u32,
    pub offset: u32,
    pub done: BTreeMap<Verdict, u64>,
    /// Records the apply could not write (changed here since the preview), the last few.
    pub failed: u64,
    pub failures: Vec<String>,
}

/// The failures an import keeps in words.
pub const MAX_FAILURES_KEPT: usize = 20;

impl ApplyProgress {
    /// A line the apply wrote (or passed: `skip`, `error`).
    pub fn count(&mut self, verdict: Verdict) {
        *self.done.entry(verdict).or_default() += 1;
    }

    pub fn fail(&mut self, record: Record, whmcs_id: u64, why: &str) {
        self.failed += 1;
        if self.failures.len() == MAX_FAILURES_KEPT {
            self.failures.remove(0);
        }
        let kind = match record {
            Record::Client => "client",
            Record::Service => "service",
        };
        self.failures.push(format!("{kind} {whmcs_id}: {why}"));
    }
}

/// An import: its mapping, its files' version (raised by each upload), its preview and apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub id: String,
    pub source: String,
    pub mapping: Mapping,
    pub status: ImportStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    pub files_version: u32,
    pub preview: Option<PreviewProgress>,
    pub apply: Option<ApplyProgress>,
    pub version: u64,
}

impl Import {
    /// Whether the preview is done for the files as they are.
    pub fn previewed(&self) -> bool {
        self.preview
            .as_ref()
            .is_some_and(|p| p.of_files == self.files_version && p.phase == PreviewPhase::Done)
    }
}

/// An uploaded file, as its import lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFile {
    pub name: String,
    pub kind: String,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
    pub uploaded_at: Timestamp,
}

/// The most an uploaded file may weigh.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// Whether `name` may name a file: 1 to 100 letters, digits, `.`, `_` or `-`.
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;
    use crate::domain::paid_time::{unused_after, StretchKind};
    use crate::domain::Role;

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-01T12:00:00Z").unwrap()
    }

    fn mapping() -> Mapping {
        serde_json::from_value(serde_json::json!({
            "products": {"1": "vps-start"},
            "configoptions": {"4": "ip"},
            "servers": {"2": "vps"},
            "customfields": ["9"],
            "clients": {"prefix": "whmcs-"},
            "currencies": {"USD": 2},
        }))
        .unwrap()
    }

    fn client(id: u64, currency: &str, credit: &str) -> whmcs::Client {
        whmcs::Client {
            id,
            email: "a@example.com".into(),
            currency_code: currency.into(),
            credit: credit.into(),
            details: true,
        }
    }

    fn product(edit: impl FnOnce(&mut Product)) -> Product {
        let mut p = Product {
            id: 70,
            client_id: 3,
            pid: "1".into(),
            name: "VPS".into(),
            group_name: "Servers".into(),
            domain: "a.example".into(),
            regdate: "2025-01-10".into(),
            next_due_date: "2027-01-10".into(),
            billing_cycle: "Annually".into(),
            recurring_amount: "90.00".into(),
            first_payment_amount: "90.00".into(),
            status: "Active".into(),
            suspension_reason: String::new(),
            username: "alice".into(),
            dedicated_ip: "192.0.2.7".into(),
            assigned_ips: "192.0.2.8\n192.0.2.9".into(),
            server_id: "2".into(),
            config_options: Vec::new(),
            custom_fields: Vec::new(),
        };
        edit(&mut p);
        p
    }

    struct World {
        mapping: Mapping,
        tariffs: HashMap<TariffId, Tariff>,
        clients: HashMap<u64, Line>,
    }

    fn world() -> World {
        let mapping = mapping();
        let tariff = sample_tariff();
        let clients = HashMap::from([(3, client_line(3, &[client(3, "USD", "12.50")], &mapping, None))]);
        World { tariffs: HashMap::from([(tariff.id.clone(), tariff)]), mapping, clients }
    }

    fn line_of(p: &Product, w: &World, link: Option<&Link>) -> Line {
        service_line(
            p,
            &Context { mapping: &w.mapping, tariffs: &w.tariffs, clients: &w.clients, now: now() },
            link,
        )
    }

    fn plan_of(p: &Product, w: &World) -> Plan {
        plan(p, &Context { mapping: &w.mapping, tariffs: &w.tariffs, clients: &w.clients, now: now() }, None)
            .unwrap()
    }

    fn writer(actor: &Actor) -> Writer<'_> {
        Writer { actor, import_id: "imp", now: now() }
    }

    fn provider() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    #[test]
    fn a_client_brings_its_credit_once() {
        let m = mapping();
        let line = client_line(3, &[client(3, "USD", "12.50")], &m, None);
        assert_eq!(
            (line.action, line.balance, line.client_id.as_ref().map(|c| c.as_str())),
            (Verdict::Create, Some(1250), Some("whmcs-3"))
        );
        let yen_mapping = Mapping { currencies: BTreeMap::from([("JPY".into(), 0)]), ..mapping() };
        let yen = client_line(4, &[client(4, "JPY", "1500")], &yen_mapping, None);
        assert_eq!(yen.balance, Some(1500), "JPY has no minor unit");
        let link = Link {
            client_id: ClientId::parse("whmcs-3").unwrap(),
            service_id: None,
            import_id: "old".into(),
            balance: 1250,
        };
        let again = client_line(3, &[client(3, "USD", "99.00")], &m, Some(&link));
        assert_eq!((again.action, again.balance), (Verdict::Update, Some(0)), "never credited twice");
        let errors = [
            client_line(5, &[whmcs::Client { details: false, ..client(5, "", "") }], &m, None),
            client_line(5, &[client(5, "EUR", "1.00")], &m, None),
            client_line(5, &[client(5, "USD", "1.005")], &m, None),
            client_line(5, &[client(5, "USD", "-1.00")], &m, None),
        ];
        for e in &errors {
            assert_eq!(e.action, Verdict::Error, "{e:?}");
        }
        let mut table = mapping();
        table.clients =
            ClientMapping::Table(BTreeMap::from([("3".into(), ClientId::parse("alice").unwrap())]));
        assert_eq!(
            client_line(3, &[client(3, "USD", "0")], &table, None).client_id.unwrap().as_str(),
            "alice"
        );
        assert_eq!(client_line(9, &[client(9, "USD", "0")], &table, None).action, Verdict::Error, "no row");
    }

    #[test]
    fn every_field_of_an_active_service_is_brought_in() {
        let w = world();
        let p = product(|p| {
            p.config_options = vec![
                whmcs::Field {
                    id: "4".into(),
                    name: "Extra IP".into(),
                    kind: "quantity".into(),
                    value: "2".into(),
                },
                whmcs::Field {
                    id: "5".into(),
                    name: "OS".into(),
                    kind: "dropdown".into(),
                    value: "Debian".into(),
                },
            ];
            p.custom_fields = vec![whmcs::Field {
                id: "9".into(),
                name: "Purpose".into(),
                kind: String::new(),
                value: "web".into(),
            }];
        });
        let plan = plan_of(&p, &w);
        let actor = provider();
        let (service, entry) = plan.create(service_id(70, &p.regdate, "imp"), &writer(&actor));
        assert_eq!(service.status, Status::Active);
        assert_eq!(service.client_id.as_str(), "whmcs-3");
        assert_eq!(
            service.expires_at,
            Timestamp::parse("2027-01-10T00:00:00Z"),
            "nextduedate exactly, midnight UTC"
        );
        assert_eq!(
            (service.period_months, service.auto_renew.enabled, service.auto_renew.period_months),
            (12, true, 12)
        );
        assert_eq!(service.renewal_price, 9000);
        assert_eq!(service.options, vec![OptionLine { id: "ip".into(), quantity: 2 }]);
        assert_eq!(service.params["domain"], "a.example");
        assert_eq!(service.params["username"], "alice");
        assert_eq!(service.params["dedicated_ip"], "192.0.2.7");
        assert_eq!(service.params["assigned_ips"], "192.0.2.8, 192.0.2.9");
        assert_eq!(service.params["configoption_5"], "OS: Debian", "unmapped, kept");
        assert_eq!(service.params["customfield_9"], "Purpose: web");
        assert!(service.paid && service.order_price == 0);
        // The sample tariff sells 12 months at 5000 and an IP at 100 a month: 5000 + 2400.
        assert_eq!(plan.list_price(), 7400);
        assert!(service.special_price && service.special == Some(SpecialPrice { price: 9000, months: 12 }));
        assert_eq!(super::super::paid_time::total(&service.renewal_lines), 9000);
        let record = &service.paid_time;
        assert_eq!(record.len(), 1);
        assert!(record[0].imported && record[0].kind == StretchKind::Paid);
        assert_eq!(record[0].from, Timestamp::parse("2026-01-10T00:00:00Z").unwrap());
        assert_eq!(record[0].amount(), 9000, "the period WHMCS was paid for, at what was paid");
        // 39 whole days of the period's 365 are left after now (Dec 1, noon): 9000 * 39 / 365.
        assert_eq!(unused_after(record, now()), 961, "credited as any paid time");
        assert_eq!(entry.operation, Action::Imported);
        assert_eq!(
            (entry.details["whmcs_id"].as_u64(), entry.details["source"].as_str()),
            (Some(70), Some("whmcs"))
        );
        assert_eq!(entry.status_before, None);
    }

    #[test]
    fn statuses_and_cycles_become_ours_or_are_said_why_not() {
        let w = world();
        let line = |edit: fn(&mut Product)| line_of(&product(edit), &w, None);
        let actor = provider();
        let suspended = plan_of(
            &product(|p| {
                p.status = "Suspended".into();
                p.suspension_reason = "Overdue".into();
            }),
            &w,
        );
        let (s, e) = suspended.create(service_id(70, "", "imp"), &writer(&actor));
        assert_eq!((s.status, s.holds.clone()), (Status::SuspendedByAdmin, vec![Hold::Admin]));
        assert_eq!(e.details["reason"], "Overdue");
        let pending = plan_of(
            &product(|p| {
                p.status = "Pending".into();
                p.first_payment_amount = "95.00".into();
            }),
            &w,
        );
        let (s, _) = pending.create(service_id(70, "", "imp"), &writer(&actor));
        assert_eq!((s.status, s.paid, s.order_price, s.expires_at), (Status::Ordered, false, 9500, None));
        assert!(s.paid_time.is_empty());
        let free = plan_of(
            &product(|p| {
                p.billing_cycle = "Free Account".into();
                p.next_due_date = "0000-00-00".into();
                p.recurring_amount = "0.00".into();
            }),
            &w,
        );
        let (s, _) = free.create(service_id(70, "", "imp"), &writer(&actor));
        assert_eq!(
            (s.renewal_price, s.special_price, s.auto_renew.enabled, s.expires_at),
            (0, true, false, None)
        );
        for (edit, action, why) in [
            (
                (|p: &mut Product| p.status = "Terminated".into()) as fn(&mut Product),
                Verdict::Skip,
                "Terminated",
            ),
            (|p| p.status = "Cancelled".into(), Verdict::Skip, "Cancelled"),
            (|p| p.status = "Fraud".into(), Verdict::Skip, "Fraud"),
            (|p| p.billing_cycle = "One Time".into(), Verdict::Skip, "one-time"),
            (|p| p.billing_cycle = "Weekly".into(), Verdict::Error, "billing cycle"),
            (|p| p.pid = "99".into(), Verdict::Error, "pid"),
            (|p| p.recurring_amount = "12,00".into(), Verdict::Error, "recurringamount"),
            (|p| p.next_due_date = "0000-00-00".into(), Verdict::Error, "due date missing"),
            (|p| p.client_id = 77, Verdict::Error, "client 77 unknown"),
            (|p| p.server_id = "8".into(), Verdict::Error, "server"),
        ] {
            let l = line(edit);
            assert_eq!(l.action, action, "{l:?}");
            assert!(l.reason.as_deref().unwrap_or_default().contains(why), "{l:?}");
        }
        assert_eq!(
            line(|p| p.server_id = "0".into()).action,
            Verdict::Create,
            "no server: the tariff's type"
        );
    }

    #[test]
    fn an_update_moves_the_due_date_on_and_never_back_nor_to_another_client() {
        let w = world();
        let actor = provider();
        let first = plan_of(&product(|_| {}), &w);
        let (service, _) = first.create(service_id(70, "", "imp"), &writer(&actor));
        // A year later in WHMCS: paid again, at a new price, suspended.
        let newer = plan_of(
            &product(|p| {
                p.next_due_date = "2028-01-10".into();
                p.recurring_amount = "100.00".into();
                p.status = "Suspended".into();
            }),
            &w,
        );
        let (next, entry) = newer.update(&service, &writer(&actor)).unwrap();
        assert_eq!(next.id, service.id);
        assert_eq!(next.version, service.version + 1);
        assert_eq!(next.expires_at, Timestamp::parse("2028-01-10T00:00:00Z"));
        assert_eq!((next.renewal_price, next.status), (10_000, Status::SuspendedByAdmin));
        assert_eq!(next.paid_time.len(), 2);
        assert_eq!(next.paid_time[1].from, service.expires_at.unwrap());
        assert_eq!(next.paid_time[1].amount(), 10_000, "one more period, at its price");
        assert_eq!(
            (entry.status_before, entry.details["result"].as_str()),
            (Some(Status::Active), Some("updated"))
        );
        // An older export: the due date here is kept.
        let older = plan_of(&product(|p| p.next_due_date = "2026-06-10".into()), &w);
        let (kept, _) = older.update(&next, &writer(&actor)).unwrap();
        assert_eq!(kept.expires_at, next.expires_at);
        assert_eq!(kept.paid_time, next.paid_time, "no paid time taken back");
        assert_eq!(kept.status, Status::Active, "the administrator's suspension lifted, as in WHMCS");
        let mut other = next.clone();
        other.client_id = ClientId::parse("someone-else").unwrap();
        assert!(newer.update(&other, &writer(&actor)).unwrap_err().contains("never moves"));
        let link = Link {
            client_id: ClientId::parse("someone-else").unwrap(),
            service_id: Some(service.id.clone()),
            import_id: "old".into(),
            balance: 0,
        };
        assert_eq!(line_of(&product(|_| {}), &w, Some(&link)).action, Verdict::Error, "nor in the preview");
        let mut busy = next.clone();
        busy.status = Status::InProgress;
        assert!(newer.update(&busy, &writer(&actor)).is_err());
    }

    #[test]
    fn the_summary_counts_what_would_be_written() {
        let w = world();
        let mut summary = Summary::default();
        summary.add(&w.clients[&3]);
        summary.add(&line_of(&product(|_| {}), &w, None));
        summary.add(&line_of(&product(|p| p.pid = "99".into()), &w, None));
        assert_eq!(summary.errors(), 1);
        assert_eq!(
            summary.balances,
            vec![serde_json::json!({"whmcs_id": 3, "client_id": "whmcs-3", "balance": 1250})]
        );
        assert_eq!(summary.tariffs.get(&TariffId::parse("vps-start").unwrap()), Some(&1));
        assert_eq!(summary.special_prices.len(), 1);
    }

    #[test]
    fn a_mapping_is_checked_whole() {
        assert_eq!(mapping().check(), Ok(()));
        let bad = |edit: fn(&mut Mapping)| {
            let mut m = mapping();
            edit(&mut m);
            m.check().is_err()
        };
        assert!(bad(|m| m.products.clear()));
        assert!(bad(|m| {
            m.products.insert("x".into(), TariffId::parse("vps-start").unwrap());
        }));
        assert!(bad(|m| {
            m.currencies.insert("usd".into(), 2);
        }));
        assert!(bad(|m| m.currencies = BTreeMap::from([("EUR".into(), 9)])));
        assert!(
            bad(|m| {
                m.currencies.insert("EUR".into(), 2);
            }),
            "one currency: balances hold none"
        );
        assert!(bad(|m| m.zone = Some("Europe/Moscow".into())));
        assert!(bad(|m| {
            m.configoptions.insert("4".into(), "Not A Slug".into());
        }));
        let exact: Result<Mapping, _> = serde_json::from_value(serde_json::json!({
            "products": {}, "clients": {"prefix": "x", "table": {}}, "currencies": {}
        }));
        assert!(exact.is_err(), "one way of mapping clients");
    }
    #[test]
    fn a_first_period_is_recorded_at_what_was_paid_for_it_over_the_whole_period() {
        let w = world();
        let actor = provider();
        // Registered within the current period at a first price of 30.00; renews at 90.00.
        let p = product(|p| {
            p.regdate = "2026-03-01".into();
            p.first_payment_amount = "30.00".into();
        });
        let (service, _) = plan_of(&p, &w).create(service_id(70, &p.regdate, "imp"), &writer(&actor));
        let stretch = &service.paid_time[0];
        assert_eq!(stretch.amount(), 3000, "credited from what was paid, never the renewal price");
        assert_eq!(stretch.span_days, 365, "a whole period's price over the period's days");
        // Registered before the period: it was renewed at the recurring amount.
        let (renewed, _) = plan_of(&product(|_| {}), &w).create(service_id(70, "", "imp"), &writer(&actor));
        assert_eq!(renewed.paid_time[0].amount(), 9000);
        // An extension by a month is priced as its share of its period, over the period's days.
        let newer = plan_of(&product(|p| p.next_due_date = "2027-02-10".into()), &w);
        let (next, _) = newer.update(&renewed, &writer(&actor)).unwrap();
        let added = &next.paid_time[1];
        assert_eq!(
            (added.from, added.to),
            (renewed.expires_at.unwrap(), Timestamp::parse("2027-02-10T00:00:00Z").unwrap())
        );
        // 31 days of 2026-02-10..2027-02-10 (365 days) of 9000: 764.38, rounded down.
        assert_eq!(added.amount(), 764);
        assert_eq!(added.span_days, 365);
    }

    #[test]
    fn what_billing_does_here_is_not_overwritten_by_an_export() {
        let w = world();
        let actor = provider();
        let (service, _) = plan_of(&product(|_| {}), &w).create(service_id(70, "", "imp"), &writer(&actor));
        let newer = plan_of(&product(|p| p.next_due_date = "2027-02-10".into()), &w);
        let mut lapsed = service.clone();
        lapsed.holds = vec![Hold::NonPayment];
        assert!(newer.update(&lapsed, &writer(&actor)).unwrap_err().contains("lapsed"));
        let mut leaving = service.clone();
        leaving.delete_at = Some(now());
        assert!(newer.update(&leaving, &writer(&actor)).is_err());
        let mut waiting = service.clone();
        waiting.status = Status::NotAvailable;
        assert!(newer.update(&waiting, &writer(&actor)).is_err());
        // Gone in WHMCS after it was imported: an error to act on, not a skip.
        let link = Link {
            client_id: ClientId::parse("whmcs-3").unwrap(),
            service_id: Some(service.id.clone()),
            import_id: "old".into(),
            balance: 0,
        };
        let gone = line_of(&product(|p| p.status = "Terminated".into()), &w, Some(&link));
        assert_eq!(gone.action, Verdict::Error, "{gone:?}");
        assert!(gone.reason.unwrap().contains("delete it here"));
        // A due date already past is said.
        let overdue = line_of(&product(|p| p.next_due_date = "2026-11-20".into()), &w, None);
        assert_eq!(overdue.action, Verdict::Create);
        assert!(overdue.reason.unwrap().contains("overdue since 2026-11-20"));
        // A free account never lapses, whatever date WHMCS shows; its custom fields are kept
        // only when the mapping names them.
        let free = plan_of(
            &product(|p| {
                p.billing_cycle = "Free Account".into();
                p.custom_fields = vec![whmcs::Field {
                    id: "8".into(),
                    name: "Root password".into(),
                    kind: String::new(),
                    value: "hunter2".into(),
                }];
            }),
            &w,
        );
        assert_eq!(free.expires_at, None);
        assert!(!free.params.values().any(|v| v.contains("hunter2")), "a custom field not named stays out");
    }
    #[test]
    fn a_cycle_to_or_from_free_turns_auto_renewal_with_it_and_a_zone_keeps_whmcs_day() {
        let w = world();
        let actor = provider();
        let free = |p: &mut Product| {
            p.billing_cycle = "Free Account".into();
            p.recurring_amount = "0.00".into();
        };
        let (was_free, _) = plan_of(&product(free), &w).create(service_id(70, "", "imp"), &writer(&actor));
        assert!(!was_free.auto_renew.enabled);
        let (paid_now, _) = plan_of(&product(|_| {}), &w).update(&was_free, &writer(&actor)).unwrap();
        assert!(paid_now.auto_renew.enabled, "renewed as WHMCS renews it");
        let (free_again, _) = plan_of(&product(free), &w).update(&paid_now, &writer(&actor)).unwrap();
        assert!(!free_again.auto_renew.enabled && free_again.renewal_price == 0);
        // Midnight at +03:00 is 21:00 UTC the day before: renewals still fall on WHMCS's day.
        let mut east = world();
        east.mapping.zone = Some("+03:00".into());
        let p = product(|p| p.next_due_date = "2027-03-01".into());
        let (service, _) = plan_of(&p, &east).create(service_id(70, "", "imp"), &writer(&actor));
        assert_eq!(service.expires_at, Timestamp::parse("2027-02-28T21:00:00Z"));
        assert_eq!(service.anchor_day, Some(1));
    }
}
