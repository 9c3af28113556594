//! The key design of the one table, in one place.
//!
//! | item              | pk                  | sk                | GSI keys                                   |
//! |-------------------|---------------------|-------------------|--------------------------------------------|
//! | product type      | `CATALOG`           | `PTYPE#{type}`    |                                            |
//! | tariff            | `CATALOG`           | `TARIFF#{id}`     | by_type: `TARIFFS#{type}` / `TARIFF#{id}`  |
//! | service           | `SVC#{id}`          | `META`            | by_owner: `CLIENT#{client}` / `SVC#{id}`   |
//! |                   |                     |                   | by_type: `TYPE#{type}` / `SVC#{id}`        |
//! |                   |                     |                   | by_status: `STATUS#{status}` / `SVC#{id}`  |
//! |                   |                     |                   | all: `SERVICES` / `SVC#{id}`               |
//! | history entry     | `SVC#{id}`          | `HIST#{entry id}` |                                            |
//! | account           | `ACCT#{client}`     | `ACCOUNT`         |                                            |
//! | ledger entry      | `ACCT#{client}`     | `LEDGER#{id}`     |                                            |
//! | payment           | `PAY#{id}`          | `META`            |                                            |
//! | gateway reference | `EXTPAY#{external}` | `META`            | (makes an external payment id unique)      |
//! | ticket            | `TICKET#{id}`       | `META`            | by_owner: `CLIENT#{client}` / `TICKET#{id}`|
//! |                   |                     |                   | by_type: `SVCTICKETS#{service}` / same     |
//! |                   |                     |                   | all: `TICKETS` / same                      |
//! | idempotency record| `IDEM#{principal}#{key}` | `IDEM`       | (TTL attribute `ttl_at`)                   |
//! | reminder sent     | `SVC#{id}`          | `REMINDER#{kind}#{due}#{days}` | (TTL: gone after its due date)|
//! | job checkpoint    | `JOB#{job}`         | `WALK#{walk}`     | `through`: the index sort key reached      |
//! | notification prefs| `NOTIFY#{client}`   | `SETTINGS`        |                                            |
//! | notification      | `NOTIFY#{client}`   | `SENT#{event id}` | (one per event and client)                 |
//! | tickets a day     | `TICKETS#{client}`  | `DAY#{YYYY-MM-DD}`| `count` (TTL: gone the day after)          |
//! | e-mails an hour   | `EMAILS#{client}`   | `HOUR#{YYYY-MM-DDTHH}` | `count` (TTL: gone the hour after)    |
//! | confirmations a day | `EMAILS#{client}` | `CONFIRM#{YYYY-MM-DD}` | `count` (TTL: gone the day after)     |
//! | panel sign-ins a minute | `PANELSSO#{service}` | `LOG`   | `times`, `version` (TTL: a minute after the newest) |
//! | panel places      | `BULKPANEL#{digest}`| `UNDER_WAY`       | `places` (`{bulk id}#{seq}`), `waiting` (ids) |
//! | e-mail template   | `TEMPLATE#{kind}`   | `META`            | (the provider's; the default is built in)  |
//! | reconciliation    | `RECON#{id}`        | `META`            | all: `RECONCILIATIONS` / `RECON#{id}`      |
//! | its snapshot      | `RECON#{id}`        | `SNAP#{type}#{n}` | (service versions before the panel's read) |
//! | accounts it saw   | `RECON#{id}`        | `SEEN#{type}#{n}` | (our ids the panel listed, a page each)    |
//! | drift item        | `RECON#{id}`        | `ITEM#{item id}`  |                                            |
//! | import            | `IMPORT#{id}`       | `META`            | all: `IMPORTS` / `IMPORT#{id}`             |
//! | its file          | `IMPORT#{id}`       | `FILE#{name}`     |                                            |
//! | its record        | `IMPORT#{id}`       | `REC#C#{whmcs id}#{D or L}`, `REC#S#{whmcs id}` (ids 20 digits) |   |
//! | its preview       | `IMPORT#{id}`       | `LINES#{files version}#{n}` | (a chunk of lines, in order)     |
//! | imported record   | `WHMCS#{C or S}#{whmcs id}` | `LINK`    | (what an import made of it)                |
//! | ACME account      | `ACME#{type}`       | `ACCOUNT#{digest of directory and EAB key id}` |               |
//! | bulk operation    | `BULK#{id}`         | `META`            | all: `BULKS` / `BULK#{id}`; while carried on, gsi3: `BULKS#UNDER_WAY` / `BULK#{id}` |
//! | its service       | `BULK#{id}`         | `ITEM#{seq, 6 digits}` | (in the order they are taken)         |
//!
//! The sparse schedule indexes: renewal `RENEW#{type}` / `{expires_at}#{id}` (auto-renewal on)
//! and `MANUAL#{type}` / `{lapses_at}#{id}` (off); lapse `EXPIRES`,
//! `PURGE#{type}` and `PENDING`; abuse `ABUSE#{type}` / score; attention `ATTENTION` /
//! `{failed_at}#{id}`.
//!
//! A service and its history share a partition, so a service's history is one Query and a
//! status change with its history entry is one transaction. Ids are ULIDs, so every `SVC#` and
//! `HIST#` sort key sorts by creation time. Lists walk an index newest first; the index is
//! chosen by the most selective filter and the rest are filter expressions.

