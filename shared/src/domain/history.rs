//! The history of a service: one entry per operation performed on it.

use super::{HistoryId, Status, Timestamp};
use serde::{Deserialize, Serialize};

/// What was done to a service: the history entry's `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Order,
    /// Paid, where that moves nothing else (a quick order still missing parameters).
    Payment,
    Edit,
    Activation,
    Suspension,
    Resume,
    Reboot,
    Renewal,
    Transfer,
    Deletion,
    TariffChange,
    OptionsChange,
    /// A ticket about the service was opened.
    Ticket,
    AbuseReport,
    Reissue,
    /// The provider held off the non-payment suspension (see `Service::grant_grace`).
    Grace,
    /// A setting changed on the panel (see `crate::domain::settings`).
    IpAddressAdd,
    IpAddressRemove,
    NameserversChange,
    WhoisChange,
    VirtualServerCreate,
    VirtualServerDelete,
    /// Reminders (see `crate::domain::reminders`): nothing changes, the client is told.
    RenewalUpcoming,
    ExpiryUpcoming,
    DeletionUpcoming,
    /// A reconciliation found the panel holding the service otherwise than billing (see
    /// `crate::domain::drift`); nothing changed but its place on the attention list.
    DriftFound,
    /// The provider resolved what a reconciliation found (how, in the entry's details).
    DriftResolved,
    /// An account a panel held and billing never ordered, made a service (see
    /// `crate::domain::adoption`): nothing charged, nothing done on the panel.
    Adoption,
    /// A service brought in from another billing system (see `crate::domain::import`): nothing
    /// charged, nothing done on the panel, no e-mail.
    Imported,
    /// The client said it published a certificate order's challenges: the authority is asked
    /// to validate them (see `crate::domain::certificate`).
    Validation,
    /// Someone signed in to the service's control panel with a one-time link (see
    /// `crate::domain::panel_login`): nothing changed; the link itself is never recorded.
    PanelLogin,
    /// The provider set the renewal price from a date ahead (see `Service::schedule_renewal_price`).
    PriceChange,
}

impl Action {
    /// The wire name: `renewal`, `tariff_change`, ...
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

impl From<super::Operation> for Action {
    fn from(operation: super::Operation) -> Self {
        use super::Operation as O;
        match operation {
            O::Activation => Action::Activation,
            O::Suspension => Action::Suspension,
            O::Resume => Action::Resume,
            O::Reboot => Action::Reboot,
            O::Renewal => Action::Renewal,
            O::Transfer => Action::Transfer,
            O::Deletion => Action::Deletion,
            O::Reissue => Action::Reissue,
        }
    }
}

pub use super::principal::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: HistoryId,
    pub at: Timestamp,
    pub actor: Actor,
    pub operation: Action,
    pub status_before: Option<Status>,
    pub status_after: Status,
    pub details: serde_json::Value,
}

impl super::service::Work {
    /// The history's name for it, and the panel's.
    pub fn action(&self) -> Action {
        match self {
            Self::TariffChange { .. } => Action::TariffChange,
            Self::OptionsChange { .. } => Action::OptionsChange,
            Self::Resync { call } => *call,
            other => other.operation().expect("an in-progress operation").into(),
        }
    }
}
