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
