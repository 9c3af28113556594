//! Drift: where a product type's control panel and billing disagree about a service, as a
//! reconciliation finds it (see `crate::reconciliation`). Pure: what the panel holds beside
//! what billing holds, compared.

use super::paid_time::OptionLine;
use super::{Service, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a panel says of one account (`GET {panel_url}/services`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelAccount {
    /// Ours: the only key. `None` for an account billing never ordered.
    pub service_id: Option<String>,
    /// The panel's own name for it (an orphan has only this).
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default = "PanelStatus::active")]
    pub status: PanelStatus,
    #[serde(default)]
    pub tariff_id: Option<String>,
    #[serde(default)]
    pub options: Vec<OptionLine>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelStatus {
    Active,
    Suspended,
    /// The panel knows the account and holds nothing for it.
    Missing,
}

impl PanelStatus {
    fn active() -> Self {
        Self::Active
    }
}

/// The kinds of drift, as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Billing holds it active or suspended; the panel holds nothing.
    MissingOnPanel,
    /// Billing holds it suspended; the panel runs it.
    NotSuspendedOnPanel,
    /// Billing holds it active; the panel has it suspended.
    SuspendedOnPanel,
    TariffDiffers,
    OptionsDiffer,
    /// The panel holds an account with no service of ours.
    OrphanOnPanel,
    /// The panel holds an account of a service billing deleted.
    DeletedButOnPanel,
}

impl DriftKind {
    pub const ALL: [DriftKind; 7] = [
        Self::MissingOnPanel,
        Self::NotSuspendedOnPanel,
        Self::SuspendedOnPanel,
        Self::TariffDiffers,
        Self::OptionsDiffer,
        Self::OrphanOnPanel,
        Self::DeletedButOnPanel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingOnPanel => "missing_on_panel",
            Self::NotSuspendedOnPanel => "not_suspended_on_panel",
            Self::SuspendedOnPanel => "suspended_on_panel",
            Self::TariffDiffers => "tariff_differs",
            Self::OptionsDiffer => "options_differ",
            Self::OrphanOnPanel => "orphan_on_panel",
            Self::DeletedButOnPanel => "deleted_but_on_panel",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Whether billing holds the service running on its panel, suspended there, or neither.
fn billing_holds(service: &Service) -> Option<PanelStatus> {
    match service.status {
        Status::Active => Some(PanelStatus::Active),
        Status::Suspended
        | Status::SuspendedByAdmin
        | Status::SuspendedAbuse
        | Status::TemporarilySuspended => Some(PanelStatus::Suspended),
        _ => None,
    }
}

/// A service a reconciliation leaves alone: an operation is under way (the panel may be
/// between two states), or it never reached a panel (ordered, waiting for parameters, no
/// resources).
pub fn is_settled(service: &Service) -> bool {
    service.operation.is_none()
        && service.pending.is_none()
        && !service.operations_running
        && (service.status == Status::Deleted || billing_holds(service).is_some())
}

/// Options as quantities by id, the zero ones left out: the panel may list them in another
/// order, or leave out what the service has none of.
fn quantities(options: &[OptionLine]) -> BTreeMap<&str, u32> {
    options.iter().filter(|o| o.quantity > 0).map(|o| (o.id.as_str(), o.quantity)).collect()
}

/// The drift between a settled service and what its panel holds for it (`None`: nothing
/// held); the strongest difference only: an account that is missing has no tariff to differ.
pub fn compare(service: &Service, account: Option<&PanelAccount>) -> Option<DriftKind> {
    let held = account.filter(|a| a.status != PanelStatus::Missing);
    if service.status == Status::Deleted {
        return held.map(|_| DriftKind::DeletedButOnPanel);
    }
    let expected = billing_holds(service)?;
    let Some(account) = held else {
        return Some(DriftKind::MissingOnPanel);
    };
    match (expected, account.status) {
        (PanelStatus::Suspended, PanelStatus::Active) => return Some(DriftKind::NotSuspendedOnPanel),
        (PanelStatus::Active, PanelStatus::Suspended) => return Some(DriftKind::SuspendedOnPanel),
        _ => {}
    }
    if account.tariff_id.as_deref() != Some(service.tariff_id.as_str()) {
        return Some(DriftKind::TariffDiffers);
    }
    if quantities(&account.options) != quantities(&service.options) {
        return Some(DriftKind::OptionsDiffer);
    }
    None
}

/// How a reconciliation stands, where the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Done,
}

/// Where a run is in one product type: the services read (its snapshot: each service's
/// version before the panel is read), the panel walked page by page, then what the panel never
/// listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Snapshot,
    Panel,
    Missing,
}

