//! Why an operation is refused: the domain's one refusal, mapped to 409, 403 or 422.

/// Why an operation is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The current status does not allow it (409).
    Conflict(String),
    /// The product type's rules do not let this principal do it (403).
    Forbidden(String),
    /// The request breaks a rule (422).
    Invalid(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::Conflict(m) | Refusal::Forbidden(m) | Refusal::Invalid(m) => m,
        }
    }
}
