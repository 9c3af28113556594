//! A service a client has ordered, and the vocabulary of its lifecycle.

use super::paid_time::{OptionLine, PaidLine, Stretch};
use super::principal::Actor;
use super::{ClientId, ProductType, Role, ServiceId, TariffId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a service is in its life. The vocabulary is fixed; later work adds transitions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In the cart, waiting for payment.
    Ordered,
    Active,
    /// Suspended by the client.
    Suspended,
    SuspendedByAdmin,
    SuspendedAbuse,
    /// Suspended for non-payment.
    TemporarilySuspended,
    /// Gone for good; never shown to a client.
    Deleted,
    /// A long-running operation is under way (see `Operation`).
    InProgress,
    /// A quick order still missing required parameters.
    ConfigurationRequired,
    /// The control panel lacked the resources to activate it.
    NotAvailable,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Ordered,
        Status::Active,
        Status::Suspended,
        Status::SuspendedByAdmin,
        Status::SuspendedAbuse,
        Status::TemporarilySuspended,
        Status::Deleted,
        Status::InProgress,
        Status::ConfigurationRequired,
        Status::NotAvailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ordered => "ordered",
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::SuspendedByAdmin => "suspended_by_admin",
            Status::SuspendedAbuse => "suspended_abuse",
            Status::TemporarilySuspended => "temporarily_suspended",
            Status::Deleted => "deleted",
            Status::InProgress => "in_progress",
            Status::ConfigurationRequired => "configuration_required",
            Status::NotAvailable => "not_available",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The long-running operation a service `in_progress` is undergoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Activation,
    Suspension,
    Resume,
    Reboot,
    Renewal,
    Transfer,
    Deletion,
    /// An SSL certificate being issued anew.
    Reissue,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Activation => "activation",
            Operation::Suspension => "suspension",
            Operation::Resume => "resume",
            Operation::Reboot => "reboot",
            Operation::Renewal => "renewal",
            Operation::Transfer => "transfer",
            Operation::Deletion => "deletion",
            Operation::Reissue => "reissue",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRenew {
    pub enabled: bool,
    pub period_months: u16,
}

/// A service as stored. The wire form adds the derived `flags` (see `crate::views`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub client_id: ClientId,
    pub product_type: ProductType,
    pub tariff_id: TariffId,
    pub status: Status,
    /// Set exactly when `status` is `in_progress`.
    pub operation: Option<Operation>,
    /// The provider set a renewal price other than the tariff's (`special` says what).
    pub special_price: bool,
    /// A tariff or option change is running while the status stays.
    pub operations_running: bool,
    pub period_months: u16,
    /// What one renewal of `auto_renew.period_months` costs, in minor units.
    pub renewal_price: u64,
    pub auto_renew: AutoRenew,
    /// Null until the service is activated.
    pub expires_at: Option<Timestamp>,
    pub params: BTreeMap<String, String>,
    pub options: Vec<OptionLine>,
    pub created_at: Timestamp,
    /// Rises by one with every write; every write is conditional on it.
    pub version: u64,
    /// What the first period costs (tariff price and options), charged at checkout.
    #[serde(default)]
    pub order_price: u64,
    /// The order has been paid for.
    #[serde(default)]
    pub paid: bool,
    /// A payment for it has started and is not received yet.
    #[serde(default)]
    pub payment_pending: bool,
    /// Why the service is suspended; the status shows the strongest (see `Hold`).
    #[serde(default)]
    pub holds: Vec<Hold>,
    /// The long-running operation under way, if any.
    #[serde(default)]
    pub pending: Option<PendingOperation>,
    /// Why the last operation failed, until the next one succeeds.
    #[serde(default)]
    pub last_error: Option<String>,
    /// A client's deletion scheduled for the end of the paid period.
    #[serde(default)]
    pub delete_at: Option<Timestamp>,
    /// The sum of the abuse reports' scores since the provider last cleared them.
    #[serde(default)]
    pub abuse_score: u32,
    /// When the service was suspended for non-payment (its deletion counts from then).
    #[serde(default)]
    pub non_payment_since: Option<Timestamp>,
    /// The UTC day (`YYYY-MM-DD`) auto-renewal last failed for want of funds.
    #[serde(default)]
    pub renewal_declined_on: Option<String>,
    /// The validity whose auto-renewal was last declined: the first decline of each attempt
    /// window (one validity's lead days and grace) is mailed, the later ones only recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_declined_for: Option<Timestamp>,
    /// The provider keeps the service out of the non-payment suspension until then.
    #[serde(default)]
    pub grace: Option<Grace>,
    /// The day of the month its paid periods end on, kept across short months (Jan 31, Feb
    /// 28, Mar 31): the activation's day, the day a lapsed service was renewed from, or the
    /// day the provider set `expires_at` to. Unset on services stored before it was kept.
    #[serde(default)]
    pub anchor_day: Option<u8>,
    /// The special renewal price the provider set, and for how many months.
    #[serde(default)]
    pub special: Option<SpecialPrice>,
    /// Read from services stored before the paid time's record was kept (the end of the time
    /// paid for, and what was paid less what came back), to build their record; never written.
    #[serde(default, skip_serializing)]
    pub paid_until: Option<Timestamp>,
    #[serde(default, skip_serializing)]
    pub net_paid: Option<u64>,
    /// Its paid time, stretch by stretch, with what was paid for each (`domain::paid_time`):
    /// empty until it is activated, and on services stored before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paid_time: Vec<super::paid_time::Stretch>,
    /// What one renewal costs, line by line, adding up to `renewal_price`; empty on services
    /// stored before the lines were kept (see `Service::renewal_lines`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renewal_lines: Vec<super::paid_time::PaidLine>,
    /// What the order costs, line by line at the list prices of the day it was placed, adding up
    /// to `order_price`: the first stretch of paid time is recorded with them. Empty on services
    /// stored before they were kept (see `Service::order_lines`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_lines: Vec<super::paid_time::PaidLine>,
    /// When its last operation was given up, or its activation found no resources: the
    /// provider's list of services that need attention is sorted by it.
    #[serde(default)]
    pub failed_at: Option<Timestamp>,
    /// The certificate order under way at the certificate authority (an ACME product type's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<super::acme_order::AcmeOrder>,
    /// The certificate last issued (an ACME product type's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<super::acme_order::IssuedCertificate>,
    /// A renewal price the provider set ahead, under notice: renewals from its date on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_change: Option<PriceChange>,
}