/// A reconciliation run: the product types it walks, in order, and where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub status: RunStatus,
    pub product_types: Vec<super::ProductType>,
    pub started_at: super::Timestamp,
    #[serde(default)]
    pub finished_at: Option<super::Timestamp>,
    /// Who started it: `schedule` or the provider's id.
    pub started_by: String,
    pub at: Progress,
    /// Rises with every progress written: one invocation at a time carries a run on.
    pub version: u64,
}

/// Where a run resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Into `product_types`.
    pub type_index: usize,
    pub phase: Phase,
    /// The phase's cursor: the service index's last key read, or the panel's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// The chunks (snapshot or seen) written so far in this type.
    #[serde(default)]
    pub chunks: u32,
}

impl Progress {
    pub fn start() -> Self {
        Self { type_index: 0, phase: Phase::Snapshot, cursor: None, chunks: 0 }
    }
}

/// One service in a run's snapshot: its version, and what billing held it as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapped {
    pub version: u64,
    /// Settled (`is_settled`) and not deleted: the panel should hold it.
    pub held: bool,
    pub settled: bool,
}

/// A difference found, kept with the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftItem {
    pub id: String,
    pub run_id: String,
    pub kind: DriftKind,
    pub product_type: super::ProductType,
    pub service_id: Option<super::ServiceId>,
    #[serde(default)]
    pub account_id: Option<String>,
    /// What billing held (`null` for an orphan).
    pub billing: serde_json::Value,
    /// What the panel held (`null` when nothing).
    pub panel: serde_json::Value,
    pub found_at: super::Timestamp,
    /// Absent until resolved (a resolution is written only over an item without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// How the provider resolved an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub action: String,
    pub by: String,
    pub at: super::Timestamp,
    #[serde(default)]
    pub reason: Option<String>,
    /// The service an adoption made, or the operation `apply_billing` queued.
    #[serde(default)]
    pub service_id: Option<super::ServiceId>,
}

/// What billing held of a service, as a drift item shows it.
pub fn billing_view(service: &Service) -> serde_json::Value {
    serde_json::json!({
        "status": service.status.as_str(),
        "tariff_id": service.tariff_id,
        "options": service.options,
        "client_id": service.client_id,
        "version": service.version,
    })
}

/// A drift item's id as a path or cursor names it: a ULID (a service's) or `acct-` and 26
/// lowercase hex digits.
pub fn parse_item_id(raw: &str) -> Option<String> {
    let hashed =
        |h: &str| h.len() == 26 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match raw.strip_prefix("acct-") {
        Some(h) if hashed(h) => Some(raw.to_owned()),
        Some(_) => None,
        None => super::ids::parse_id(raw),
    }
}

/// A drift item's id: the service's own (a run finds at most one difference per service), or
/// for an account of no service of ours, `acct-` and the first 26 hex digits of its
/// account id's SHA-256. The same difference found again by a resumed run is the same item.
pub fn item_id(service_id: Option<&str>, account_id: Option<&str>) -> String {
    match service_id {
        Some(id) => id.to_owned(),
        None => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(account_id.unwrap_or_default().as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("acct-{}", &hex[..26])
        }
    }
}

/// How a drift mark begins: a service's `last_error` that starts so was put there by a
/// reconciliation (`Service::mark_drift`), not by a failed operation.
const DRIFT_MARK: &str = "reconciliation ";

impl Service {
    /// Off the attention list, if a reconciliation put it there (a failed operation's error
    /// stays).
    fn clear_drift_mark(&mut self) {
        if self.last_error.as_deref().is_some_and(|e| e.starts_with(DRIFT_MARK)) {
            self.last_error = None;
            self.failed_at = None;
        }
    }
}

