//! Every failure a route can answer, and its problem+json form (RFC 9457).

use crate::domain::RuleViolation;
use crate::store::StoreError;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than {} bytes", MAX_BODY_BYTES)]
    PayloadTooLarge,
    /// An upload past its own limit (413), which it names.
    #[error("{0}")]
    TooLarge(String),
    /// A body not declared as JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A limit a client reached for now (429), with the seconds until it may try again.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("{0}")]
    Unprocessable(String),
    /// The balance does not cover a charge (402).
    #[error("{0}")]
    PaymentRequired(String),
    /// The control panel lacks the resources asked for (409, like a `not_available` service).
    #[error("{0}")]
    NotAvailable(String),
    /// The control panel did not answer, or answered something this API cannot use (502).
    #[error("{0}")]
    BadGateway(String),
    /// AWS did not take a call through the SDK's retries (throttling, 5xx, no answer): 503
    /// with `Retry-After`, logged with its cause. Whatever the request wrote is committed or
    /// not as a whole; the same request again, with its `Idempotency-Key`, is safe.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Logged with its cause; the answer says only that something went wrong.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a 503 asks the client to wait, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::NotAvailable(_) => StatusCode::CONFLICT,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::PaymentRequired(_) => "payment-required",
            ApiError::NotAvailable(_) => "not-available",
            ApiError::BadGateway(_) => "bad-gateway",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => "something went wrong on our side; try again later".into(),
            ApiError::Unavailable(_) => {
                format!("too busy to answer now; send the same request again in {RETRY_AFTER_SECONDS} s")
            }
            other => other.to_string(),
        }
    }

    /// The same 404 for a missing thing and for another client's: nothing tells them apart.
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("no such {what}"))
    }

    pub fn provider_only() -> Self {
        ApiError::Forbidden("only the provider may do this".into())
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "AWS unavailable: answered 503"),
            _ => {}
        }
        let problem = serde_json::json!({
            "type": format!("/problems/{}", self.slug()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.detail(),
        });
        let mut builder = Response::builder().status(status).header(header::CONTENT_TYPE, PROBLEM_JSON);
        if status == StatusCode::UNAUTHORIZED {
            builder = builder.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            builder = builder.header(header::RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            builder = builder.header(header::RETRY_AFTER, *retry_after);
        }
        builder.body(Body::Text(problem.to_string())).expect("a valid response")
    }
}

impl From<RuleViolation> for ApiError {
    fn from(violation: RuleViolation) -> Self {
        ApiError::Unprocessable(violation.0)
    }
}

impl From<crate::domain::lifecycle::Refusal> for ApiError {
    fn from(refusal: crate::domain::lifecycle::Refusal) -> Self {
        use crate::domain::lifecycle::Refusal;
        match refusal {
            Refusal::Conflict(detail) => ApiError::Conflict(detail),
            Refusal::Forbidden(detail) => ApiError::Forbidden(detail),
            Refusal::Invalid(detail) => ApiError::Unprocessable(detail),
        }
    }
}

impl From<crate::domain::catalog::NoPanel> for ApiError {
    fn from(no_panel: crate::domain::catalog::NoPanel) -> Self {
        ApiError::Conflict(no_panel.to_string())
    }
}

impl From<crate::domain::payment::ReceivedAlready> for ApiError {
    fn from(received: crate::domain::payment::ReceivedAlready) -> Self {
        ApiError::Conflict(received.to_string())
    }
}

impl From<crate::domain::account::InsufficientFunds> for ApiError {
    fn from(short: crate::domain::account::InsufficientFunds) -> Self {
        ApiError::PaymentRequired(format!("{short}; pay the difference and try again"))
    }
}

impl From<crate::queue::QueueError> for ApiError {
    fn from(err: crate::queue::QueueError) -> Self {
        if err.unavailable {
            return ApiError::Unavailable(err.to_string());
        }
        ApiError::Internal(err.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause),
            // A conditional write that lost and that its caller did not expect to: the item
            // changed while this request ran.
            StoreError::ConditionFailed => ApiError::Conflict(
                "changed by another request while this one ran: read it again and retry".into(),
            ),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