/// A renewal price set ahead (`Service::schedule_renewal_price`): a renewal made from `from` on
/// is at `renewal_price`; one made before is at the price it replaces. It holds only over what
/// it was announced for: the price it replaces, for `months`, on the tariff it was set on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub renewal_price: u64,
    pub replaces: u64,
    pub from: Timestamp,
    pub months: u16,
    pub tariff_id: TariffId,
    /// The bulk operation that set it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_operation_id: Option<String>,
}

/// A renewal price the provider set other than the list price: the floor, per month, that a
/// client's own changes never take the renewal price below (see `domain::pricing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialPrice {
    pub price: u64,
    pub months: u16,
}

/// A provider's extension: no suspension for non-payment before `until`, the paid period and
/// the money unchanged. A renewal clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grace {
    pub until: Timestamp,
    pub reason: String,
}

impl Service {
    /// A service of `client_id` on `tariff`, just ordered and unpaid, with nothing else set:
    /// what an order, an adoption and an import each build on.
    pub fn new_on(
        id: ServiceId,
        client_id: ClientId,
        tariff: &super::Tariff,
        months: u16,
        now: Timestamp,
    ) -> Service {
        Service {
            id,
            client_id,
            product_type: tariff.product_type,
            tariff_id: tariff.id.clone(),
            status: Status::Ordered,
            operation: None,
            special_price: false,
            operations_running: false,
            period_months: months,
            renewal_price: 0,
            auto_renew: AutoRenew { enabled: false, period_months: months },
            expires_at: None,
            params: BTreeMap::new(),
            options: Vec::new(),
            created_at: now,
            version: 1,
            order_price: 0,
            paid: false,
            payment_pending: false,
            holds: Vec::new(),
            pending: None,
            last_error: None,
            delete_at: None,
            abuse_score: 0,
            non_payment_since: None,
            renewal_declined_on: None,
            renewal_declined_for: None,
            grace: None,
            anchor_day: None,
            special: None,
            paid_until: None,
            net_paid: None,
            paid_time: Vec::new(),
            renewal_lines: Vec::new(),
            order_lines: Vec::new(),
            failed_at: None,
            acme: None,
            certificate: None,
            price_change: None,
        }
    }
}

