//! WHMCS's API answers as a provider exports them (`GetClients`, `GetClientsDetails`,
//! `GetClientsProducts`), read into the records an import stages (`domain::import`). WHMCS
//! writes numbers as numbers or as strings, dates as `YYYY-MM-DD` or `0000-00-00`, and an
//! empty list as `""`: every field is kept as the text WHMCS gave, and only an import's
//! preview says what it means. What an import never uses is not kept (a product's `password`
//! among it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest text kept of one field: WHMCS's own are far shorter.
pub const MAX_FIELD_LEN: usize = 4096;
/// The most configurable options or custom fields one product may carry.
pub const MAX_FIELDS: usize = 100;

/// A client as `GetClients` lists it (`details: false`) or `GetClientsDetails` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: u64,
    pub email: String,
    pub currency_code: String,
    pub credit: String,
    /// From `GetClientsDetails`: only that answer carries the credit and the currency.
    pub details: bool,
}

/// A configurable option of a product, or one of its custom fields (`kind` empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: String,
    pub value: String,
}

/// A service as `GetClientsProducts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: u64,
    pub client_id: u64,
    pub pid: String,
    pub name: String,
    pub group_name: String,
    pub domain: String,
    pub regdate: String,
    pub next_due_date: String,
    pub billing_cycle: String,
    pub recurring_amount: String,
    pub first_payment_amount: String,
    pub status: String,
    pub suspension_reason: String,
    pub username: String,
    pub dedicated_ip: String,
    pub assigned_ips: String,
    pub server_id: String,
    pub config_options: Vec<Field>,
    pub custom_fields: Vec<Field>,
}

/// One uploaded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `GetClients`: a page of clients (no credit, no currency).
    Clients(Vec<Client>),
    /// `GetClientsDetails`: one client.
    ClientDetails(Client),
    /// `GetClientsProducts`: a page of services.
    Products(Vec<Product>),
}

impl Answer {
    /// What the answer is, as a file's `kind` says it.
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Clients(_) => "GetClients",
            Answer::ClientDetails(_) => "GetClientsDetails",
            Answer::Products(_) => "GetClientsProducts",
        }
    }

    pub fn records(&self) -> usize {
        match self {
            Answer::Clients(c) => c.len(),
            Answer::ClientDetails(_) => 1,
            Answer::Products(p) => p.len(),
        }
    }
}

/// Reads one of WHMCS's answers; why not, in words, when it is none of them (or an error
/// answer, or a record without an integer id).
pub fn read_answer(body: &[u8]) -> Result<Answer, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(object) = value.as_object() else { return Err("not a WHMCS answer (an object)".into()) };
    match object.get("result").and_then(Value::as_str) {
        Some("success") => {}
        Some(_) => {
            let message = object.get("message").map(text).unwrap_or_default();
            return Err(format!("a WHMCS error answer: {}", bounded(&message, 200)));
        }
        None => return Err("not a WHMCS answer (no `result`)".into()),
    }
    if let Some(products) = object.get("products") {
        let list = listed(products, "product")?;
        return list
            .iter()
            .enumerate()
            .map(|(i, p)| product(p).map_err(|e| format!("product {i}: {e}")))
            .collect::<Result<_, _>>()
            .map(Answer::Products);
    }
    if let Some(clients) = object.get("clients") {
        let list = listed(clients, "client")?;
        let read = |(i, c): (usize, &&Value)| client(c, false).map_err(|e| format!("client {i}: {e}"));
        return list.iter().enumerate().map(read).collect::<Result<_, _>>().map(Answer::Clients);
    }
    // `GetClientsDetails` answers the client under `client` (and, for older callers, its
    // fields again at the top).
    let details = object.get("client").filter(|c| c.is_object()).unwrap_or(&value);
    if details.get("email").is_some() && (details.get("id").is_some() || details.get("userid").is_some()) {
        return client(details, true).map(Answer::ClientDetails);
    }
    Err("not an answer of GetClients, GetClientsDetails or GetClientsProducts".into())
}

