//! The catalog: product types with their rules, and tariffs with their prices and options.

use super::{RuleViolation, TariffId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The six kinds of service a provider sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    Vps,
    SharedHosting,
    Dedicated,
    Domain,
    Ssl,
    Vdc,
}

impl ProductType {
    pub const ALL: [ProductType; 6] = [
        ProductType::Vps,
        ProductType::SharedHosting,
        ProductType::Dedicated,
        ProductType::Domain,
        ProductType::Ssl,
        ProductType::Vdc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::Vps => "vps",
            ProductType::SharedHosting => "shared_hosting",
            ProductType::Dedicated => "dedicated",
            ProductType::Domain => "domain",
            ProductType::Ssl => "ssl",
            ProductType::Vdc => "vdc",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// Whether and when a client may delete its own service of a product type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientDelete {
    Forbidden,
    Immediate,
    EndOfPeriod,
}

/// The rules a product type sets for all of its services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductTypeRules {
    #[serde(rename = "type")]
    pub product_type: ProductType,
    pub client_delete: ClientDelete,
    pub client_can_suspend: bool,
    /// Abuse score at which services are suspended; 0 turns abuse suspension off.
    pub abuse_limit: u32,
    /// Days a service suspended for non-payment is kept before it is deleted.
    pub auto_delete_after_days: u32,
    /// Days before expiry that auto-renewal is first tried.
    pub renew_lead_days: u32,
    /// Where the product type's control panel takes operations (see `crate::panel`).
    #[serde(default)]
    pub panel_url: Option<String>,
}

/// Upper bounds on a product type's rules, to catch typos such as a lead of 3000 days.
pub const MAX_ABUSE_LIMIT: u32 = 1_000_000;
pub const MAX_AUTO_DELETE_DAYS: u32 = 3650;
pub const MAX_RENEW_LEAD_DAYS: u32 = 365;

impl ProductTypeRules {
    pub fn validate(&self) -> Result<(), RuleViolation> {
        let bounded = [
            ("abuse_limit", self.abuse_limit, MAX_ABUSE_LIMIT),
            ("auto_delete_after_days", self.auto_delete_after_days, MAX_AUTO_DELETE_DAYS),
            ("renew_lead_days", self.renew_lead_days, MAX_RENEW_LEAD_DAYS),
        ];
        if let Some((name, _, max)) = bounded.iter().find(|(_, value, max)| value > max) {
            return Err(RuleViolation::new(format!("{name} must be at most {max}")));
        }
        let url_ok = |u: &str| (u.starts_with("http://") || u.starts_with("https://")) && u.len() <= 512;
        match &self.panel_url {
            Some(url) if !url_ok(url) => {
                Err(RuleViolation::new("panel_url must be an http(s) URL of at most 512 characters"))
            }
            _ => Ok(()),
        }
    }
}

/// Longest billing period sold, in months.
pub const MAX_PERIOD_MONTHS: u16 = 120;

/// Prices in minor currency units keyed by the billing period in months. On the wire and in the
/// table the keys are strings (`{"1": 500, "12": 5000}`), as JSON and DynamoDB maps require.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prices(BTreeMap<u16, u64>);

impl Prices {
    pub fn new(by_period: BTreeMap<u16, u64>) -> Result<Self, RuleViolation> {
        let prices = Self(by_period);
        prices.validate()?;
        Ok(prices)
    }

    /// At least one price, each for 1 to `MAX_PERIOD_MONTHS` months. (Prices read from a
    /// request are checked here, with the rest of their tariff.)
    pub fn validate(&self) -> Result<(), RuleViolation> {
        let by_period = &self.0;
        if by_period.is_empty() {
            return Err(RuleViolation::new("a tariff needs at least one price"));
        }
        if let Some(bad) = by_period.keys().find(|m| **m == 0 || **m > MAX_PERIOD_MONTHS) {
            return Err(RuleViolation::new(format!(
                "period of {bad} months is outside 1..={MAX_PERIOD_MONTHS}"
            )));
        }
        Ok(())
    }

    pub fn for_period(&self, months: u16) -> Option<u64> {
        self.0.get(&months).copied()
    }

    pub fn periods(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.keys().copied()
    }
}

impl Serialize for Prices {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(m, p)| (m.to_string(), p)))
    }
}

impl<'de> Deserialize<'de> for Prices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut by_period = BTreeMap::new();
        for (key, price) in raw {
            let months = key.parse::<u16>().map_err(|_| {
                serde::de::Error::custom(format!("price key `{key}` is not a number of months"))
            })?;
            by_period.insert(months, price);
        }
        Ok(Self(by_period))
    }
}

/// An option (addon) a tariff offers: an extra resource priced per unit per month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionOffer {
    pub id: String,
    pub name: String,
    /// Price of one unit for one month, in minor units.
    pub price: u64,
    /// Most units one service may have.
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    pub id: TariffId,
    pub product_type: ProductType,
    pub name: String,
    pub prices: Prices,
    pub options: Vec<OptionOffer>,
    pub required_params: Vec<String>,
    pub change_to: Vec<TariffId>,
}

