//! Additional settings some product types have beside the lifecycle: IP addresses, statistics,
//! nameservers and whois, virtual servers. The control panel holds them; this module decides
//! who may ask, checks what is asked, and works out what an IP address costs.

use super::history::Actor;
use super::lifecycle::{Change, Refusal};
use super::{Action, Bounded, OptionLine, ProductType, RuleViolation, Service, Status, Tariff, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use super::text::is_host_name;

/// A setting of one service, kept on its control panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    IpAddresses,
    Statistics,
    Nameservers,
    Whois,
    VirtualServers,
}

impl Setting {
    pub fn name(self) -> &'static str {
        match self {
            Setting::IpAddresses => "IP addresses",
            Setting::Statistics => "statistics",
            Setting::Nameservers => "nameservers",
            Setting::Whois => "whois",
            Setting::VirtualServers => "virtual servers",
        }
    }

    pub fn product_types(self) -> &'static [ProductType] {
        match self {
            Setting::IpAddresses => &[ProductType::Vps],
            Setting::Statistics => &[ProductType::Vps, ProductType::SharedHosting],
            Setting::Nameservers | Setting::Whois => &[ProductType::Domain],
            Setting::VirtualServers => &[ProductType::Vdc],
        }
    }
}

impl Service {
    /// A setting is there for the product types that have it, on an active service with no
    /// operation running (409 naming the type or the status otherwise).
    pub fn ensure_setting(&self, setting: Setting) -> Result<(), Refusal> {
        if !setting.product_types().contains(&self.product_type) {
            return Err(Refusal::Conflict(format!(
                "{} are not available for {} services",
                setting.name(),
                self.product_type.as_str()
            )));
        }
        let what = format!("use the {} of", setting.name());
        self.ensure_idle(&what)?;
        if self.status != Status::Active {
            return Err(self.refuse_status(&what));
        }
        Ok(())
    }

    /// The record of a setting changed on the panel: one version on, one history entry.
    pub fn setting_changed(&self, action: Action, details: Value, actor: &Actor, at: Timestamp) -> Change {
        self.record(self.clone(), actor, action, at, details)
    }
}

/// An IP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum IpVersion {
    V4,
    V6,
}

impl TryFrom<u8> for IpVersion {
    type Error = String;
    fn try_from(raw: u8) -> Result<Self, String> {
        match raw {
            4 => Ok(IpVersion::V4),
            6 => Ok(IpVersion::V6),
            other => Err(format!("version must be 4 or 6, not {other}")),
        }
    }
}

impl From<IpVersion> for u8 {
    fn from(version: IpVersion) -> u8 {
        match version {
            IpVersion::V4 => 4,
            IpVersion::V6 => 6,
        }
    }
}

impl IpVersion {
    /// The tariff option that sells extra addresses of this version.
    pub fn option_id(self) -> &'static str {
        match self {
            IpVersion::V4 => "ipv4",
            IpVersion::V6 => "ipv6",
        }
    }
}

/// Is `raw` an id of the form the panel gives its virtual servers (1 to 64 letters, digits,
/// `-` and `_`)? Anything else, `.` and `..` among them, never goes into a panel path.
pub fn is_virtual_server_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An address as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    pub address: String,
    pub version: IpVersion,
}

/// Addresses of a version a VPS may hold where its tariff does not sell them as an option.
pub const MAX_FREE_ADDRESSES: u32 = 16;

/// What adding or removing one address does to the service: the options it then has, and the
/// money for the days left (positive: charge; negative: credit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMove {
    pub options: Vec<OptionLine>,
    pub renewal_price: u64,
    pub renewal_lines: Vec<super::paid_time::PaidLine>,
    pub amount: i64,
    /// The paid time once the address is added or removed.
    pub record: Vec<super::paid_time::Stretch>,
}

impl Service {
    fn option_quantity(&self, id: &str) -> u32 {
        self.options.iter().find(|o| o.id == id).map_or(0, |o| o.quantity)
    }