use crate::domain::lifecycle::Hold;
use crate::domain::{ProductType, Service, ServiceId, Status, TariffId, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The attribute DynamoDB's TTL deletes idempotency records and markers by (epoch seconds). No
/// other item has it: a service's `expires_at`, once a number, would have had DynamoDB delete
/// the service.
pub const TTL_ATTRIBUTE: &str = "ttl_at";
/// What `TTL_ATTRIBUTE` was named before: records written then are read by it until they lapse
/// (a day), since the table's TTL no longer deletes them.
pub const FORMER_TTL_ATTRIBUTE: &str = "expires_at";

/// The stamp a replacing write leaves on the item it puts (`Store::put_latest`): a ULID taken as
/// the write started. Not part of the value; `decode` leaves it out.
pub const WRITE_STAMP: &str = "write_stamp";

const CATALOG: &str = "CATALOG";
const SERVICE_SK: &str = "META";
const SERVICE_PREFIX: &str = "SVC#";
const HISTORY_PREFIX: &str = "HIST#";
const TARIFF_PREFIX: &str = "TARIFF#";
const PRODUCT_TYPE_PREFIX: &str = "PTYPE#";

/// The global secondary indexes: each has a `{name}pk` and `{name}sk` string key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// A client's services.
    ByOwner,
    /// Services, and tariffs, of one product type.
    ByType,
    /// Services in one status.
    ByStatus,
    /// Every service.
    All,
    /// Sparse: services auto-renewal may renew, by type, sorted by expiry; and services renewed
    /// by hand, by type, sorted by when they lapse.
    Renewal,
    /// Sparse: services awaiting expiry (sorted by expiry or scheduled deletion), and services
    /// suspended for non-payment awaiting deletion (by type, sorted by suspension time).
    Lapse,
    /// Sparse: services with abuse reports and no abuse suspension, by type, sorted by score.
    Abuse,
    /// Sparse: services whose latest operation failed, sorted by when (`Service::needs_attention`).
    Attention,
}

impl Index {
    pub const ALL_INDEXES: [Index; 8] = [
        Index::ByOwner,
        Index::ByType,
        Index::ByStatus,
        Index::All,
        Index::Renewal,
        Index::Lapse,
        Index::Abuse,
        Index::Attention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Index::ByOwner => "gsi1",
            Index::ByType => "gsi2",
            Index::ByStatus => "gsi3",
            Index::All => "gsi4",
            Index::Renewal => "gsi5",
            Index::Lapse => "gsi6",
            Index::Abuse => "gsi7",
            Index::Attention => "gsi8",
        }
    }

    pub fn pk(self) -> String {
        format!("{}pk", self.name())
    }

    pub fn sk(self) -> String {
        format!("{}sk", self.name())
    }
}