/// The panel operation that makes the panel hold a service as billing does, for `kind`;
/// `None` for an account of no service of ours.
pub fn billing_call(kind: DriftKind) -> Option<super::Action> {
    use super::Action as A;
    match kind {
        DriftKind::MissingOnPanel => Some(A::Activation),
        DriftKind::NotSuspendedOnPanel => Some(A::Suspension),
        DriftKind::SuspendedOnPanel => Some(A::Resume),
        DriftKind::TariffDiffers => Some(A::TariffChange),
        DriftKind::OptionsDiffer => Some(A::OptionsChange),
        DriftKind::DeletedButOnPanel => Some(A::Deletion),
        DriftKind::OrphanOnPanel => None,
    }
}

impl Service {
    /// Queues the panel operation that makes the panel hold the service as billing does
    /// (`apply_billing`): nothing is charged or credited, the status stays, and the client is
    /// not mailed (the service is as it was last told).
    pub fn resync(
        &self,
        item: &DriftItem,
        actor: &super::principal::Actor,
        at: super::Timestamp,
    ) -> Result<super::lifecycle::Change, super::refusal::Refusal> {
        use super::refusal::Refusal;
        let call = billing_call(item.kind).ok_or_else(|| {
            Refusal::Invalid(
                "an account of no service of ours: adopt it, or ignore it and remove it on the panel".into(),
            )
        })?;
        if self.pending.is_some() {
            return Err(Refusal::Conflict("an operation is under way on the service".into()));
        }
        let details = serde_json::json!({
            "resync": true,
            "kind": item.kind.as_str(),
            "reconciliation_id": item.run_id,
        });
        Ok(self.start(self.clone(), super::service::Work::Resync { call }, actor, at, 0, details))
    }

    /// Billing takes the panel's state (`accept_panel`), where that moves no money: a service
    /// the panel suspended is suspended by the provider here too; one the panel runs is
    /// resumed here, unless it is held for non-payment (billing keeps that until it is paid:
    /// `apply_billing` suspends it on the panel). A tariff, options, a missing or a deleted
    /// service change what is paid: their own routes do that, with their quotes.
    pub fn accept_panel(
        &self,
        item: &DriftItem,
        actor: &super::principal::Actor,
        at: super::Timestamp,
    ) -> Result<super::lifecycle::Change, super::refusal::Refusal> {
        use super::refusal::Refusal;
        use super::service::{resting_status, Hold};
        self.ensure_idle("take the panel's state")?;
        let mut next = self.clone();
        let details = serde_json::json!({
            "result": "done",
            "accepted_from_panel": true,
            "kind": item.kind.as_str(),
            "reconciliation_id": item.run_id,
        });
        let action = match item.kind {
            DriftKind::SuspendedOnPanel if self.status == Status::Active => {
                next.holds.push(Hold::Admin);
                super::Action::Suspension
            }
            DriftKind::NotSuspendedOnPanel if self.holds.contains(&Hold::NonPayment) => {
                return Err(Refusal::Invalid(
                    "suspended for non-payment: billing keeps it suspended until it is paid; apply_billing suspends it on the panel".into(),
                ))
            }
            DriftKind::NotSuspendedOnPanel if billing_holds(self) == Some(PanelStatus::Suspended) => {
                if next.holds.contains(&Hold::Abuse) {
                    next.abuse_score = 0;
                }
                next.holds.clear();
                super::Action::Resume
            }
            DriftKind::SuspendedOnPanel | DriftKind::NotSuspendedOnPanel => {
                return Err(Refusal::Conflict("the service is no longer as the reconciliation found it".into()))
            }
            other => {
                return Err(Refusal::Invalid(format!(
                    "billing takes the panel's state for a suspension only: {} changes what is paid (use its own route, or apply_billing)",
                    other.as_str()
                )))
            }
        };
        next.status = resting_status(&next.holds);
        next.clear_drift_mark();
        Ok(self.record(next, actor, action, at, details))
    }