    /// Adding (`delta` 1) or removing (-1) an address of `version`, which the service holds
    /// `held` of now. Every VPS comes with one IPv4 address, which stays. Where the tariff
    /// sells the version as an option, extra addresses move the option's quantity and are
    /// charged or credited for the days left (422 over its max); elsewhere they are free up to
    /// `MAX_FREE_ADDRESSES`.
    pub fn move_address(
        &self,
        tariff: &Tariff,
        version: IpVersion,
        held: u32,
        delta: i32,
        at: Timestamp,
    ) -> Result<Option<AddressMove>, Refusal> {
        if delta < 0 && version == IpVersion::V4 && held <= 1 {
            return Err(Refusal::Conflict("a VPS keeps its last IPv4 address".into()));
        }
        let Some(offer) = tariff.option(version.option_id()) else {
            if delta > 0 && held >= MAX_FREE_ADDRESSES {
                return Err(Refusal::Invalid(format!(
                    "at most {MAX_FREE_ADDRESSES} IPv{} addresses",
                    u8::from(version)
                )));
            }
            return Ok(None);
        };
        let quantity = self.option_quantity(&offer.id);
        if delta < 0 && quantity == 0 {
            // An included address: nothing was paid for it.
            return Ok(None);
        }
        let wanted = quantity.saturating_add_signed(delta);
        if wanted > offer.max {
            return Err(Refusal::Invalid(format!(
                "the tariff allows at most {} extra IPv{} addresses",
                offer.max,
                u8::from(version)
            )));
        }
        let mut options: Vec<OptionLine> =
            self.options.iter().filter(|o| o.id != offer.id).cloned().collect();
        if wanted > 0 {
            options.push(OptionLine { id: offer.id.clone(), quantity: wanted });
        }
        let (renewal_price, renewal_lines) = self.renewal_with_options(tariff, &options)?;
        let expires_at = self.expires_at.ok_or_else(|| self.refuse_status("change the addresses of"))?;
        if delta > 0 {
            self.ensure_paid_time_for_more("add a paid address to it", expires_at, at)?;
        }
        let priced = self.price_options(tariff, &options, expires_at, at)?;
        let (amount, record) = (priced.amount, priced.record);
        Ok(Some(AddressMove { options, renewal_price, renewal_lines, amount, record }))
    }

    /// The record of an address added or removed on the panel, with its option moved.
    pub fn address_changed(
        &self,
        address: &IpAddress,
        added: bool,
        moved: Option<&AddressMove>,
        actor: &Actor,
        at: Timestamp,
    ) -> Change {
        let mut next = self.clone();
        let mut details = json!({"address": address.address, "version": address.version});
        if let Some(moved) = moved {
            next.options = moved.options.clone();
            next.renewal_price = moved.renewal_price;
            next.renewal_lines = moved.renewal_lines.clone();
            next.paid_time = moved.record.clone();
            details["amount"] = json!(moved.amount);
        }
        let action = if added { Action::IpAddressAdd } else { Action::IpAddressRemove };
        self.record(next, actor, action, at, details)
    }
}

/// A domain name as the registry takes it: a host name, lower case, no trailing dot, an
/// international name in its A-labels (`пример.рф` → `xn--e1afmkfd.xn--p1ai`, by UTS 46, which
/// also checks the A-labels it is given). The top-level domain is letters, or an A-label.
pub fn domain_name(raw: &str) -> Result<String, RuleViolation> {
    let refused = || RuleViolation::new(format!("`{raw}` is not a domain name"));
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() || trimmed.chars().count() > 253 {
        return Err(refused());
    }
    let name = idna::domain_to_ascii(trimmed).map_err(|_| refused())?;
    let tld_ok = name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.starts_with("xn--") || tld.bytes().all(|b| b.is_ascii_alphabetic()));
    if is_host_name(&name) && tld_ok {
        Ok(name)
    } else {
        Err(refused())
    }
}

pub const MIN_NAMESERVERS: usize = 2;
pub const MAX_NAMESERVERS: usize = 13;