/// A table key: the partition and sort key of one item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    /// Whether `item` is the one at this key.
    pub fn is_of(&self, item: &Item) -> bool {
        string(item, PK) == Some(self.pk.as_str()) && string(item, SK) == Some(self.sk.as_str())
    }

    /// The key of `item` (`None` when it has no string keys).
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self { pk: string(item, PK)?.to_owned(), sk: string(item, SK)?.to_owned() })
    }

    pub fn item(&self) -> Item {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

pub fn product_type(t: ProductType) -> Key {
    Key { pk: CATALOG.into(), sk: format!("{PRODUCT_TYPE_PREFIX}{}", t.as_str()) }
}

/// The ACME account a product type holds at one authority (`account` names the directory and
/// the EAB key id, hashed).
pub fn acme_account(t: ProductType, account: &str) -> Key {
    Key { pk: format!("ACME#{}", t.as_str()), sk: format!("ACCOUNT#{account}") }
}

/// Partition and sort-key prefix under which every product type is stored.
pub fn product_types_partition() -> (String, String) {
    (CATALOG.into(), PRODUCT_TYPE_PREFIX.into())
}

pub fn tariff(id: &TariffId) -> Key {
    Key { pk: CATALOG.into(), sk: tariff_sort(id) }
}

fn tariff_sort(id: &TariffId) -> String {
    format!("{TARIFF_PREFIX}{id}")
}

pub fn tariffs_partition() -> (String, String) {
    (CATALOG.into(), TARIFF_PREFIX.into())
}

pub fn tariffs_of_type(t: ProductType) -> String {
    format!("TARIFFS#{}", t.as_str())
}

pub fn tariff_index_keys(id: &TariffId, t: ProductType) -> Item {
    HashMap::from([
        (Index::ByType.pk(), AttributeValue::S(tariffs_of_type(t))),
        (Index::ByType.sk(), AttributeValue::S(tariff_sort(id))),
    ])
}

/// Where a page of tariffs resumes: the tariff after `id`, in the table or the type index.
pub fn tariff_start(id: &TariffId, t: Option<ProductType>) -> Item {
    let mut start = tariff(id).item();
    if let Some(t) = t {
        start.extend(tariff_index_keys(id, t));
    }
    start
}

pub fn tariff_id_of(item: &Item) -> Option<TariffId> {
    string(item, SK)?.strip_prefix(TARIFF_PREFIX).and_then(TariffId::parse)
}

pub fn service(id: &ServiceId) -> Key {
    Key { pk: service_partition(id), sk: SERVICE_SK.into() }
}

fn service_partition(id: &ServiceId) -> String {
    format!("{SERVICE_PREFIX}{id}")
}

pub fn owners_services(owner: &str) -> String {
    format!("CLIENT#{owner}")
}

pub fn services_in_status(status: Status) -> String {
    format!("STATUS#{}", status.as_str())
}

pub fn services_of_type(t: ProductType) -> String {
    format!("TYPE#{}", t.as_str())
}

pub fn all_services() -> String {
    "SERVICES".into()
}

/// The index attributes of a service item: it is listed in every service index, and in the
/// sparse schedule indexes while a schedule may have work for it.
pub fn service_index_keys(service: &Service) -> Item {
    let owner = service.client_id.as_str();
    let mut keys = HashMap::new();
    let sort = service_partition(&service.id);
    let listed = [
        (Index::ByOwner, owners_services(owner)),
        (Index::ByType, services_of_type(service.product_type)),
        (Index::ByStatus, services_in_status(service.status)),
        (Index::All, all_services()),
    ];
    for (index, partition) in listed {
        keys.insert(index.pk(), AttributeValue::S(partition));
        keys.insert(index.sk(), AttributeValue::S(sort.clone()));
    }
    let mut sparse = |index: Index, partition: String, order: String| {
        keys.insert(index.pk(), AttributeValue::S(partition));
        keys.insert(index.sk(), AttributeValue::S(format!("{order}#{}", service.id)));
    };
    let at_rest = service.at_rest();
    if let (true, Some(expires_at)) = (at_rest, service.expires_at) {
        let renewable = matches!(service.status, Status::Active | Status::Suspended);
        if service.auto_renew.enabled && renewable && service.delete_at.is_none() {
            sparse(Index::Renewal, renewals(service.product_type), expires_at.to_string());
        } else if service.delete_at.is_none() && service.non_payment_since.is_none() {
            // Renewed by hand, or held by the provider or for abuse so that auto-renewal does
            // not renew it: its expiry is reminded (see `domain::reminders`).
            let lapses_at = service.lapses_at().unwrap_or(expires_at);
            sparse(Index::Renewal, manual_renewals(service.product_type), lapses_at.to_string());
        }
        match service.non_payment_since {
            Some(since) => sparse(Index::Lapse, purges(service.product_type), since.to_string()),
            None => {
                let lapses_at = service.lapses_at().unwrap_or(expires_at);
                let due = service.delete_at.map_or(lapses_at, |d| d.min(lapses_at));
                sparse(Index::Lapse, expiries(), due.to_string());
            }
        }
    }
    // A service at rest is never pending, so the pending ones share the lapse index.
    if let Some(pending) = &service.pending {
        sparse(Index::Lapse, pending_operations(), pending.started_at.to_string());
    }
    if at_rest && service.abuse_score > 0 && !service.holds.contains(&Hold::Abuse) {
        sparse(Index::Abuse, abuse_reports(service.product_type), abuse_order(service.abuse_score));
    }
    if service.needs_attention() {
        let since = service.failed_at.unwrap_or(service.created_at);
        sparse(Index::Attention, needing_attention(), since.to_string());
    }
    keys
}

/// Services whose latest operation failed, sorted by `{failed_at}#{id}`.
pub fn needing_attention() -> String {
    "ATTENTION".into()
}

/// Where a page of the attention list resumes: after `position` (`{failed_at}#{id}`, as a
/// cursor gave it back); None when it is not such a position.
pub fn attention_start(position: &str, partition: &str) -> Option<Item> {
    let (at, id) = position.split_once('#')?;
    Timestamp::parse(at)?;
    let mut start = service(&ServiceId::parse(id)?).item();
    start.insert(Index::Attention.pk(), AttributeValue::S(partition.to_owned()));
    start.insert(Index::Attention.sk(), AttributeValue::S(position.to_owned()));
    Some(start)
}

/// Services with an operation pending, whatever their status, sorted by
/// `{started_at}#{id}` (in the lapse index, which holds only services at rest otherwise).
pub fn pending_operations() -> String {
    "PENDING".into()
}

/// Services of a type auto-renewal may renew, sorted by `{expires_at}#{id}`.
pub fn renewals(t: ProductType) -> String {
    format!("RENEW#{}", t.as_str())
}

/// Services of a type renewed by hand (auto-renewal off), sorted by `{lapses_at}#{id}`.
pub fn manual_renewals(t: ProductType) -> String {
    format!("MANUAL#{}", t.as_str())
}

/// Services awaiting expiry, sorted by `{expires_at or delete_at}#{id}`.
pub fn expiries() -> String {
    "EXPIRES".into()
}

/// Services of a type suspended for non-payment, sorted by `{since}#{id}`.
pub fn purges(t: ProductType) -> String {
    format!("PURGE#{}", t.as_str())
}

/// Services of a type with abuse reports, sorted by their zero-padded score.
pub fn abuse_reports(t: ProductType) -> String {
    format!("ABUSE#{}", t.as_str())
}

pub fn abuse_order(score: u32) -> String {
    format!("{score:010}")
}

/// The sort-key bound that takes in every entry ordered at or before `at` (`{time}#{id}`).
pub fn up_to(at: Timestamp) -> String {
    format!("{at}#~")
}

/// Where a page of services resumes: the service after `id` in the given index partition.
pub fn service_start(id: &ServiceId, index: Index, partition: &str) -> Item {
    let mut start = service(id).item();
    start.insert(index.pk(), AttributeValue::S(partition.to_owned()));
    start.insert(index.sk(), AttributeValue::S(service_partition(id)));
    start
}

pub fn service_id_of(item: &Item) -> Option<ServiceId> {
    string(item, PK)?.strip_prefix(SERVICE_PREFIX).and_then(ServiceId::parse)
}

pub fn history(service: &ServiceId, entry: &crate::domain::HistoryId) -> Key {
    Key { pk: service_partition(service), sk: format!("{HISTORY_PREFIX}{entry}") }
}

pub fn history_partition(service: &ServiceId) -> (String, String) {
    (service_partition(service), HISTORY_PREFIX.into())
}

/// The range of sort keys of every history entry written from `from` to `to` (inclusive, to
/// the millisecond), in any service: entry ids are ULIDs, whose first part is the time they
/// were made.
pub fn history_written_between(from: Timestamp, to: Timestamp) -> (String, String) {
    let ulid_at = |at: Timestamp, random: u128| {
        let millis = u64::try_from(at.unix_millis()).unwrap_or_default();
        ulid::Ulid::from_parts(millis, random).to_string()
    };
    (format!("{HISTORY_PREFIX}{}", ulid_at(from, 0)), format!("{HISTORY_PREFIX}{}", ulid_at(to, u128::MAX)))
}

pub fn history_id_of(item: &Item) -> Option<crate::domain::HistoryId> {
    string(item, SK)?.strip_prefix(HISTORY_PREFIX).and_then(crate::domain::HistoryId::parse)
}

/// A client's account: `META` sorts after its ledger entries (`LEDGER#...`), so that newest
/// first the account comes first (one Query reads it with the first page of its ledger).
pub fn account(client: &str) -> Key {
    Key { pk: account_partition(client), sk: "META".into() }
}

fn account_partition(client: &str) -> String {
    format!("ACCT#{client}")
}

const LEDGER_PREFIX: &str = "LEDGER#";

pub fn ledger(client: &str, entry: &str) -> Key {
    Key { pk: account_partition(client), sk: format!("{LEDGER_PREFIX}{entry}") }
}

pub fn ledger_partition(client: &str) -> (String, String) {
    (account_partition(client), LEDGER_PREFIX.into())
}

pub fn ledger_id_of(item: &Item) -> Option<String> {
    string(item, SK)?.strip_prefix(LEDGER_PREFIX).map(str::to_owned)
}

pub fn payment(id: &str) -> Key {
    Key { pk: format!("PAY#{id}"), sk: "META".into() }
}

/// A marker that a gateway's payment reference has been recorded, by its identity (trimmed and
/// case-folded: see `payment::reference_identity`).
pub fn external_payment(external_id: &str) -> Key {
    let identity = crate::domain::payment::reference_identity(external_id);
    Key { pk: format!("EXTPAY#{identity}"), sk: "META".into() }
}

const TICKET_PREFIX: &str = "TICKET#";

pub fn ticket(id: &str) -> Key {
    Key { pk: format!("{TICKET_PREFIX}{id}"), sk: "META".into() }
}

/// The partitions a ticket is listed in: its client's, its service's, and all tickets.
pub fn ticket_index_keys(id: &str, owner: &str, service: &ServiceId) -> Item {
    let sort = AttributeValue::S(format!("{TICKET_PREFIX}{id}"));
    HashMap::from([
        (Index::ByOwner.pk(), AttributeValue::S(owners_services(owner))),
        (Index::ByOwner.sk(), sort.clone()),
        (Index::ByType.pk(), AttributeValue::S(tickets_of_service(service))),
        (Index::ByType.sk(), sort.clone()),
        (Index::All.pk(), AttributeValue::S(all_tickets())),
        (Index::All.sk(), sort),
    ])
}

pub fn ticket_sort_prefix() -> String {
    TICKET_PREFIX.into()
}

pub fn tickets_of_service(service: &ServiceId) -> String {
    format!("SVCTICKETS#{service}")
}

pub fn all_tickets() -> String {
    "TICKETS".into()
}

/// Where a page of tickets resumes in the given index partition.
pub fn ticket_start(id: &str, index: Index, partition: &str) -> Item {
    let mut start = ticket(id).item();
    start.insert(index.pk(), AttributeValue::S(partition.to_owned()));
    start.insert(index.sk(), AttributeValue::S(format!("{TICKET_PREFIX}{id}")));
    start
}

pub fn ticket_id_of(item: &Item) -> Option<String> {
    string(item, PK)?.strip_prefix(TICKET_PREFIX).map(str::to_owned)
}

/// The sort-key prefix of services in the indexes they share with tickets.
pub fn service_sort_prefix() -> String {
    SERVICE_PREFIX.into()
}

/// How many tickets a client opened on a UTC day (`YYYY-MM-DD`).
/// How many e-mails a client was sent in the hour starting `hour` (`YYYY-MM-DDTHH`).
pub fn emails_sent(client: &str, hour: &str) -> Key {
    Key { pk: format!("EMAILS#{client}"), sk: format!("HOUR#{hour}") }
}

/// How many address confirmations a client asked for on `day`.
pub fn confirmations_sent(client: &str, day: &str) -> Key {
    Key { pk: format!("EMAILS#{client}"), sk: format!("CONFIRM#{day}") }
}

pub fn tickets_opened(client: &str, day: &str) -> Key {
    Key { pk: format!("TICKETS#{client}"), sk: format!("DAY#{day}") }
}

/// The sign-ins into a service's control panel within the last minute
/// (`domain::panel_login::SignInLog`).
pub fn panel_sign_ins(service: &ServiceId) -> Key {
    Key { pk: format!("PANELSSO#{service}"), sk: "LOG".into() }
}

/// The marker that a reminder was sent: one per service, reminder kind, due date and day count.
/// Where a scheduled job's walk through an index stopped (`sweeps::reminders`).
pub fn job_checkpoint(job: &str, walk: &str) -> Key {
    Key { pk: format!("JOB#{job}"), sk: format!("WALK#{walk}") }
}

/// The partition of a job's checkpoints, and their sort key prefix.
pub fn job_checkpoints(job: &str) -> (String, String) {
    (format!("JOB#{job}"), "WALK#".into())
}

/// The walk of a checkpoint's key.
pub fn walk_of(item: &Item) -> Option<String> {
    string(item, SK)?.strip_prefix("WALK#").map(str::to_owned)
}

/// The first sort key after `key` in an index whose sort keys are `{time}#{id}` or
/// `up_to(time)`: no other key extends one of them.
pub fn after(key: &str) -> String {
    format!("{key}\u{1}")
}

pub fn reminder(service: &ServiceId, kind: &str, due: Timestamp, days: u32) -> Key {
    Key { pk: service_partition(service), sk: format!("REMINDER#{kind}#{due}#{days}") }
}

fn notifications_partition(client: &str) -> String {
    format!("NOTIFY#{client}")
}

/// A client's notification address and muted kinds.
pub fn notification_settings(client: &str) -> Key {
    Key { pk: notifications_partition(client), sk: "SETTINGS".into() }
}

const NOTIFICATION_PREFIX: &str = "SENT#";

/// A client's notification of one event (so one per event and client).
pub fn notification(client: &str, event_id: &str) -> Key {
    Key { pk: notifications_partition(client), sk: format!("{NOTIFICATION_PREFIX}{event_id}") }
}

pub fn notifications_partition_of(client: &str) -> (String, String) {
    (notifications_partition(client), NOTIFICATION_PREFIX.into())
}

pub fn notification_event_of(item: &Item) -> Option<String> {
    string(item, SK)?.strip_prefix(NOTIFICATION_PREFIX).map(str::to_owned)
}

/// The provider's template of one notification kind.
pub fn notification_template(kind: &str) -> Key {
    Key { pk: format!("TEMPLATE#{kind}"), sk: "META".into() }
}

/// One caller's record of one `Idempotency-Key`. The caller's part is escaped (`%` and `#`)
/// so that the first `#` after it ends it: a client id and a key may both hold `#`, and two
/// callers must never meet at one record. A caller without either keeps its plain key.
pub fn idempotency(principal: &str, key: &str) -> Key {
    let caller = principal.replace('%', "%25").replace('#', "%23");
    Key { pk: format!("IDEM#{caller}#{key}"), sk: "IDEM".into() }
}

fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

const RECONCILIATION_PREFIX: &str = "RECON#";
/// The sort-key prefix of a run's drift items.
pub const DRIFT_ITEM_PREFIX: &str = "ITEM#";

pub fn reconciliation(id: &str) -> Key {
    Key { pk: format!("{RECONCILIATION_PREFIX}{id}"), sk: SERVICE_SK.into() }
}

pub fn all_reconciliations() -> String {
    "RECONCILIATIONS".into()
}

/// A run's attributes in the `All` index: runs list newest first (their ids are ULIDs).
pub fn reconciliation_index_keys(id: &str) -> Item {
    all_index_keys(all_reconciliations(), &reconciliation(id))
}

/// Where a page of runs resumes: after the run `id`.
pub fn reconciliation_start(id: &str) -> Item {
    start_in_all_index(reconciliation_index_keys(id), &reconciliation(id))
}

/// The `All` index's keys of the item at `key` (its partition's id in sort order) listed in
/// `partition`.
fn all_index_keys(partition: String, key: &Key) -> Item {
    HashMap::from([
        (Index::All.pk(), AttributeValue::S(partition)),
        (Index::All.sk(), AttributeValue::S(key.pk.clone())),
    ])
}

/// Where a page of the `All` index resumes: after the item at `key`, whose index keys are `index_keys`.
fn start_in_all_index(index_keys: Item, key: &Key) -> Item {
    let mut start = key.item();
    start.extend(index_keys);
    start
}

/// One chunk of a run's snapshot (`part` `SNAP`) or seen accounts (`SEEN`) of a type.
pub fn reconciliation_chunk(run: &str, part: &str, product_type: ProductType, n: u32) -> Key {
    Key {
        pk: format!("{RECONCILIATION_PREFIX}{run}"),
        sk: format!("{}{n:06}", reconciliation_chunk_prefix(part, product_type)),
    }
}

pub fn reconciliation_chunk_prefix(part: &str, product_type: ProductType) -> String {
    format!("{part}#{}#", product_type.as_str())
}

pub fn drift_item(run: &str, id: &str) -> Key {
    Key { pk: format!("{RECONCILIATION_PREFIX}{run}"), sk: format!("{DRIFT_ITEM_PREFIX}{id}") }
}

pub fn drift_item_id_of(item: &Item) -> Option<String> {
    string(item, SK)?.strip_prefix(DRIFT_ITEM_PREFIX).map(str::to_owned)
}

const IMPORT_PREFIX: &str = "IMPORT#";

pub fn import(id: &str) -> Key {
    Key { pk: format!("{IMPORT_PREFIX}{id}"), sk: SERVICE_SK.into() }
}

pub fn all_imports() -> String {
    "IMPORTS".into()
}

/// An import's attributes in the `All` index: imports list newest first (their ids are ULIDs).
pub fn import_index_keys(id: &str) -> Item {
    all_index_keys(all_imports(), &import(id))
}

/// Where a page of imports resumes: after the import `id`.
pub fn import_start(id: &str) -> Item {
    start_in_all_index(import_index_keys(id), &import(id))
}

pub const IMPORT_FILE_PREFIX: &str = "FILE#";

pub fn import_file(import: &str, name: &str) -> Key {
    Key { pk: format!("{IMPORT_PREFIX}{import}"), sk: format!("{IMPORT_FILE_PREFIX}{name}") }
}

/// The sort-key prefix of an import's records of a kind: `C` (clients) or `S` (services).
pub fn import_records_prefix(kind: char) -> String {
    format!("REC#{kind}#")
}

/// A staged record: a service (`S`), or a client's list entry (`C`, `L`) or details (`C`, `D`).
/// Its WHMCS id in 20 digits, so that records sort by it.
pub fn import_record(import: &str, kind: char, whmcs_id: u64, part: Option<char>) -> Key {
    let part = part.map(|p| format!("#{p}")).unwrap_or_default();
    Key {
        pk: format!("{IMPORT_PREFIX}{import}"),
        sk: format!("{}{whmcs_id:020}{part}", import_records_prefix(kind)),
    }
}

/// A chunk of an import's preview lines, of the preview of its files' version `version`.
pub fn import_lines(import: &str, version: u32, n: u32) -> Key {
    Key { pk: format!("{IMPORT_PREFIX}{import}"), sk: format!("{}{n:06}", import_lines_prefix(version)) }
}

pub fn import_lines_prefix(version: u32) -> String {
    format!("LINES#{version:06}#")
}

/// What an import made of a WHMCS record of a kind (`C` or `S`).
pub fn import_link(kind: char, whmcs_id: u64) -> Key {
    Key { pk: format!("WHMCS#{kind}#{whmcs_id}"), sk: "LINK".into() }
}

const BULK_PREFIX: &str = "BULK#";
pub const BULK_ITEM_PREFIX: &str = "ITEM#";

pub fn bulk_operation(id: &str) -> Key {
    Key { pk: format!("{BULK_PREFIX}{id}"), sk: SERVICE_SK.into() }
}

pub fn all_bulk_operations() -> String {
    "BULKS".into()
}

/// A bulk operation's attributes in the `All` index: newest first (their ids are ULIDs).
pub fn bulk_operation_index_keys(id: &str) -> Item {
    all_index_keys(all_bulk_operations(), &bulk_operation(id))
}

/// Sparse: the bulk operations being carried on, oldest first (what the
/// `carry-on-bulk-operations` job walks, instead of every bulk operation ever made).
pub fn bulk_operations_under_way() -> String {
    "BULKS#UNDER_WAY".into()
}

/// A bulk operation's attributes in the `ByStatus` index while it is carried on.
pub fn bulk_operation_under_way_keys(id: &str) -> Item {
    HashMap::from([
        (Index::ByStatus.pk(), AttributeValue::S(bulk_operations_under_way())),
        (Index::ByStatus.sk(), AttributeValue::S(bulk_operation(id).pk)),
    ])
}

/// The id of a bulk operation from its partition key (`BULK#{id}`).
pub fn bulk_operation_id_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(BULK_PREFIX)
}