    /// What a reconciliation does by itself under `fix_suspensions` with a service billing
    /// holds suspended that the panel runs: the drift recorded (its entry) and the panel
    /// suspended again as `apply_billing` would (the change, queued), in one write.
    pub fn drift_fixed(
        &self,
        item: &DriftItem,
        at: super::Timestamp,
    ) -> Result<(super::lifecycle::Change, super::HistoryEntry), super::refusal::Refusal> {
        let marked = self.mark_drift(item.kind, &item.run_id, at);
        let mut fixed = marked.service.resync(item, &super::schedule::system("reconcile"), at)?;
        fixed.service.version = marked.service.version;
        Ok((fixed, marked.entry))
    }

    /// The service as a reconciliation leaves it on finding `kind`: on the provider's attention
    /// list, saying why (a later operation that succeeds, or the item's resolution, takes it
    /// off), one version on, with the history entry that publishes `service.drift_found`.
    pub fn mark_drift(
        &self,
        kind: DriftKind,
        run_id: &str,
        at: super::Timestamp,
    ) -> super::lifecycle::Change {
        let mut next = self.clone();
        next.last_error = Some(format!("{DRIFT_MARK}{run_id} found {}", kind.as_str()));
        next.failed_at = Some(at);
        let details = serde_json::json!({"kind": kind.as_str(), "reconciliation_id": run_id});
        self.record(next, &super::schedule::system("reconcile"), super::Action::DriftFound, at, details)
    }