/// A domain's nameservers: 2 to 13 distinct host names, lower case, no trailing dot.
pub fn nameservers(raw: &[String]) -> Result<Vec<String>, RuleViolation> {
    if !(MIN_NAMESERVERS..=MAX_NAMESERVERS).contains(&raw.len()) {
        return Err(RuleViolation::new(format!(
            "a domain needs {MIN_NAMESERVERS} to {MAX_NAMESERVERS} nameservers"
        )));
    }
    let mut names = Vec::with_capacity(raw.len());
    for name in raw {
        if !is_host_name(name.trim()) {
            return Err(RuleViolation::new(format!("nameserver `{name}` is not a host name")));
        }
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if names.contains(&name) {
            return Err(RuleViolation::new(format!("nameserver `{name}` is listed twice")));
        }
        names.push(name);
    }
    Ok(names)
}

/// A domain's registrant contact, as whois shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registrant {
    pub name: Bounded<200>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Bounded<200>>,
    pub email: Bounded<254>,
    pub phone: Bounded<16>,
    pub address: PostalAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    pub street: Bounded<200>,
    pub city: Bounded<100>,
    pub postal_code: Bounded<20>,
    pub country: String,
}

fn text_field(value: &str, field: &str, max: usize) -> Result<String, RuleViolation> {
    super::text::line(value, field, max)
}

/// An e-mail address: a local part of 1 to 64 printable characters without spaces, `@`, and a
/// host name.
pub fn is_email(raw: &str) -> bool {
    match raw.rsplit_once('@') {
        Some((local, host)) => {
            (1..=64).contains(&local.len())
                && local.chars().all(|c| c.is_ascii_graphic() && c != '@')
                && is_host_name(host)
                && raw.len() <= 254
        }
        None => false,
    }
}

/// A phone number in E.164: `+`, a non-zero digit, then up to 14 more digits.
pub fn is_e164(raw: &str) -> bool {
    let Some(digits) = raw.strip_prefix('+') else { return false };
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// The ISO 3166-1 alpha-2 country codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO \
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES \
ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ \
IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM \
MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW \
PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

impl Registrant {
    /// The contact with its fields checked and trimmed (422 naming the first bad field).
    pub fn validated(&self) -> Result<Registrant, RuleViolation> {
        let email = self.email.trim();
        if !is_email(email) {
            return Err(RuleViolation::new("email must be an e-mail address"));
        }
        let phone = self.phone.trim();
        if !is_e164(phone) {
            return Err(RuleViolation::new("phone must be in E.164 form, such as +4930123456"));
        }
        let country = self.address.country.trim();
        if !is_country(country) {
            return Err(RuleViolation::new("address.country must be an ISO 3166-1 alpha-2 code, such as DE"));
        }
        Ok(Registrant {
            name: Bounded(text_field(&self.name, "name", 200)?),
            organization: self
                .organization
                .as_deref()
                .map(|o| text_field(o, "organization", 200).map(Bounded))
                .transpose()?,
            email: Bounded(email.to_owned()),
            phone: Bounded(phone.to_owned()),
            address: PostalAddress {
                street: Bounded(text_field(&self.address.street, "address.street", 200)?),
                city: Bounded(text_field(&self.address.city, "address.city", 100)?),
                postal_code: Bounded(text_field(&self.address.postal_code, "address.postal_code", 20)?),
                country: country.to_owned(),
            },
        })
    }
}

/// The longest period statistics are given for.
pub const MAX_STATISTICS_MONTHS: u32 = 12;

/// A statistics period: `from` before `to`, at most a year long.
pub fn statistics_period(from: Timestamp, to: Timestamp) -> Result<(Timestamp, Timestamp), RuleViolation> {
    if from >= to {
        return Err(RuleViolation::new("`from` must be before `to`"));
    }
    if to > from.plus_months(MAX_STATISTICS_MONTHS) {
        return Err(RuleViolation::new("the period may be at most a year long"));
    }
    Ok((from, to))
}

/// One sample of a service's usage, as the panel reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePoint {
    pub at: Timestamp,
    pub cpu_percent: f64,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub traffic_mb: u64,
}

/// A virtual server a client asks its data center for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServerSpec {
    pub name: Bounded<63>,
    pub vcpu: u32,
    pub memory_mb: u32,
    pub disk_gb: u32,
}

/// A virtual server as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub id: String,
    pub name: String,
    pub vcpu: u32,
    pub memory_mb: u32,
    pub disk_gb: u32,
}

