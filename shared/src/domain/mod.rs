//! Pure domain: types and rules of the services backend. No I/O, no AWS, no Lambda types.

pub mod account;
pub mod acme_order;
pub mod actions;
pub mod adoption;
pub mod amount;
pub mod bulk;
pub mod catalog;
pub mod certificate;
pub mod changes;
pub mod clock;
pub mod csr;
pub mod drift;
pub mod events;
pub mod failure;
pub mod history;
pub mod ids;
pub mod import;
pub mod lifecycle;
#[cfg(test)]
mod lifecycle_model;
pub mod notification;
pub mod order;
pub mod paid_time;
pub mod panel_login;
pub mod payment;
pub mod pricing;
pub mod principal;
pub mod quote;
pub mod refusal;
pub mod reminders;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod text;
pub mod ticket;
pub mod timeline;
pub mod whmcs;

pub use catalog::{ClientDelete, OptionOffer, Prices, ProductType, ProductTypeRules, Tariff};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use history::{Action, HistoryEntry};
pub use ids::{ClientId, HistoryId, ServiceId, TariffId};
pub use paid_time::OptionLine;
pub use principal::{Principal, Role};
pub use service::{AutoRenew, Operation, Service, Status};

/// A request that is well-formed but breaks a business rule (answered as 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleViolation(pub String);

impl RuleViolation {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A request's string of at most `MAX` characters: a longer one is refused as it is read (400),
/// never cut. Documented as `maxLength` in `openapi.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Bounded<const MAX: usize>(pub String);

impl<'de, const MAX: usize> serde::Deserialize<'de> for Bounded<MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let length = text.chars().count();
        if length > MAX {
            return Err(serde::de::Error::custom(format!(
                "a string of {length} characters, over the {MAX} allowed"
            )));
        }
        if !text::is_clean(&text, true) {
            return Err(serde::de::Error::custom(
                "a string with control characters or bidirectional overrides",
            ));
        }
        Ok(Self(text))
    }
}

impl<const MAX: usize> std::ops::Deref for Bounded<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod bounded_tests {
    use super::Bounded;

    #[test]
    fn a_bounded_string_refuses_what_is_too_long() {
        assert_eq!(&*serde_json::from_str::<Bounded<3>>(r#""abc""#).unwrap(), "abc");
        assert!(serde_json::from_str::<Bounded<3>>(r#""abcd""#).is_err());
        assert_eq!(serde_json::to_string(&Bounded::<3>("ab".into())).unwrap(), r#""ab""#);
    }
}
