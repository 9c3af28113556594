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

/// What deleting an activated service gives back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOnDelete {
    /// Nothing.
    #[default]
    None,
    /// The unused share of what was paid for the time left (see `domain::paid_time`).
    Unused,
}

/// What the scheduled reconciliation may do by itself about what it finds (see
/// `crate::reconciliation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileMode {
    /// Keep every difference for a person to resolve.
    #[default]
    Report,
    /// Also suspend again on the panel what billing holds suspended (the money-safe direction:
    /// a service nobody pays for stops running); the rest is kept for a person.
    FixSuspensions,
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
    /// How many days before a due date (an auto-renewal attempt, an expiry, a deletion for
    /// non-payment) its client is reminded: one reminder for each (see `domain::reminders`).
    #[serde(default = "default_remind_days_before")]
    pub remind_days_before: Vec<u32>,
    /// What a deletion gives back of what was paid.
    #[serde(default)]
    pub refund_on_delete: RefundOnDelete,
    /// What a reconciliation does by itself.
    #[serde(default)]
    pub reconcile: ReconcileMode,
    /// Whether a service's client (and the provider) may sign in to its control panel with a
    /// one-time link (`POST /services/{id}/panel-session`, see `domain::panel_login`).
    #[serde(default)]
    pub panel_login: bool,
    /// What carries its operations out: the control panel at `panel_url`, or (for `ssl`) a
    /// certificate authority speaking ACME. Its fields sit beside the others on the wire.
    #[serde(flatten)]
    pub processing: Processing,
}

/// A product type's processing module and its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processing {
    #[serde(default, skip_serializing_if = "Module::is_panel")]
    pub module: Module,
    /// The ACME module's directory, e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_directory_url: Option<String>,
    /// The ACME account's External Account Binding key id, from the authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eab_kid: Option<String>,
    /// Where the EAB HMAC key is kept, never the key itself: `env:NAME`, an environment variable
    /// of the worker (see `crate::acme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eab_hmac_key: Option<String>,
    /// The ACME account's contact e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// What carries a product type's operations out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// The control panel contract (`crate::panel`) at `panel_url`.
    #[default]
    Panel,
    /// A certificate authority speaking ACME (`crate::acme`) at `acme_directory_url`.
    Acme,
}

impl Module {
    fn is_panel(&self) -> bool {
        *self == Module::Panel
    }
}