impl VirtualServerSpec {
    pub fn validate(&self) -> Result<(), RuleViolation> {
        let label_ok = (1..=63).contains(&self.name.len())
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !self.name.starts_with('-');
        if !label_ok {
            return Err(RuleViolation::new("name must be 1 to 63 letters, digits or hyphens"));
        }
        let bounded = [
            ("vcpu", self.vcpu, 1, 64),
            ("memory_mb", self.memory_mb, 512, 262_144),
            ("disk_gb", self.disk_gb, 10, 4096),
        ];
        match bounded.iter().find(|(_, value, min, max)| value < min || value > max) {
            Some((field, _, min, max)) => Err(RuleViolation::new(format!("{field} must be {min} to {max}"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;
    use crate::domain::{Role, TariffId};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn active_vps() -> Service {
        let mut service = crate::domain::order::sample_service(at("2026-11-01T00:00:00Z"));
        service.status = Status::Active;
        service.expires_at = Some(at("2026-12-01T00:00:00Z"));
        // Its paid time built from what it paid (as for a service stored before the record).
        service.net_paid = Some(service.order_price);
        service
    }

    fn tariff_with_ip_option(max: u32) -> Tariff {
        let mut tariff = sample_tariff();
        tariff.options.push(crate::domain::OptionOffer {
            id: "ipv4".into(),
            name: "Extra IPv4".into(),
            price: 300,
            max,
        });
        tariff.id = TariffId::parse("vps-ip").unwrap();
        tariff
    }

    #[test]
    fn a_whois_name_refuses_control_characters_bidi_overrides_and_invisible_text() {
        let contact = |name: &str| -> Registrant {
            serde_json::from_value(serde_json::json!({
                "name": name,
                "email": "a@example.net",
                "phone": "+4930123456",
                "address": {"street": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
            }))
            .unwrap_or_else(|_| Registrant {
                name: Bounded(name.to_owned()),
                organization: None,
                email: Bounded("a@example.net".into()),
                phone: Bounded("+4930123456".into()),
                address: PostalAddress {
                    street: Bounded("Main St 1".into()),
                    city: Bounded("Berlin".into()),
                    postal_code: Bounded("10115".into()),
                    country: "DE".into(),
                },
            })
        };
        assert!(contact("Alice Example").validated().is_ok());
        for bad in ["Alice\0", "Alice \u{202E}elpmaxE", "\u{200B}\u{200D}"] {
            assert!(contact(bad).validated().is_err(), "{bad:?}");
        }
        // Read from a request, a string with a control character or an override is refused
        // as it is read.
        assert!(serde_json::from_str::<Bounded<10>>("\"a\\u202Eb\"").is_err());
        assert!(serde_json::from_str::<Bounded<10>>("\"a\\u0000b\"").is_err());
    }

    #[test]
    fn settings_belong_to_product_types_and_active_services() {
        let vps = active_vps();
        assert!(vps.ensure_setting(Setting::IpAddresses).is_ok());
        assert!(vps.ensure_setting(Setting::Statistics).is_ok());
        let Err(Refusal::Conflict(detail)) = vps.ensure_setting(Setting::Nameservers) else { panic!() };
        assert!(detail.contains("vps"), "{detail}");
        let suspended = Service { status: Status::Suspended, ..active_vps() };
        let Err(Refusal::Conflict(detail)) = suspended.ensure_setting(Setting::IpAddresses) else { panic!() };
        assert!(detail.contains("suspended"), "{detail}");
    }

    #[test]
    fn an_extra_address_is_charged_as_the_option_for_the_days_left() {
        let vps = active_vps();
        let tariff = tariff_with_ip_option(1);
        let now = at("2026-11-16T00:00:00Z");
        let moved = vps.move_address(&tariff, IpVersion::V4, 1, 1, now).unwrap().unwrap();
        assert_eq!(moved.amount, 150, "half of 300 for the 15 days left of 30");
        assert_eq!(moved.options, vec![OptionLine { id: "ipv4".into(), quantity: 1 }]);
        // The address paid for, then given back the same day: what was paid for it.
        let address = IpAddress { address: "192.0.2.7".into(), version: IpVersion::V4 };
        let actor = Actor { id: "alice".into(), role: Role::Client };
        let with_one = vps.address_changed(&address, true, Some(&moved), &actor, now).service;
        assert!(matches!(with_one.move_address(&tariff, IpVersion::V4, 2, 1, now), Err(Refusal::Invalid(_))));
        let back = with_one.move_address(&tariff, IpVersion::V4, 2, -1, now).unwrap().unwrap();
        assert_eq!((back.amount, back.options.is_empty()), (-150, true));
        assert!(matches!(vps.move_address(&tariff, IpVersion::V4, 1, -1, now), Err(Refusal::Conflict(_))));
        // IPv6 is not sold as an option here: free, up to the limit.
        assert_eq!(vps.move_address(&tariff, IpVersion::V6, 0, 1, now), Ok(None));
        assert!(vps.move_address(&tariff, IpVersion::V6, MAX_FREE_ADDRESSES, 1, now).is_err());
        let change = vps.address_changed(&address, true, Some(&moved), &actor, now);
        assert_eq!((change.service.version, change.entry.operation), (vps.version + 1, Action::IpAddressAdd));
        assert_eq!(change.service.renewal_price, vps.renewal_price + 300);
    }

    #[test]
    fn names_and_contacts_are_checked() {
        assert!(is_host_name("ns1.example.com") && is_host_name("ns1.example.com."));
        assert!(!is_host_name("localhost") && !is_host_name("-a.com") && !is_host_name("a..com"));
        assert!(!is_host_name("10.0.0.1"));
        assert_eq!(domain_name(" Example.COM. ").unwrap(), "example.com");
        assert!(domain_name("exa mple.com").is_err() && domain_name("com").is_err());
    }

    #[test]
    fn international_domain_names_are_taken_as_their_a_labels() {
        assert_eq!(domain_name("xn--e1afmkfd.xn--p1ai").unwrap(), "xn--e1afmkfd.xn--p1ai");
        assert_eq!(domain_name("ПРИМЕР.рф").unwrap(), "xn--e1afmkfd.xn--p1ai");
        assert_eq!(domain_name("bücher.de").unwrap(), "xn--bcher-kva.de");
        // An A-label that decodes to nothing valid, and names no registry sells.
        for bad in ["xn--zz.com", "xn--.com", "a_b.com", "example.123", "a\u{202E}b.com", ""] {
            assert!(domain_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nameservers_and_contacts_are_checked() {
        let ok = vec!["ns1.example.com".to_owned(), "NS2.example.com.".to_owned()];
        assert_eq!(nameservers(&ok).unwrap(), vec!["ns1.example.com", "ns2.example.com"]);
        assert!(nameservers(&ok[..1]).is_err());
        assert!(nameservers(&vec!["ns1.example.com".to_owned(); 2]).is_err(), "duplicates");
        assert!(nameservers(&vec!["ns.example.com".to_owned(); 14]).is_err());
        assert!(is_email("ops@example.com") && !is_email("ops@") && !is_email("a b@example.com"));
        assert!(
            is_e164("+4930123456")
                && !is_e164("030123456")
                && !is_e164("+0301")
                && !is_e164("+1234567890123456")
        );
        assert!(is_country("DE") && is_country("US") && !is_country("XX") && !is_country("de"));
    }

    #[test]
    fn statistics_periods_run_forward_for_at_most_a_year() {
        let from = at("2026-01-01T00:00:00Z");
        assert!(statistics_period(from, at("2026-12-31T00:00:00Z")).is_ok());
        assert!(statistics_period(from, at("2027-01-01T00:00:00Z")).is_ok());
        assert!(statistics_period(from, at("2027-01-02T00:00:00Z")).is_err());
        assert!(statistics_period(from, from).is_err());
        assert!(statistics_period(at("2026-02-01T00:00:00Z"), from).is_err());
    }

    #[test]
    fn virtual_servers_have_bounded_resources() {
        let spec = VirtualServerSpec { name: Bounded("web-1".into()), vcpu: 2, memory_mb: 2048, disk_gb: 40 };
        assert!(spec.validate().is_ok());
        assert!(VirtualServerSpec { vcpu: 0, ..spec.clone() }.validate().is_err());
        assert!(VirtualServerSpec { name: Bounded("web 1".into()), ..spec }.validate().is_err());
    }
}