/// The list WHMCS nests as `{"<name>": [...]}` (one record alone as an object; none as `""`).
fn listed<'a>(value: &'a Value, name: &str) -> Result<Vec<&'a Value>, String> {
    match value {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::Null => Ok(Vec::new()),
        Value::Object(o) => match o.get(name) {
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(one @ Value::Object(_)) => Ok(vec![one]),
            None if o.is_empty() => Ok(Vec::new()),
            _ => Err(format!("`{name}` is not a list")),
        },
        Value::Array(items) => Ok(items.iter().collect()),
        _ => Err(format!("the {name}s are not a list")),
    }
}

/// A field as the text WHMCS wrote: strings as they are, numbers and booleans written out,
/// null and objects as nothing.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        _ => String::new(),
    }
}

fn bounded(raw: &str, max: usize) -> String {
    raw.chars().take(max).collect()
}

fn field(record: &Value, name: &str) -> Result<String, String> {
    let value = record.get(name).map(text).unwrap_or_default();
    if value.len() > MAX_FIELD_LEN {
        return Err(format!("`{name}` is longer than {MAX_FIELD_LEN} bytes"));
    }
    Ok(value)
}

fn id(record: &Value, name: &str) -> Result<u64, String> {
    let raw = field(record, name)?;
    raw.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| format!("`{name}` {raw:?} is not an id"))
}

fn client(record: &Value, details: bool) -> Result<Client, String> {
    let id = id(record, "id").or_else(|e| if details { id(record, "userid") } else { Err(e) })?;
    Ok(Client {
        id,
        email: field(record, "email")?,
        currency_code: field(record, "currency_code")?,
        credit: field(record, "credit")?,
        details,
    })
}

fn product(record: &Value) -> Result<Product, String> {
    Ok(Product {
        id: id(record, "id")?,
        client_id: id(record, "clientid")?,
        pid: field(record, "pid")?,
        name: field(record, "name")?,
        group_name: field(record, "groupname")?,
        domain: field(record, "domain")?,
        regdate: field(record, "regdate")?,
        next_due_date: field(record, "nextduedate")?,
        billing_cycle: field(record, "billingcycle")?,
        recurring_amount: field(record, "recurringamount")?,
        first_payment_amount: field(record, "firstpaymentamount")?,
        status: field(record, "status")?,
        suspension_reason: field(record, "suspensionreason")?,
        username: field(record, "username")?,
        dedicated_ip: field(record, "dedicatedip")?,
        assigned_ips: field(record, "assignedips")?,
        server_id: field(record, "serverid")?,
        config_options: fields(record.get("configoptions"), "configoption", "type")?,
        custom_fields: fields(record.get("customfields"), "customfield", "")?,
    })
}

/// A product's configurable options or custom fields (`{"configoption": [...]}`, or `""`).
fn fields(value: Option<&Value>, name: &str, kind: &str) -> Result<Vec<Field>, String> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = listed(value, name)?;
    if list.len() > MAX_FIELDS {
        return Err(format!("more than {MAX_FIELDS} {name}s"));
    }
    list.into_iter()
        .map(|f| {
            let name = match field(f, "option")? {
                option if !option.is_empty() => option,
                _ => field(f, "name")?,
            };
            let kind = if kind.is_empty() { String::new() } else { field(f, kind)? };
            Ok(Field { id: field(f, "id")?, name, kind, value: field(f, "value")? })
        })
        .collect()
}

/// A billing cycle as WHMCS names it, in months: `None` for a cycle that recurs never or that
/// is unknown (`Free Account` and `One Time` are answered by `Cycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    Free,
    OneTime,
    Months(u16),
}

impl Cycle {
    pub fn parse(raw: &str) -> Option<Cycle> {
        Some(match raw.trim() {
            "Free Account" => Cycle::Free,
            "One Time" => Cycle::OneTime,
            "Monthly" => Cycle::Months(1),
            "Quarterly" => Cycle::Months(3),
            "Semi-Annually" => Cycle::Months(6),
            "Annually" => Cycle::Months(12),
            "Biennially" => Cycle::Months(24),
            "Triennially" => Cycle::Months(36),
            _ => return None,
        })
    }
}

/// A product's status in WHMCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductStatus {
    Pending,
    Active,
    Suspended,
    Terminated,
    Cancelled,
    Fraud,
    Completed,
}