/// Where an EAB key is named: an environment variable's name after `env:`.
pub const SECRET_FROM_ENV: &str = "env:";
/// Whether `raw` names where a secret is kept (`env:NAME`, NAME of capitals, digits and `_`).
fn is_secret_name(raw: &str) -> bool {
    raw.strip_prefix(SECRET_FROM_ENV).is_some_and(|name| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// The longest ACME setting (a URL, a key id, a contact, a secret's name).
pub const MAX_ACME_SETTING_LEN: usize = 512;

pub fn default_remind_days_before() -> Vec<u32> {
    vec![7, 1]
}

/// At most this many reminders before one due date, each at most `MAX_REMIND_DAYS` ahead.
pub const MAX_REMINDERS: usize = 5;
pub const MAX_REMIND_DAYS: u32 = 60;

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
        let days = &self.remind_days_before;
        let distinct: std::collections::BTreeSet<_> = days.iter().collect();
        if days.len() > MAX_REMINDERS
            || distinct.len() != days.len()
            || days.iter().any(|d| !(1..=MAX_REMIND_DAYS).contains(d))
        {
            return Err(RuleViolation::new(format!(
                "remind_days_before must be at most {MAX_REMINDERS} different day counts from 1 to {MAX_REMIND_DAYS}"
            )));
        }
        if let Some(url) = &self.panel_url {
            if !is_panel_url(url) {
                return Err(RuleViolation::new(format!(
                    "panel_url must be an http(s) URL with a host, of at most {MAX_PANEL_URL_LEN} characters, \
                     without user, query or fragment"
                )));
            }
        }
        self.validate_module()
    }

    /// The ACME settings: all of them for `module: acme` (on `ssl` only), none otherwise.
    fn validate_module(&self) -> Result<(), RuleViolation> {
        let settings = [
            &self.processing.acme_directory_url,
            &self.processing.eab_kid,
            &self.processing.eab_hmac_key,
            &self.processing.contact,
        ];
        if self.processing.module == Module::Panel {
            return match settings.iter().any(|s| s.is_some()) {
                true => Err(RuleViolation::new(
                    "acme_directory_url, eab_kid, eab_hmac_key and contact are the acme module's settings",
                )),
                false => Ok(()),
            };
        }
        if self.product_type != ProductType::Ssl {
            return Err(RuleViolation::new("the acme module issues ssl certificates only"));
        }
        if settings.iter().flat_map(|s| s.as_deref()).any(|s| s.len() > MAX_ACME_SETTING_LEN) {
            return Err(RuleViolation::new(format!(
                "each acme setting is at most {MAX_ACME_SETTING_LEN} characters"
            )));
        }
        match &self.processing.acme_directory_url {
            Some(url) if url.starts_with("https://") && is_panel_url(url) => {}
            _ => return Err(RuleViolation::new("acme_directory_url must be the authority's https URL")),
        }
        match self.processing.contact.as_deref() {
            Some(contact) if super::text::is_email(contact) => {}
            _ => {
                return Err(RuleViolation::new("contact must be the e-mail address the authority writes to"))
            }
        }
        match (&self.processing.eab_kid, &self.processing.eab_hmac_key) {
            (None, None) => Ok(()),
            (Some(kid), Some(key)) if !kid.trim().is_empty() && is_secret_name(key) => Ok(()),
            (Some(_), Some(_)) => Err(RuleViolation::new(
                "eab_hmac_key names where the key is kept (`env:NAME`), never the key itself",
            )),
            _ => Err(RuleViolation::new("eab_kid and eab_hmac_key go together")),
        }
    }

    /// Whether its operations go to a certificate authority rather than a panel.
    pub fn is_acme(&self) -> bool {
        self.processing.module == Module::Acme
    }

    /// Where the product type's control panel is; `NoPanel` when none is set.
    pub fn panel(&self) -> Result<&str, NoPanel> {
        self.panel_url.as_deref().ok_or(NoPanel(self.product_type))
    }

    /// Whether something carries its operations out: a certificate authority, or a panel
    /// (`NoPanel` when neither is set).
    pub fn operable(&self) -> Result<(), NoPanel> {
        if self.is_acme() {
            return Ok(());
        }
        self.panel().map(|_| ())
    }
}

/// The longest `panel_url`.
pub const MAX_PANEL_URL_LEN: usize = 512;

/// Whether `url` can be a control panel's address, to which the panel's paths are appended:
/// `http(s)://host[:port][/path]`, the host a DNS name or an IP address, the path printable
/// ASCII; no user, query or fragment.
fn is_panel_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    url.len() <= MAX_PANEL_URL_LEN && is_host_and_port(authority) && path.bytes().all(is_path_byte)
}

/// `host[:port]`: a DNS name or an IPv4 address, or an IPv6 address in brackets.
pub(crate) fn is_host_and_port(authority: &str) -> bool {
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((address, port)) => (address.parse::<std::net::Ipv6Addr>().is_ok(), port),
            None => return false,
        },
        None => {
            let (name, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
            (is_host_name(name), port)
        }
    };
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<u16>().is_ok(),
        None => port.is_empty(),
    };
    host && port_ok
}

/// Dot-separated labels of ASCII letters, digits and inner hyphens (an IPv4 address is one).
fn is_host_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    (1..=253).contains(&name.len()) && name.split('.').all(label_ok)
}

/// A byte a path may hold as is: printable ASCII that is neither a delimiter (`?`, `#`) nor
/// unsafe in a URL.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"?#\"<>\\^`{|}".contains(&b)
}

/// A product type without a control panel: nothing that needs the panel can be done with its
/// services (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {} product type has no control panel set", .0.as_str())]
pub struct NoPanel(pub ProductType);

/// Where the control panel of `product_type`, whose rules are `rules` if any are set, is.
pub fn panel_of(rules: Option<&ProductTypeRules>, product_type: ProductType) -> Result<&str, NoPanel> {
    rules.ok_or(NoPanel(product_type))?.panel()
}

/// Whether something carries out the operations of `product_type`, whose rules are `rules` if
/// any are set (see `ProductTypeRules::operable`).
pub fn operable(rules: Option<&ProductTypeRules>, product_type: ProductType) -> Result<(), NoPanel> {
    rules.ok_or(NoPanel(product_type))?.operable()
}