    /// The service once the provider resolved a drift item about it: off the attention list
    /// if the drift put it there, with the history entry that says how and why.
    pub fn resolve_drift(
        &self,
        item: &DriftItem,
        resolution: &Resolution,
        actor: &super::principal::Actor,
    ) -> super::lifecycle::Change {
        let mut next = self.clone();
        next.clear_drift_mark();
        let details = serde_json::json!({
            "kind": item.kind.as_str(),
            "reconciliation_id": item.run_id,
            "action": resolution.action,
        });
        self.record(next, actor, super::Action::DriftResolved, resolution.at, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    fn sample_service() -> Service {
        crate::domain::order::sample_service(Timestamp::parse("2026-11-01T00:00:00Z").unwrap())
    }

    fn account(status: PanelStatus, tariff: &str, options: &[(&str, u32)]) -> PanelAccount {
        PanelAccount {
            service_id: Some("s".into()),
            account_id: Some("a".into()),
            status,
            tariff_id: Some(tariff.into()),
            options: options.iter().map(|(id, q)| OptionLine { id: (*id).into(), quantity: *q }).collect(),
            params: BTreeMap::new(),
        }
    }

    fn service(status: Status, options: &[(&str, u32)]) -> Service {
        let mut s = sample_service();
        s.status = status;
        s.options = options.iter().map(|(id, q)| OptionLine { id: (*id).into(), quantity: *q }).collect();
        s
    }

    #[test]
    fn each_kind_is_found_where_billing_and_the_panel_disagree() {
        let tariff = sample_service().tariff_id.to_string();
        let active = service(Status::Active, &[("ipv4", 1)]);
        let in_step = account(PanelStatus::Active, &tariff, &[("ipv4", 1), ("ipv6", 0)]);
        assert_eq!(compare(&active, Some(&in_step)), None);
        assert_eq!(compare(&active, None), Some(DriftKind::MissingOnPanel));
        let missing = PanelAccount { status: PanelStatus::Missing, ..in_step.clone() };
        assert_eq!(compare(&active, Some(&missing)), Some(DriftKind::MissingOnPanel));
        let suspended_there = PanelAccount { status: PanelStatus::Suspended, ..in_step.clone() };
        assert_eq!(compare(&active, Some(&suspended_there)), Some(DriftKind::SuspendedOnPanel));
        for held in [
            Status::Suspended,
            Status::SuspendedByAdmin,
            Status::SuspendedAbuse,
            Status::TemporarilySuspended,
        ] {
            let suspended = service(held, &[("ipv4", 1)]);
            assert_eq!(compare(&suspended, Some(&in_step)), Some(DriftKind::NotSuspendedOnPanel), "{held:?}");
            assert_eq!(compare(&suspended, Some(&suspended_there)), None, "{held:?}");
        }
        let other_tariff = account(PanelStatus::Active, "another", &[("ipv4", 1)]);
        assert_eq!(compare(&active, Some(&other_tariff)), Some(DriftKind::TariffDiffers));
        let more_options = account(PanelStatus::Active, &tariff, &[("ipv4", 2)]);
        assert_eq!(compare(&active, Some(&more_options)), Some(DriftKind::OptionsDiffer));
        let deleted = service(Status::Deleted, &[]);
        assert_eq!(compare(&deleted, Some(&in_step)), Some(DriftKind::DeletedButOnPanel));
        assert_eq!(compare(&deleted, None), None);
        assert_eq!(compare(&deleted, Some(&missing)), None);
    }

    #[test]
    fn a_service_that_never_reached_a_panel_or_is_in_an_operation_is_not_settled() {
        assert!(is_settled(&service(Status::Active, &[])));
        assert!(is_settled(&service(Status::Deleted, &[])));
        for status in
            [Status::Ordered, Status::ConfigurationRequired, Status::NotAvailable, Status::InProgress]
        {
            assert!(!is_settled(&service(status, &[])), "{status:?}");
        }
        let mut running = service(Status::Active, &[]);
        running.operations_running = true;
        assert!(!is_settled(&running));
    }

    #[test]
    fn an_item_id_is_a_ulid_or_an_accounts_hash() {
        let orphan = item_id(None, Some("by-hand-1"));
        assert_eq!(parse_item_id(&orphan), Some(orphan.clone()));
        assert_eq!(item_id(Some("01JDQ8Z6V5Q0M3W2Y5H7K9T1AB"), Some("x")), "01JDQ8Z6V5Q0M3W2Y5H7K9T1AB");
        assert!(parse_item_id("01JDQ8Z6V5Q0M3W2Y5H7K9T1AB").is_some());
        for bad in [
            "acct-",
            "acct-XYZ",
            "nothing",
            "acct-0123456789abcdef012345678",
            "acct-0123456789ABCDEF0123456789",
            "../x",
        ] {
            assert_eq!(parse_item_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn billing_takes_the_panels_state_only_where_no_money_moves() {
        use crate::domain::service::Hold;
        let actor = crate::domain::principal::Actor { id: "ops".into(), role: crate::domain::Role::Provider };
        let at = Timestamp::parse("2026-11-02T00:00:00Z").unwrap();
        let item = |kind| DriftItem {
            id: "x".into(),
            run_id: "r".into(),
            kind,
            product_type: crate::domain::ProductType::Vps,
            service_id: None,
            account_id: None,
            billing: serde_json::Value::Null,
            panel: serde_json::Value::Null,
            found_at: at,
            resolution: None,
        };
        let mut unpaid = service(Status::TemporarilySuspended, &[]);
        unpaid.holds = vec![Hold::NonPayment];
        assert!(unpaid.accept_panel(&item(DriftKind::NotSuspendedOnPanel), &actor, at).is_err());
        let mut abuse = service(Status::SuspendedAbuse, &[]);
        abuse.holds = vec![Hold::Abuse];
        abuse.abuse_score = 120;
        let resumed = abuse.accept_panel(&item(DriftKind::NotSuspendedOnPanel), &actor, at).unwrap().service;
        assert_eq!((resumed.status, resumed.abuse_score), (Status::Active, 0));
        let active = service(Status::Active, &[]);
        let held = active.accept_panel(&item(DriftKind::SuspendedOnPanel), &actor, at).unwrap().service;
        assert_eq!(held.status, Status::SuspendedByAdmin);
        for kind in [
            DriftKind::TariffDiffers,
            DriftKind::OptionsDiffer,
            DriftKind::MissingOnPanel,
            DriftKind::OrphanOnPanel,
        ] {
            assert!(active.accept_panel(&item(kind), &actor, at).is_err(), "{kind:?}");
        }
    }

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in DriftKind::ALL {
            assert_eq!(DriftKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(DriftKind::parse("nothing"), None);
    }
}
