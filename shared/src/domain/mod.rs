//! Pure domain: types and rules of the services backend. No I/O, no AWS, no Lambda types.

pub mod account;
pub mod catalog;
pub mod changes;
pub mod clock;
pub mod history;
pub mod ids;
pub mod lifecycle;
pub mod order;
pub mod payment;
pub mod principal;
pub mod quote;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod ticket;
pub mod timeline;

pub use catalog::{ClientDelete, OptionOffer, Prices, ProductType, ProductTypeRules, Tariff};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use history::{Action, HistoryEntry};
pub use ids::{ClientId, HistoryId, ServiceId, TariffId};
pub use principal::{Principal, Role};
pub use service::{AutoRenew, Operation, OptionLine, Service, Status};

/// A request that is well-formed but breaks a business rule (answered as 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleViolation(pub String);

impl RuleViolation {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
