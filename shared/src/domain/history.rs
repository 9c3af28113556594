//! The history of a service: one entry per operation performed on it.

use super::{HistoryId, Principal, Role, Status, Timestamp};
use serde::{Deserialize, Serialize};

/// What was done to a service. Later lifecycle work adds its own actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Order,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.id.to_string(),
            role: p.role,
        }
    }
}

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