/// Every product type's rules as read together, by type (a type without rules set is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesByType(BTreeMap<ProductType, ProductTypeRules>);

impl RulesByType {
    pub fn new(rules: impl IntoIterator<Item = ProductTypeRules>) -> Self {
        Self(rules.into_iter().map(|r| (r.product_type, r)).collect())
    }

    pub fn get(&self, product_type: ProductType) -> Option<&ProductTypeRules> {
        self.0.get(&product_type)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ProductTypeRules> {
        self.0.values()
    }

    /// Whether something carries `product_type`'s operations out (see
    /// `ProductTypeRules::operable`).
    pub fn operable(&self, product_type: ProductType) -> Result<(), NoPanel> {
        operable(self.get(product_type), product_type)
    }

    /// Where `product_type`'s control panel is (see `panel_of`).
    pub fn panel(&self, product_type: ProductType) -> Result<&str, NoPanel> {
        panel_of(self.get(product_type), product_type)
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
            // Written plainly: `+1`, `01` or ` 1` would collapse onto `1`.
            let months = key.parse::<u16>().ok().filter(|m| m.to_string() == key).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "price key `{key}` is not a number of months written plainly"
                ))
            })?;
            if price > super::amount::MAX_AMOUNT {
                return Err(serde::de::Error::custom(format!(
                    "price for {months} months is over {} minor units",
                    super::amount::MAX_AMOUNT
                )));
            }
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
    #[serde(deserialize_with = "super::amount::bounded_amount")]
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
    /// A certificate tariff's terms: its orders carry a CSR (`params.csr`), checked against
    /// them, and a validation method (`params.validation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<super::csr::CertificateTerms>,
}

/// Bounds on what a tariff may hold.
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_PARAMS: usize = 20;
pub const MAX_PARAM_NAME_LEN: usize = 64;
pub const MAX_CHANGE_TO: usize = 20;
/// The most units of one option a tariff may offer a service.
pub const MAX_OPTION_UNITS: u32 = 1000;