impl Service {
    /// The status as the BILLmanager 6 client area names it, derived from the service (docs/api.md
    /// has the table). Where no special name applies it is the status itself.
    pub fn display_status(&self) -> &'static str {
        use super::ProductType as T;
        use Operation as O;
        let ssl_failed = self.product_type == T::Ssl && self.paid && self.last_error.is_some();
        // A certificate order whose validation failed waits for the client to publish again.
        let validation_failed = self.acme.as_ref().is_some_and(|order| order.problem.is_some());
        match (self.status, self.operation, self.product_type) {
            (Status::Ordered, _, _) if self.payment_pending => "payment_in_progress",
            (Status::Ordered, _, _) if !self.paid => "in_cart",
            (Status::Ordered, _, T::Ssl) if ssl_failed => "issue_error",
            (Status::NotAvailable, _, T::Ssl) => "issue_error",
            (Status::ConfigurationRequired, _, _) => "complete_configuration",
            (Status::InProgress, Some(O::Activation | O::Reissue | O::Renewal), T::Ssl)
                if validation_failed =>
            {
                "issue_error"
            }
            (Status::InProgress, Some(O::Renewal), _) => "renewal_in_progress",
            (Status::InProgress, Some(O::Transfer), T::Domain) => "registrar_change",
            (Status::InProgress, Some(O::Transfer), _) => "transfer",
            (Status::InProgress, Some(O::Activation), T::Domain) => "registration_in_progress",
            (Status::InProgress, Some(O::Activation), T::Ssl) => "issue",
            (Status::InProgress, Some(O::Reissue), _) => "reissue",
            (Status::Active, _, T::Dedicated) => "access_to_kvm",
            (status, _, _) => status.as_str(),
        }
    }

    /// When the expiry sweep suspends this service for non-payment if it is not renewed: at
    /// expiry, or at the end of a grace that outlasts it.
    pub fn lapses_at(&self) -> Option<Timestamp> {
        let grace = self.grace.as_ref().map(|g| g.until);
        self.expires_at.map(|e| grace.map_or(e, |g| g.max(e)))
    }

    /// The day of the month a renewal from `expires_at` ends on.
    pub fn anchor_day(&self, expires_at: Timestamp) -> u8 {
        self.anchor_day.unwrap_or_else(|| expires_at.day_of_month())
    }

    /// Running or suspended, with no operation under way: what the schedules act on.
    pub fn at_rest(&self) -> bool {
        self.pending.is_none()
            && matches!(
                self.status,
                Status::Active
                    | Status::Suspended
                    | Status::SuspendedByAdmin
                    | Status::SuspendedAbuse
                    | Status::TemporarilySuspended
            )
    }

    /// The service as its client knows it: the tariff and its main parameter (the domain, else
    /// the OS), `VPS Start (debian-12)`, `.com domain (example.com)`.
    pub fn name(&self, tariff_name: &str) -> String {
        match self.main_param() {
            Some(main) => format!("{tariff_name} ({main})"),
            None => tariff_name.to_owned(),
        }
    }

    /// The parameter its client knows it by: its domain, else its OS.
    fn main_param(&self) -> Option<&String> {
        ["domain", "os_template", "os"].iter().find_map(|p| self.params.get(*p))
    }

    /// The service as an e-mail names it: the tariff, and its main parameter as quoted data
    /// only when it is what the service needs (a host name or a template's name: letters,
    /// digits, dots, dashes and underscores, at most 63 characters): `VPS Start "debian-12"`.
    /// Anything else a client typed stays out of the provider's e-mails.
    pub fn mail_name(&self, tariff_name: &str) -> String {
        let plain = |v: &&String| {
            (1..=63).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        };
        match self.main_param().filter(plain) {
            Some(main) => format!("{tariff_name} \"{main}\""),
            None => tariff_name.to_owned(),
        }
    }

    /// Whether the provider should look at it: its latest operation was given up, or its
    /// activation found no resources. A later successful operation clears it.
    pub fn needs_attention(&self) -> bool {
        self.status != Status::Deleted && (self.last_error.is_some() || self.status == Status::NotAvailable)
    }

    /// What a client may see: its own services, never deleted ones. The provider sees all.
    pub fn visible_to(&self, principal: &super::Principal) -> bool {
        principal.is_provider() || (principal.id == self.client_id && self.status != Status::Deleted)
    }
}