/// Bounds on what a tariff may hold.
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_PARAMS: usize = 20;
pub const MAX_PARAM_NAME_LEN: usize = 64;
pub const MAX_CHANGE_TO: usize = 20;

impl Tariff {
    /// Checks the rules a tariff must keep on its own (references to other tariffs are checked
    /// by the caller, which can read them).
    pub fn validate(&self) -> Result<(), RuleViolation> {
        let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= MAX_NAME_LEN;
        if !name_ok(&self.name) {
            return Err(RuleViolation::new("name must be 1 to 100 characters"));
        }
        self.prices.validate()?;
        if self.options.len() > MAX_OPTIONS {
            return Err(RuleViolation::new("a tariff offers at most 50 options"));
        }
        for (i, option) in self.options.iter().enumerate() {
            if !is_slug(&option.id, MAX_PARAM_NAME_LEN) || !name_ok(&option.name) {
                return Err(RuleViolation::new(
                    "option ids are slugs of 1 to 64 characters and names 1 to 100 characters",
                ));
            }
            if self.options[..i].iter().any(|o| o.id == option.id) {
                return Err(RuleViolation::new(format!("option `{}` is listed twice", option.id)));
            }
            if option.max == 0 {
                return Err(RuleViolation::new(format!("option `{}` has max 0", option.id)));
            }
        }
        if self.required_params.len() > MAX_PARAMS {
            return Err(RuleViolation::new("a tariff requires at most 20 parameters"));
        }
        for (i, param) in self.required_params.iter().enumerate() {
            if !is_slug(param, MAX_PARAM_NAME_LEN) || self.required_params[..i].contains(param) {
                return Err(RuleViolation::new(format!(
                    "required parameter `{param}` must be a unique slug of 1 to 64 characters"
                )));
            }
        }
        if self.change_to.len() > MAX_CHANGE_TO || self.change_to.contains(&self.id) {
            return Err(RuleViolation::new(
                "change_to lists at most 20 other tariffs, not the tariff itself",
            ));
        }
        Ok(())
    }

    pub fn option(&self, id: &str) -> Option<&OptionOffer> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// `a-z`, `0-9`, `_` and `-`, 1 to `max` characters.
pub fn is_slug(raw: &str, max: usize) -> bool {
    !raw.is_empty()
        && raw.len() <= max
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A tariff for unit tests: `vps-start`, 1 or 12 months, an `ip` option, needs `os_template`.
#[cfg(test)]
pub(crate) fn sample_tariff() -> Tariff {
    Tariff {
        id: TariffId::parse("vps-start").unwrap(),
        product_type: ProductType::Vps,
        name: "VPS Start".into(),
        prices: Prices::new(BTreeMap::from([(1, 500), (12, 5000)])).unwrap(),
        options: vec![OptionOffer { id: "ip".into(), name: "IPv4".into(), price: 100, max: 4 }],
        required_params: vec!["os_template".into()],
        change_to: vec![],
    }
}

/// The rules the unit tests assume: a VPS, deleted at once by its client, abuse limit 100, kept
/// 14 days unpaid, renewed 3 days ahead.
#[cfg(test)]
pub(crate) fn sample_rules() -> ProductTypeRules {
    ProductTypeRules {
        product_type: ProductType::Vps,
        client_delete: ClientDelete::Immediate,
        client_can_suspend: true,
        abuse_limit: 100,
        auto_delete_after_days: 14,
        renew_lead_days: 3,
        panel_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_round_trip_with_string_keys() {
        let json = serde_json::to_string(&sample_tariff().prices).unwrap();
        assert_eq!(json, r#"{"1":500,"12":5000}"#);
        let back: Prices = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample_tariff().prices);
        assert!(serde_json::from_str::<Prices>(r#"{"x":1}"#).is_err());
    }

    #[test]
    fn prices_need_a_sane_period() {
        assert!(Prices::new(BTreeMap::new()).is_err());
        assert!(Prices::new(BTreeMap::from([(0, 1)])).is_err());
        assert!(Prices::new(BTreeMap::from([(121, 1)])).is_err());
    }

    #[test]
    fn a_valid_tariff_passes() {
        assert_eq!(sample_tariff().validate(), Ok(()));
    }

    #[test]
    fn tariff_rules_are_enforced() {
        let mut t = sample_tariff();
        t.options.push(t.options[0].clone());
        assert!(t.validate().is_err(), "duplicate option");
        let mut t = sample_tariff();
        t.name = " ".into();
        assert!(t.validate().is_err(), "blank name");
        let mut t = sample_tariff();
        t.change_to = vec![t.id.clone()];
        assert!(t.validate().is_err(), "changes to itself");
        let mut t = sample_tariff();
        t.required_params.push("Bad Name".into());
        assert!(t.validate().is_err(), "param name not a slug");
        let mut t = sample_tariff();
        t.options[0].max = 0;
        assert!(t.validate().is_err(), "option max 0");
    }

    #[test]
    fn product_types_parse_from_their_names() {
        for t in ProductType::ALL {
            assert_eq!(ProductType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(ProductType::parse("mainframe"), None);
    }
}
