//! What a route answers when it succeeds.

use crate::error::ApiError;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A successful answer: status, JSON body, and an ETag when the body is one versioned thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub etag: Option<String>,
    /// An earlier request's answer given again (the same `Idempotency-Key`): it says so.
    pub replayed: bool,
    /// A body that is not JSON: its media type (the body is then the text in `body`).
    pub content_type: Option<&'static str>,
}

impl Reply {
    pub fn ok(body: impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::OK, body)
    }

    pub fn created(body: impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::CREATED, body)
    }

    /// Taken on, and carried on after the answer (a reconciliation).
    pub fn accepted(body: impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::ACCEPTED, body)
    }

    /// A success with nothing to say (a removal).
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: serde_json::Value::Null,
            etag: None,
            replayed: false,
            content_type: None,
        }
    }

    fn with_status(status: StatusCode, body: impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Self { status, body, etag: None, replayed: false, content_type: None })
    }

    /// A text answer of another media type (a certificate chain's PEM).
    pub fn text(content_type: &'static str, text: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: serde_json::Value::String(text),
            etag: None,
            replayed: false,
            content_type: Some(content_type),
        }
    }

    pub fn versioned(mut self, version: u64) -> Self {
        self.etag = Some(etag(version));
        self
    }

    pub fn into_response(self) -> Response<Body> {
        if let (Some(content_type), serde_json::Value::String(text)) = (self.content_type, &self.body) {
            return Response::builder()
                .status(self.status)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::Text(text.clone()))
                .expect("a valid response");
        }
        let mut response = json_response(self.status, self.body.to_string(), self.etag.as_deref());
        if self.replayed {
            response.headers_mut().insert("idempotency-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

fn json_response(status: StatusCode, body: String, etag: Option<&str>) -> Response<Body> {
    if status == StatusCode::NO_CONTENT {
        return Response::builder().status(status).body(Body::Empty).expect("a valid response");
    }
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("a valid response");
    if let Some(value) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The ETag of a versioned thing.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