/// Where a page of bulk operations resumes: after the one `id`.
pub fn bulk_operation_start(id: &str) -> Item {
    start_in_all_index(bulk_operation_index_keys(id), &bulk_operation(id))
}

/// The bulk operations' services under way on one panel (`panel`, its URL), whatever bulk
/// operation took them: what the per-panel bound counts.
pub fn bulk_panel(panel: &str) -> Key {
    let digest = crate::domain::ids::sha256_hex(panel.as_bytes());
    Key { pk: format!("BULKPANEL#{}", &digest[..32]), sk: "UNDER_WAY".into() }
}

/// A bulk operation's service `seq` (0-based, in the order they are taken).
pub fn bulk_item(id: &str, seq: u32) -> Key {
    Key { pk: format!("{BULK_PREFIX}{id}"), sk: format!("{BULK_ITEM_PREFIX}{seq:06}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered_service(id: &ServiceId) -> Service {
        let service = crate::domain::order::sample_service(Timestamp::from_unix_millis(0));
        Service { id: id.clone(), ..service }
    }

    #[test]
    fn no_two_callers_share_an_idempotency_record() {
        // A client id may hold `#`, and so may a key: `alice#k` with key `1` is not `alice`
        // with key `k#1`.
        assert_ne!(idempotency("client:alice#k", "1").pk, idempotency("client:alice", "k#1").pk);
        assert_ne!(idempotency("client:a%23b", "1").pk, idempotency("client:a#b", "1").pk);
        // A caller without `#` or `%` keeps the key it had, so stored records still answer.
        assert_eq!(idempotency("client:alice", "k#1").pk, "IDEM#client:alice#k#1");
    }

    #[test]
    fn schedule_indexes_hold_only_services_a_schedule_may_act_on() {
        let id = ServiceId::generate();
        let expires = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let active = Service {
            status: Status::Active,
            expires_at: Some(expires),
            net_paid: Some(0),
            ..ordered_service(&id)
        };
        let keys = service_index_keys(&active);
        assert_eq!(keys["gsi5pk"].as_s().unwrap(), "RENEW#vps");
        assert_eq!(keys["gsi5sk"].as_s().unwrap(), &format!("2026-12-01T00:00:00.000Z#{id}"));
        assert_eq!(keys["gsi6pk"].as_s().unwrap(), "EXPIRES");
        assert!(!keys.contains_key("gsi7pk"));
        let lapsed = Service {
            status: Status::TemporarilySuspended,
            holds: vec![Hold::NonPayment],
            non_payment_since: Some(expires),
            abuse_score: 5,
            ..active.clone()
        };
        let keys = service_index_keys(&lapsed);
        assert!(!keys.contains_key("gsi5pk"), "not renewed automatically");
        assert_eq!(keys["gsi6pk"].as_s().unwrap(), "PURGE#vps");
        assert_eq!(keys["gsi7sk"].as_s().unwrap(), &format!("0000000005#{id}"));
        assert!(up_to(expires) > keys["gsi6sk"].as_s().unwrap().clone());
        let by_hand = Service {
            auto_renew: crate::domain::AutoRenew { enabled: false, period_months: 1 },
            ..active.clone()
        };
        let keys = service_index_keys(&by_hand);
        assert_eq!(keys["gsi5pk"].as_s().unwrap(), "MANUAL#vps", "its expiry is reminded");
        assert_eq!(keys["gsi5sk"].as_s().unwrap(), &format!("2026-12-01T00:00:00.000Z#{id}"));
        let deleted = Service { status: Status::Deleted, ..active };
        assert_eq!(service_index_keys(&deleted).len(), 8);
    }

    #[test]
    fn a_pending_operation_is_listed_whatever_the_status_it_keeps() {
        let id = ServiceId::generate();
        let expires = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let active = Service {
            status: Status::Active,
            expires_at: Some(expires),
            net_paid: Some(0),
            ..ordered_service(&id)
        };
        let actor = crate::domain::history::Actor { id: "alice".into(), role: crate::domain::Role::Client };
        let ip = vec![crate::domain::OptionLine { id: "ip".into(), quantity: 1 }];
        let tariff = crate::domain::catalog::sample_tariff();
        let (change, _) = active.change_options(&tariff, ip, &actor, expires.plus_seconds(-86_400)).unwrap();
        assert_eq!(change.service.status, Status::Active);
        let keys = service_index_keys(&change.service);
        assert_eq!(keys["gsi6pk"].as_s().unwrap(), &pending_operations());
        assert_eq!(keys["gsi6sk"].as_s().unwrap(), &format!("2026-11-30T00:00:00.000Z#{id}"));
        assert!(!keys.contains_key("gsi5pk"), "not renewed while it runs");
    }

    #[test]
    fn only_records_and_markers_have_the_ttl_attribute() {
        let expires = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let active = Service {
            status: Status::Active,
            expires_at: Some(expires),
            ..ordered_service(&ServiceId::generate())
        };
        let service = crate::store::batch::service_item(&active).unwrap();
        assert!(service.contains_key("expires_at"));
        assert!(!service.contains_key(TTL_ATTRIBUTE), "DynamoDB would delete the service");
        let record = crate::store::idempotency::IdempotencyRecord {
            state: crate::store::idempotency::RecordState::InProgress,
            request_hash: "h".into(),
            locked_until: 1,
            expires_at: 2,
            response: None,
            panel_request_id: "p".into(),
            claim_id: "c".into(),
        };
        let item = serde_dynamo::to_item::<_, Item>(&record).unwrap();
        assert_eq!(item[TTL_ATTRIBUTE].as_n().unwrap(), "2");
        assert!(!item.contains_key(FORMER_TTL_ATTRIBUTE));
        let mut former = item.clone();
        former.insert(FORMER_TTL_ATTRIBUTE.into(), former[TTL_ATTRIBUTE].clone());
        former.remove(TTL_ATTRIBUTE);
        let read: crate::store::idempotency::IdempotencyRecord = serde_dynamo::from_item(former).unwrap();
        assert_eq!(read, record, "a record written before the rename reads as it was");
    }

    #[test]
    fn a_service_is_listed_in_every_index() {
        let id = ServiceId::generate();
        let keys = service_index_keys(&ordered_service(&id));
        assert_eq!(keys.len(), 8, "an ordered service is in no schedule index");
        assert_eq!(keys["gsi1pk"].as_s().unwrap(), "CLIENT#alice");
        assert_eq!(keys["gsi3pk"].as_s().unwrap(), "STATUS#ordered");
        assert_eq!(keys["gsi2pk"].as_s().unwrap(), &services_of_type(ProductType::Vps));
        assert_eq!(keys["gsi4pk"].as_s().unwrap(), &all_services());
    }

    #[test]
    fn resume_keys_name_the_item_back() {
        let id = ServiceId::generate();
        let start = service_start(&id, Index::ByOwner, "CLIENT#alice");
        assert_eq!(service_id_of(&start), Some(id.clone()));
        let entry = crate::domain::HistoryId::generate();
        assert_eq!(history_id_of(&history(&id, &entry).item()), Some(entry));
        let tariff = TariffId::parse("vps-start").unwrap();
        assert_eq!(tariff_id_of(&tariff_start(&tariff, Some(ProductType::Vps))), Some(tariff));
    }
}
