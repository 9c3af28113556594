//! Identifiers as newtypes, so that a tariff id is never passed where a service id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A service, a ULID so that services sort by creation.
    ServiceId
);
string_id!(
    /// A history entry, a ULID so that history sorts by time.
    HistoryId
);
string_id!(
    /// A client: the `sub` of the client's token.
    ClientId
);
string_id!(
    /// A tariff: a provider-chosen slug (`vps-start`) or a generated ULID.
    TariffId
);

/// A new ULID, strictly after the last one this process made, so that two ids made in the same
/// millisecond still sort in the order they were made.
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    generator.generate().unwrap_or_else(|_| ulid::Ulid::generate())
}

/// A new sortable id for things that need no type of their own (ledger entries, payments).
pub fn next_id() -> String {
    next_ulid().to_string()
}

/// An id `next_id` made, read from a path or cursor (a ticket's, a ledger entry's): only a
/// well-formed ULID.
pub fn parse_id(raw: &str) -> Option<String> {
    ulid::Ulid::from_string(raw).ok().map(|u| u.to_string())
}

/// `bytes`' SHA-256 in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest principal or client id accepted.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// Longest tariff id accepted.
pub const MAX_TARIFF_ID_LEN: usize = 64;

impl ServiceId {
    pub fn generate() -> Self {
        Self(next_ulid().to_string())
    }

    /// The id of a service made from something that has a name of its own (an adopted panel
    /// account, an imported record): the same for every attempt to make it, a ULID of `at`
    /// (lists sort it among the services of its time) and of `name`'s hash.
    pub fn derived(at: Option<super::Timestamp>, name: &str) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(name.as_bytes());
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]);
        let millis = at.map_or(0, |t| u64::try_from(t.unix_millis()).unwrap_or(0));
        Self(ulid::Ulid::from_parts(millis, u128::from_be_bytes(random)).to_string())
    }

    /// Parses an id from a path or cursor: only a well-formed ULID names a service.
    pub fn parse(raw: &str) -> Option<Self> {
        ulid::Ulid::from_string(raw).ok().map(|u| Self(u.to_string()))
    }
}

impl HistoryId {
    pub fn generate() -> Self {
        Self(next_ulid().to_string())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        ulid::Ulid::from_string(raw).ok().map(|u| Self(u.to_string()))
    }
}

impl ClientId {
    /// A client id is printable text of 1 to 128 characters.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            !raw.is_empty() && raw.chars().count() <= MAX_CLIENT_ID_LEN && !raw.chars().any(char::is_control);
        ok.then(|| Self(raw.to_owned()))
    }
}

impl TariffId {
    pub fn generate() -> Self {
        Self(next_ulid().to_string().to_ascii_lowercase())
    }

    /// A tariff id is 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_TARIFF_ID_LEN
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_are_ulids() {
        let id = ServiceId::generate();
        assert_eq!(ServiceId::parse(id.as_str()), Some(id));
        assert_eq!(ServiceId::parse("not-a-ulid"), None);
        assert_eq!(ServiceId::parse(""), None);
    }

    #[test]
    fn tariff_ids_are_slugs() {
        assert!(TariffId::parse("vps-start").is_some());
        assert!(TariffId::parse(&TariffId::generate().to_string()).is_some());
        assert!(TariffId::parse("VPS").is_none());
        assert!(TariffId::parse("a#b").is_none());
        assert!(TariffId::parse(&"a".repeat(65)).is_none());
    }

    #[test]
    fn client_ids_are_printable_and_bounded() {
        assert!(ClientId::parse("alice").is_some());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse("a\nb").is_none());
        assert!(ClientId::parse(&"a".repeat(129)).is_none());
    }
}