impl ProductStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim() {
            "Pending" => Self::Pending,
            "Active" => Self::Active,
            "Suspended" => Self::Suspended,
            "Terminated" => Self::Terminated,
            "Cancelled" => Self::Cancelled,
            "Fraud" => Self::Fraud,
            "Completed" => Self::Completed,
            _ => return None,
        })
    }
}

/// A decimal amount as WHMCS writes it (`"12.50"`, `"0.00"`, `12.5`) in minor units of a
/// currency with `digits` decimals: exact or refused (more decimals than the currency has,
/// unless zeros; a sign; anything but digits and one point; past `max`).
pub fn minor_units(raw: &str, digits: u8, max: u64) -> Option<u64> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || whole.len() > 15 {
        return None;
    }
    let digits = usize::from(digits);
    let (kept, dropped) = fraction.split_at(fraction.len().min(digits));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let scale = 10u64.checked_pow(u32::try_from(digits).ok()?)?;
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut part: u64 = if kept.is_empty() { 0 } else { kept.parse().ok()? };
    for _ in kept.len()..digits {
        part = part.checked_mul(10)?;
    }
    whole.checked_mul(scale)?.checked_add(part).filter(|a| *a <= max)
}

/// A date as WHMCS writes it (`YYYY-MM-DD`, a time after it ignored) as the midnight that
/// starts it at `zone` (`Z` for UTC, or `+HH:MM`): `None` for `0000-00-00`, an empty field,
/// or anything that is no date.
pub fn midnight(raw: &str, zone: &str) -> Option<super::Timestamp> {
    let day = raw.trim().get(..10)?;
    let shape =
        day.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shape || day.starts_with("0000") {
        return None;
    }
    super::Timestamp::parse(&format!("{day}T00:00:00{zone}"))
}