/// A reason a service is suspended. Reasons stack; the status shows the strongest present, in
/// the order declared here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    Admin,
    Abuse,
    NonPayment,
    Client,
}

impl Hold {
    pub fn status(self) -> Status {
        match self {
            Hold::Admin => Status::SuspendedByAdmin,
            Hold::Abuse => Status::SuspendedAbuse,
            Hold::NonPayment => Status::TemporarilySuspended,
            Hold::Client => Status::Suspended,
        }
    }

    /// Who may lift it: the client its own suspension; the provider all but non-payment, which
    /// only a renewal lifts.
    pub(crate) fn liftable_by(self, role: Role) -> bool {
        matches!((self, role), (Hold::Client, _) | (Hold::Admin | Hold::Abuse, Role::Provider))
    }
}

/// The status a service at rest shows for its holds.
pub(crate) fn resting_status(holds: &[Hold]) -> Status {
    holds.iter().min().map_or(Status::Active, |h| h.status())
}

/// Long-running work carried out on the control panel through the operations queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    Activation,
    Suspension,
    Resume,
    Reboot,
    Transfer,
    Deletion {
        /// The unused share of what was paid, given back when done (`refund_on_delete`).
        #[serde(default)]
        credit: u64,
    },
    Reissue,
    Renewal {
        expires_at: Timestamp,
        /// The day of the month the new expiry keeps (see `Service::anchor_day`).
        #[serde(default)]
        anchor_day: Option<u8>,
        /// The renewal lifts the last suspension: the panel resumes the service too.
        #[serde(default)]
        resume: bool,
        /// The end of the time paid for once it is done: the renewal's months on from the time
        /// paid for before (or from now, when that is past), so time the provider gave before
        /// stays unpaid (see `Service::paid_until`).
        #[serde(default)]
        paid_until: Option<Timestamp>,
        /// The paid time's record once it is done (unset on renewals started before it was
        /// kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<Vec<Stretch>>,
    },
    /// The panel made to hold the service as billing does (a reconciliation's drift item
    /// resolved with `apply_billing`): `call` is the panel operation that does it; the service
    /// keeps its status, and nothing is charged or credited. Runs beside the status.
    Resync {
        call: super::Action,
    },
    /// Runs beside the status (`operations_running`); `credit` is given back when done, and
    /// the paid time becomes `record`.
    TariffChange {
        tariff_id: TariffId,
        renewal_price: u64,
        credit: u64,
        #[serde(default)]
        renewal_lines: Vec<PaidLine>,
        #[serde(default)]
        record: Vec<Stretch>,
    },
    OptionsChange {
        options: Vec<OptionLine>,
        renewal_price: u64,
        credit: u64,
        #[serde(default)]
        renewal_lines: Vec<PaidLine>,
        #[serde(default)]
        record: Vec<Stretch>,
    },
}