impl Tariff {
    /// Checks the rules a tariff must keep on its own (references to other tariffs are checked
    /// by the caller, which can read them).
    pub fn validate(&self) -> Result<(), RuleViolation> {
        let name_ok = |n: &str| super::text::line(n, "name", MAX_NAME_LEN).is_ok();
        super::text::line(&self.name, "name", MAX_NAME_LEN)?;
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
            if option.max == 0 || option.max > MAX_OPTION_UNITS {
                return Err(RuleViolation::new(format!(
                    "option `{}`: max must be 1 to {MAX_OPTION_UNITS}",
                    option.id
                )));
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
        let listed_twice = self.change_to.iter().enumerate().find(|(i, t)| self.change_to[..*i].contains(t));
        if let Some((_, twice)) = listed_twice {
            return Err(RuleViolation::new(format!("change_to lists `{twice}` twice")));
        }
        if let Some(terms) = &self.certificate {
            use super::csr::{CSR_PARAM, VALIDATION_PARAM};
            terms.validate()?;
            let takes = |p: &str| self.required_params.iter().any(|r| r == p);
            if self.product_type != ProductType::Ssl || !takes(CSR_PARAM) || !takes(VALIDATION_PARAM) {
                return Err(RuleViolation::new(
                    "certificate terms are an ssl tariff's, which requires the parameters `csr` and `validation`",
                ));
            }
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

/// A tariff for unit tests and made-up examples (a template's check): `vps-start`, 1 or 12
/// months, an `ip` option, needs `os_template`.
pub(crate) fn sample_tariff() -> Tariff {
    Tariff {
        id: TariffId::parse("vps-start").unwrap(),
        product_type: ProductType::Vps,
        name: "VPS Start".into(),
        prices: Prices::new(BTreeMap::from([(1, 500), (12, 5000)])).unwrap(),
        options: vec![OptionOffer { id: "ip".into(), name: "IPv4".into(), price: 100, max: 4 }],
        required_params: vec!["os_template".into()],
        change_to: vec![],
        certificate: None,
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
        remind_days_before: default_remind_days_before(),
        refund_on_delete: RefundOnDelete::None,
        reconcile: ReconcileMode::Report,
        panel_login: false,
        processing: Processing::default(),
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
    fn price_keys_are_months_written_plainly() {
        for bad in [r#"{"+1": 5, "01": 7}"#, r#"{"01": 7}"#, r#"{" 1": 7}"#, r#"{"1.0": 7}"#, r#"{"1e0": 7}"#]
        {
            assert!(serde_json::from_str::<Prices>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Prices>(r#"{"1": 5, "12": 50}"#).is_ok());
    }

    #[test]
    fn names_lists_and_bounds_are_checked() {
        let mut t = sample_tariff();
        let other = TariffId::parse("vps-pro").unwrap();
        t.change_to = vec![other.clone(), other];
        assert!(t.validate().unwrap_err().0.contains("twice"), "change_to repeats a tariff");
        for name in ["VPS\0", "VPS \u{202E}orP", "\u{200B}\u{200C}"] {
            let name = name.to_owned();
            let t = Tariff { name: name.clone(), ..sample_tariff() };
            assert!(t.validate().is_err(), "tariff name {name:?}");
            let mut t = sample_tariff();
            t.options[0].name = name.clone();
            assert!(t.validate().is_err(), "option name {name:?}");
        }
        let mut t = sample_tariff();
        t.options[0].max = u32::MAX;
        assert!(t.validate().is_err(), "option max past the bound");
        t.options[0].max = MAX_OPTION_UNITS;
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn product_types_parse_from_their_names() {
        for t in ProductType::ALL {
            assert_eq!(ProductType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(ProductType::parse("mainframe"), None);
    }

    #[test]
    fn a_panel_url_is_an_http_url_with_a_host_that_paths_can_follow() {
        let with_panel = |url: &str| ProductTypeRules { panel_url: Some(url.into()), ..sample_rules() };
        for good in [
            "https://panel.example.net",
            "http://127.0.0.1:8700/table/vps",
            "https://panel-1.example.net:443/api/v2/",
            "https://[::1]:8443/vps",
            "http://localhost/%7Evps",
        ] {
            assert_eq!(with_panel(good).validate(), Ok(()), "{good}");
        }
        let too_long = format!("https://panel.example.net/{}", "a".repeat(512));
        for bad in [
            "",
            "https://",
            "http://",
            "http:///vps",
            "https://:8443",
            "ftp://panel.example.net",
            "HTTPS//panel.example.net",
            "panel.example.net",
            "https://panel example.net",
            "https://panel.example.net/v ps",
            "https://panel.example.net/\u{7}",
            "https://user:secret@panel.example.net",
            "https://panel.example.net:99999",
            "https://panel.example.net:",
            "https://panel.example.net:80a",
            "https://panel..example.net",
            "https://-panel.example.net",
            "https://panel_1.example.net",
            "https://[::1/vps",
            "https://[vps]",
            "https://panel.example.net/vps?token=1",
            "https://panel.example.net/#vps",
            "https://panel.example.net\\vps",
            "https://pänel.example.net",
            &too_long,
        ] {
            assert!(with_panel(bad).validate().is_err(), "{bad:?} passed");
        }
        assert_eq!(sample_rules().validate(), Ok(()), "no panel is allowed (operations are then refused)");
    }

    #[test]
    fn a_type_without_rules_or_without_a_panel_has_no_panel_and_the_refusal_names_it() {
        let with_panel =
            ProductTypeRules { panel_url: Some("https://panel.example.net".into()), ..sample_rules() };
        assert_eq!(with_panel.panel(), Ok("https://panel.example.net"));
        assert_eq!(sample_rules().panel(), Err(NoPanel(ProductType::Vps)));
        assert_eq!(panel_of(None, ProductType::Ssl), Err(NoPanel(ProductType::Ssl)));
        let by_type = RulesByType::new([with_panel.clone()]);
        assert_eq!(by_type.get(ProductType::Vps), Some(&with_panel));
        assert_eq!(by_type.panel(ProductType::Vps), Ok("https://panel.example.net"));
        assert_eq!(by_type.panel(ProductType::Domain), Err(NoPanel(ProductType::Domain)));
        assert_eq!(
            NoPanel(ProductType::SharedHosting).to_string(),
            "the shared_hosting product type has no control panel set"
        );
    }
}