/// Whether `zone` is one `midnight` takes: `Z`, or an offset `+HH:MM` / `-HH:MM`.
pub fn is_zone(zone: &str) -> bool {
    zone == "Z" || super::Timestamp::parse(&format!("2000-01-01T00:00:00{zone}")).is_some() && zone.len() == 6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_or_refused() {
        assert_eq!(minor_units("12.50", 2, u64::MAX), Some(1250));
        assert_eq!(minor_units("12.5", 2, u64::MAX), Some(1250));
        assert_eq!(minor_units("12", 2, u64::MAX), Some(1200));
        assert_eq!(minor_units("0.00", 2, u64::MAX), Some(0));
        assert_eq!(minor_units(" 7.100 ", 2, u64::MAX), Some(710), "a zero past the digits is no fraction");
        assert_eq!(minor_units("1500", 0, u64::MAX), Some(1500));
        assert_eq!(minor_units("1.250", 3, u64::MAX), Some(1250));
        for bad in ["12.505", "-1.00", "1,00", "", ".", "abc", "1.2.3", "1e3", "+5"] {
            assert_eq!(minor_units(bad, 2, u64::MAX), None, "{bad:?}");
        }
        assert_eq!(minor_units("100.01", 2, 10_000), None, "past the bound");
        assert_eq!(minor_units("99999999999999999999", 2, u64::MAX), None, "no overflow");
    }

    #[test]
    fn dates_are_whmcs_days_or_nothing() {
        let at = |raw: &str| midnight(raw, "Z").map(|t| t.to_string());
        assert_eq!(at("2027-01-31").as_deref(), Some("2027-01-31T00:00:00.000Z"));
        assert_eq!(at("2027-01-31 10:00:00").as_deref(), Some("2027-01-31T00:00:00.000Z"));
        assert_eq!(
            midnight("2027-01-31", "+03:00").map(|t| t.to_string()).as_deref(),
            Some("2027-01-30T21:00:00.000Z"),
            "midnight where the provider is"
        );
        for none in ["0000-00-00", "", "2027-02-30", "31/01/2027", "2027-1-31", "0000-01-01"] {
            assert_eq!(at(none), None, "{none:?}");
        }
        assert!(is_zone("Z") && is_zone("+03:00") && is_zone("-05:30"));
        assert!(!is_zone("Europe/Moscow") && !is_zone("+3") && !is_zone(""));
    }

    #[test]
    fn every_whmcs_billing_cycle_is_known_and_nothing_else() {
        let months: Vec<Option<Cycle>> =
            ["Monthly", "Quarterly", "Semi-Annually", "Annually", "Biennially", "Triennially"]
                .iter()
                .map(|c| Cycle::parse(c))
                .collect();
        assert_eq!(months, [1, 3, 6, 12, 24, 36].map(|m| Some(Cycle::Months(m))));
        assert_eq!(Cycle::parse("Free Account"), Some(Cycle::Free));
        assert_eq!(Cycle::parse("One Time"), Some(Cycle::OneTime));
        assert_eq!(Cycle::parse("Weekly"), None, "never a guess");
        assert_eq!(Cycle::parse("monthly"), None);
    }

    #[test]
    fn answers_are_read_as_whmcs_writes_them() {
        let products = br#"{"result": "success", "totalresults": 2, "startnumber": 0, "numreturned": 2,
          "products": {"product": [
            {"id": 7, "clientid": "3", "pid": "1", "name": "VPS", "groupname": "Servers", "domain": "a.example",
             "regdate": "2025-01-10", "nextduedate": "2027-01-10", "billingcycle": "Annually",
             "recurringamount": "120.00", "firstpaymentamount": 120, "status": "Active", "password": "secret",
             "configoptions": {"configoption": [{"id": 4, "option": "RAM", "type": "quantity", "value": "2"}]},
             "customfields": ""},
            {"id": "8", "clientid": 3, "pid": 2, "nextduedate": "0000-00-00", "billingcycle": "Free Account",
             "recurringamount": "0.00", "status": "Pending", "configoptions": ""}]}}"#;
        let Answer::Products(read) = read_answer(products).unwrap() else { panic!("products") };
        assert_eq!(read.len(), 2);
        assert_eq!((read[0].id, read[0].client_id, read[0].first_payment_amount.as_str()), (7, 3, "120"));
        assert_eq!(
            read[0].config_options[0],
            Field { id: "4".into(), name: "RAM".into(), kind: "quantity".into(), value: "2".into() }
        );
        assert!(read[0].custom_fields.is_empty() && read[1].config_options.is_empty());
        assert!(!serde_json::to_string(&read[0]).unwrap().contains("secret"), "no password kept");
        assert_eq!(read[1].pid, "2");

        let clients = br#"{"result":"success","totalresults":1,"clients":{"client":[{"id":3,"firstname":"A","email":"a@example.com"}]}}"#;
        let Answer::Clients(list) = read_answer(clients).unwrap() else { panic!("clients") };
        assert_eq!((list[0].id, list[0].details, list[0].credit.as_str()), (3, false, ""));

        let details = br#"{"result":"success","userid":3,"client_id":3,"client":{"userid":3,"id":3,"email":"a@example.com","currency_code":"USD","credit":"12.50"},"stats":{}}"#;
        let Answer::ClientDetails(one) = read_answer(details).unwrap() else { panic!("details") };
        assert_eq!(
            (one.id, one.currency_code.as_str(), one.credit.as_str(), one.details),
            (3, "USD", "12.50", true)
        );
    }

    #[test]
    fn what_is_no_whmcs_answer_is_refused_in_words() {
        assert!(read_answer(b"[1]").unwrap_err().contains("object"));
        assert!(read_answer(br#"{"result":"error","message":"Invalid API credentials"}"#)
            .unwrap_err()
            .contains("Invalid API"));
        assert!(read_answer(br#"{"result":"success"}"#).is_err());
        assert!(read_answer(br#"{"result":"success","products":{"product":[{"id":"x","clientid":1}]}}"#)
            .unwrap_err()
            .contains("not an id"));
        let long = format!(
            r#"{{"result":"success","products":{{"product":[{{"id":1,"clientid":1,"domain":"{}"}}]}}}}"#,
            "a".repeat(MAX_FIELD_LEN + 1)
        );
        assert!(read_answer(long.as_bytes()).unwrap_err().contains("longer"));
        let empty = read_answer(br#"{"result":"success","totalresults":0,"products":""}"#).unwrap();
        assert_eq!(empty, Answer::Products(Vec::new()));
    }
}