impl Work {
    /// The operation an `in_progress` service shows; none for work that runs beside the status.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Work::Activation => Some(Operation::Activation),
            Work::Suspension => Some(Operation::Suspension),
            Work::Resume => Some(Operation::Resume),
            Work::Reboot => Some(Operation::Reboot),
            Work::Transfer => Some(Operation::Transfer),
            Work::Deletion { .. } => Some(Operation::Deletion),
            Work::Reissue => Some(Operation::Reissue),
            Work::Renewal { .. } => Some(Operation::Renewal),
            Work::TariffChange { .. } | Work::OptionsChange { .. } | Work::Resync { .. } => None,
        }
    }

    /// Money given back once the work is done (a downgrade's unused part, a deletion's).
    pub fn credit(&self) -> u64 {
        match self {
            Work::TariffChange { credit, .. }
            | Work::OptionsChange { credit, .. }
            | Work::Deletion { credit } => *credit,
            _ => 0,
        }
    }
}

/// The operation under way, with what is needed to finish it or to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    pub id: String,
    pub work: Work,
    pub actor: Actor,
    pub started_at: Timestamp,
    pub status_before: Status,
    pub holds_before: Vec<Hold>,
    pub expires_before: Option<Timestamp>,
    /// Money charged for it, refunded if it fails for good (an activation's stays paid).
    pub charged: u64,
    /// The other fields its start changed, restored if it fails for good.
    #[serde(default)]
    pub restore: Restore,
    /// A renewal that resumes: the panel made the renewal on an earlier receive, and only the
    /// resume is outstanding. Kept so that a last receive that cannot reach the panel at all
    /// still knows the renewal stands (see `Service::finish_unresumed`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub renewed_on_panel: bool,
    /// The bulk operation it is part of, told when it ends (`crate::bulk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_operation_id: Option<String>,
}

/// What an operation's start may change beside the status, suspension reasons and validity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    pub non_payment_since: Option<Timestamp>,
    pub grace: Option<super::service::Grace>,
    pub abuse_score: u32,
    pub renewal_declined_on: Option<String>,
    #[serde(default)]
    pub delete_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_wire_names() {
        for s in Status::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("paused"), None);
    }

    fn shown(
        product_type: super::super::ProductType,
        status: Status,
        operation: Option<Operation>,
    ) -> Service {
        let at = super::super::Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let service = super::super::order::sample_service(at);
        Service { product_type, status, operation, ..service }
    }

    #[test]
    fn display_status_follows_the_client_area() {
        use super::super::ProductType as T;
        use Operation as O;
        let cases = [
            (shown(T::Vps, Status::Ordered, None), "in_cart"),
            (
                Service { payment_pending: true, ..shown(T::Vps, Status::Ordered, None) },
                "payment_in_progress",
            ),
            (shown(T::Vps, Status::ConfigurationRequired, None), "complete_configuration"),
            (shown(T::Vps, Status::InProgress, Some(O::Activation)), "in_progress"),
            (shown(T::Vps, Status::InProgress, Some(O::Suspension)), "in_progress"),
            (shown(T::Vps, Status::InProgress, Some(O::Reboot)), "in_progress"),
            (shown(T::Vps, Status::InProgress, Some(O::Deletion)), "in_progress"),
            (shown(T::Vps, Status::InProgress, Some(O::Renewal)), "renewal_in_progress"),
            (shown(T::Vps, Status::InProgress, Some(O::Transfer)), "transfer"),
            (shown(T::Dedicated, Status::Active, None), "access_to_kvm"),
            (shown(T::Domain, Status::InProgress, Some(O::Activation)), "registration_in_progress"),
            (shown(T::Domain, Status::InProgress, Some(O::Transfer)), "registrar_change"),
            (shown(T::Ssl, Status::InProgress, Some(O::Activation)), "issue"),
            (shown(T::Ssl, Status::NotAvailable, None), "issue_error"),
            (
                Service {
                    paid: true,
                    last_error: Some("CA down".into()),
                    ..shown(T::Ssl, Status::Ordered, None)
                },
                "issue_error",
            ),
            (shown(T::Ssl, Status::InProgress, Some(O::Reissue)), "reissue"),
            (shown(T::Vps, Status::Active, None), "active"),
            (shown(T::Vps, Status::SuspendedAbuse, None), "suspended_abuse"),
            (shown(T::Vps, Status::NotAvailable, None), "not_available"),
        ];
        for (service, expected) in cases {
            assert_eq!(service.display_status(), expected, "{:?}", (service.product_type, service.status));
        }
    }
}
