//! HTTP plumbing shared by every route: reading requests, answering, paging, ETags, and the
//! route shapes (`read`, and `write`, idempotent under an `Idempotency-Key`; `unrecorded_write`
//! for a write whose answer no one may keep), each a stack of the request path's layers
//! (`layers`) around the route.

use crate::app::App;
use crate::domain::Principal;
use crate::error::ApiError;
use crate::idempotency::{self, IdempotentLayer};
use crate::layers::{self, Handler, Outcome};
use crate::store::{Page, PageRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::header;
use lambda_http::tower::ServiceBuilder;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;

pub use crate::error::MAX_BODY_BYTES;
/// Largest and default page size.
pub const MAX_PAGE_LIMIT: u16 = 100;
pub const DEFAULT_PAGE_LIMIT: u16 = 20;

pub use crate::reply::{etag, Reply};

/// The version an `If-Match` header names, if the request has one.
pub fn if_match(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| ApiError::BadRequest("If-Match must be an ETag this API gave".into()))
}

/// The request body as `T`. Bodies are JSON objects; unknown fields are refused by `T`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("a JSON body is required".into()));
    }
    ensure_json(req)?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
}

/// A body is JSON only when it says so: `application/json` or an `application/*+json` type,
/// with any parameters (a charset); anything else, or no type at all, is 415.
fn ensure_json(req: &Request) -> Result<(), ApiError> {
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json") && sub.len() > 5);
    if json {
        return Ok(());
    }
    let declared = if declared.is_empty() { "no content type" } else { declared };
    Err(ApiError::UnsupportedMediaType(format!("a body must be sent as application/json, not {declared}")))
}

/// The request body as `T`, or `T`'s default when there is none (a route whose fields are all
/// optional).
pub fn optional_json_body<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json_body(req)
}

/// For a route that takes no body: an empty body or `{}`; anything else (such as a
/// server-owned field) is a 400.
pub fn no_body(req: &Request) -> Result<(), ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    ensure_json(req)?;
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(fields)) if fields.is_empty() => Ok(()),
        Ok(serde_json::Value::Object(fields)) => Err(ApiError::BadRequest(format!(
            "this route takes no body; unknown field `{}`",
            fields.keys().next().map(String::as_str).unwrap_or_default()
        ))),
        _ => Err(ApiError::BadRequest("this route takes no body (or `{}`)".into())),
    }
}

/// A path parameter the router extracted (`/services/{id}` gives `id`).
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters()
        .first(name)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::NotFound(format!("no {name} in the path")))
}

/// The payment id in the path: a ULID (400 otherwise, before any key is built from it).
pub fn payment_id_in_path(req: &Request) -> Result<String, ApiError> {
    let id = path_param(req, "id")?;
    if ulid::Ulid::from_string(&id).is_err() {
        return Err(ApiError::BadRequest("not a payment id".into()));
    }
    Ok(id)
}

/// The query string, limited to the parameters a route takes: any other is a 400.
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(req: &Request, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut params = HashMap::new();
        for (name, value) in req.query_string_parameters().iter() {
            if !allowed.contains(&name) {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter `{name}` (this route takes: {})",
                    allowed.join(", ")
                )));
            }
            params.entry(name.to_owned()).or_insert_with(|| value.to_owned());
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter parsed by `parse`, or a 400 naming it.
    pub fn parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|raw| parse(raw).ok_or_else(|| ApiError::BadRequest(format!("invalid `{name}`: {raw}"))))
            .transpose()
    }

    /// `limit` (1 to 100, default 20) and `cursor` (from a previous page of the same list).
    pub fn page<P>(&self, position: impl Fn(&str) -> Option<P>) -> Result<PageRequest<P>, ApiError> {
        let limit = match self.get("limit") {
            None => DEFAULT_PAGE_LIMIT,
            Some(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|l| (1..=MAX_PAGE_LIMIT).contains(l))
                .ok_or_else(|| ApiError::BadRequest(format!("limit must be 1 to {MAX_PAGE_LIMIT}")))?,
        };
        let after = self
            .get("cursor")
            .map(|raw| decode_cursor(raw).and_then(|p| position(&p)))
            .map(|p| p.ok_or_else(|| ApiError::BadRequest("invalid cursor".into())))
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// Query parameter names every list takes.
pub const PAGE_PARAMS: [&str; 2] = ["limit", "cursor"];

fn decode_cursor(raw: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("v1:").map(str::to_owned)
}

pub fn encode_cursor(position: &impl Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{position}"))
}

/// The wire form of a list: `{items, cursor}`, the cursor null on the last page.
pub fn list_reply<T, P: Display>(
    page: Page<T, P>,
    view: impl Fn(T) -> serde_json::Value,
) -> Result<Reply, ApiError> {
    Reply::ok(serde_json::json!({
        "items": page.items.into_iter().map(view).collect::<Vec<_>>(),
        "cursor": page.next.as_ref().map(encode_cursor),
    }))
}

/// The provider-only guard.
pub fn require_provider(principal: &Principal) -> Result<(), ApiError> {
    if principal.is_provider() {
        Ok(())
    } else {
        Err(ApiError::provider_only())
    }
}

/// A route that changes nothing: authenticated, given its deadline, run (see `layers`).
pub async fn read<'a, F, Fut>(app: &'a App, req: Request, route: F) -> Response<Body>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    let stack = ServiceBuilder::new().layer(layers::authenticate(app)).layer(layers::deadline(app));
    let Ok(response) = layers::answer(stack.service(Handler::new(app, route)), req).await;
    response
}

