//! Who is asking.

use super::ClientId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Provider,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Provider => "provider",
        }
    }
}

/// An authenticated caller: a client acting on its own services, or the provider acting on all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub id: ClientId,
    pub role: Role,
}

impl Principal {
    pub fn is_provider(&self) -> bool {
        self.role == Role::Provider
    }

    /// Whether this principal may see a thing owned by `owner`.
    pub fn can_see(&self, owner: &ClientId) -> bool {
        self.is_provider() || &self.id == owner
    }
}

/// Who did something, as the history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self { id: p.id.to_string(), role: p.role }
    }
}

impl Actor {
    /// The actor as a client reads it: a member of the provider's staff is the provider, shown
    /// as `provider_name`, never by its own identity; the client itself and the provider's
    /// automatic jobs (`system:...`) as they are.
    pub fn as_seen_by_client(&self, provider_name: &str) -> Actor {
        match self.role {
            Role::Provider if !self.id.starts_with("system:") => {
                Actor { id: provider_name.to_owned(), role: Role::Provider }
            }
            _ => self.clone(),
        }
    }
}