/// A route that changes something: as `read`, and idempotent under an `Idempotency-Key`.
/// It takes no `dry_run` (400).
pub async fn write<'a, F, Fut>(app: &'a App, req: Request, route: F) -> Response<Body>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    written(app, req, route, idempotency::idempotent(app)).await
}

/// A route that changes something and can quote instead: with `?dry_run=true` it answers what
/// it would do and changes nothing (not even an idempotency record).
pub async fn quotable_write<'a, F, Fut>(app: &'a App, req: Request, route: F) -> Response<Body>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    written(app, req, route, idempotency::idempotent_or_quoted(app)).await
}

/// A route that changes something and answers a secret to be used once (a sign-in link), which
/// nothing may keep: as `read`, with a write's limits (the body's size; no `dry_run`), but no
/// idempotency layer. An `Idempotency-Key` is neither required nor stored, and one sent is
/// ignored: a repeat makes a new answer, never replays one. Every answer is `Cache-Control:
/// no-store`.
pub async fn unrecorded_write<'a, F, Fut>(app: &'a App, req: Request, route: F) -> Response<Body>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    let guarded = move |app: &'a App, principal: Principal, req: Request| {
        let route = route.clone();
        async move {
            layers::write_limits(&req, false)?;
            route(app, principal, req).await
        }
    };
    let stack = ServiceBuilder::new().layer(layers::authenticate(app)).layer(layers::deadline(app));
    let Ok(mut response) = layers::answer(stack.service(Handler::new(app, guarded)), req).await;
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// A write's stack: as a read's, with `idempotent` between the deadline and the route.
async fn written<'a, F, Fut>(
    app: &'a App,
    req: Request,
    route: F,
    idempotent: IdempotentLayer<'a>,
) -> Response<Body>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    let stack =
        ServiceBuilder::new().layer(layers::authenticate(app)).layer(layers::deadline(app)).layer(idempotent);
    let Ok(response) = layers::answer(stack.service(Handler::new(app, route)), req).await;
    response
}

pub use crate::layers::dry_run;

/// The service named by the `{id}` path parameter, if this principal may see it. A missing
/// service, another client's, and for a client a deleted one, are the same 404.
pub async fn visible_service(
    app: &App,
    principal: &Principal,
    req: &Request,
) -> Result<crate::domain::Service, ApiError> {
    let id = service_id_in_path(req)?;
    let service = app.store.get_service(&id).await?;
    service.filter(|s| s.visible_to(principal)).ok_or_else(|| ApiError::not_found("service"))
}

/// The `{id}` path parameter as a service id; one that cannot be is a missing service (404).
pub fn service_id_in_path(req: &Request) -> Result<crate::domain::ServiceId, ApiError> {
    crate::domain::ServiceId::parse(&path_param(req, "id")?).ok_or_else(|| ApiError::not_found("service"))
}

/// The ticket named by the `{id}` path parameter, if this principal may see it (its client or
/// the provider); another client's is the same 404 as a missing one.
pub async fn visible_ticket(
    app: &App,
    principal: &Principal,
    req: &Request,
) -> Result<crate::domain::ticket::Ticket, ApiError> {
    let not_found = || ApiError::not_found("ticket");
    let id = crate::domain::ids::parse_id(&path_param(req, "id")?).ok_or_else(not_found)?;
    let ticket = app.store.get_ticket(&id).await?.ok_or_else(not_found)?;
    if principal.can_see(&ticket.client_id) {
        Ok(ticket)
    } else {
        Err(not_found())
    }
}
