//! The request path: tower layers around a route's handler, read top-down once.
//!
//! 1. [`Authenticate`]: who asks (the bearer token's principal; 401 otherwise), the request's
//!    log span, and its one log line with the status answered.
//! 2. [`Deadline`]: when the answer is due (`budget::for_request`): what runs below answers
//!    503 rather than outlive it.
//! 3. [`Idempotent`](crate::idempotency::Idempotent) (writes only): the body's size, `dry_run`,
//!    and the `Idempotency-Key`: a key's first request runs, a repeat replays its answer.
//! 4. [`Handler`]: the route itself, `(app, principal, request) -> Reply`.
//!
//! `http::read`, `http::write` and `http::quotable_write` stack them for a route. A layer hands
//! what it learned to those below in the request's extensions (the principal, the budget).

use crate::app::App;
use crate::budget::{self, Budget};
use crate::domain::Principal;
use crate::error::ApiError;
use crate::reply::Reply;
use lambda_http::tower::Service;
use lambda_http::{Body, Request, RequestExt, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Instrument;

/// What the layers below `Authenticate` answer: the route's reply, or why not.
pub type Outcome = Result<Reply, ApiError>;

/// A layer's answer on its way (it borrows the app). Boxed: in a debug build a route's future
/// nested in the layers' can outgrow a worker thread's stack.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send + 'a>>;

/// A service of the stack below `Authenticate`.
pub trait Below<'a>:
    Service<Request, Response = Outcome, Error = Infallible, Future = Answer<'a, Outcome>> + Clone + Send + 'a
{
}

impl<'a, S> Below<'a> for S where
    S: Service<Request, Response = Outcome, Error = Infallible, Future = Answer<'a, Outcome>>
        + Clone
        + Send
        + 'a
{
}

/// `req` sent down `stack`. Every layer here is always ready (`poll_ready` answers at once), so
/// the stack is called without waiting for it. The answer's type is the box, not the stack's
/// associated type: a caller's future then holds nothing whose lifetimes the compiler would
/// have to prove for any lifetime (which the layers' borrowed app cannot offer).
pub fn answer<'a, S>(mut stack: S, req: Request) -> Answer<'a, Response<Body>>
where
    S: Service<Request, Response = Response<Body>, Error = Infallible, Future = Answer<'a, Response<Body>>>,
{
    stack.call(req)
}

/// Defines a layer that holds the app (and `$field`s) and wraps a service in `$service`.
macro_rules! app_layer {
    ($layer:ident => $service:ident { $($field:ident: $type:ty),* }) => {
        #[derive(Clone, Copy)]
        pub struct $layer<'a> {
            app: &'a $crate::app::App,
            $($field: $type,)*
        }

        #[derive(Clone)]
        pub struct $service<'a, S> {
            app: &'a $crate::app::App,
            $($field: $type,)*
            inner: S,
        }

        impl<'a, S> lambda_http::tower::Layer<S> for $layer<'a> {
            type Service = $service<'a, S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service { app: self.app, $($field: self.$field,)* inner }
            }
        }
    };
}

pub(crate) use app_layer;

app_layer!(AuthenticateLayer => Authenticate {});
app_layer!(DeadlineLayer => Deadline {});

/// Layer 1, who asks.
pub fn authenticate(app: &App) -> AuthenticateLayer<'_> {
    AuthenticateLayer { app }
}

/// Layer 2, by when.
pub fn deadline(app: &App) -> DeadlineLayer<'_> {
    DeadlineLayer { app }
}

impl<'a, S: Below<'a>> Service<Request> for Authenticate<'a, S> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer<'a, Response<Body>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let principal = self.app.principal(&req);
        let span = span(&req, principal.as_ref().ok());
        let mut inner = self.inner.clone();
        Box::pin(
            async move {
                let outcome = match principal {
                    Ok(principal) => {
                        req.extensions_mut().insert(principal);
                        let Ok(outcome) = inner.call(req).await;
                        outcome
                    }
                    Err(refused) => Err(refused),
                };
                let response = outcome.map_or_else(ApiError::into_response, Reply::into_response);
                tracing::info!(status = response.status().as_u16(), "answered");
                Ok(response)
            }
            .instrument(span),
        )
    }
}

impl<'a, S: Below<'a>> Service<Request> for Deadline<'a, S> {
    type Response = Outcome;
    type Error = Infallible;
    type Future = Answer<'a, Outcome>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let budget = budget::for_request(self.app, &req);
        req.extensions_mut().insert(budget);
        self.inner.clone().call(req)
    }
}

/// Layer 4: the route, given who asks; it answers within the request's budget.
#[derive(Clone)]
pub struct Handler<'a, F> {
    app: &'a App,
    route: F,
}

impl<'a, F> Handler<'a, F> {
    pub fn new(app: &'a App, route: F) -> Self {
        Self { app, route }
    }
}

impl<'a, F, Fut> Service<Request> for Handler<'a, F>
where
    F: Fn(&'a App, Principal, Request) -> Fut + Clone + Send + 'a,
    Fut: Future<Output = Outcome> + Send + 'a,
{
    type Response = Outcome;
    type Error = Infallible;
    type Future = Answer<'a, Outcome>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (principal, budget) = (principal_of(&req).cloned(), budget_of(&req));
        let (app, route) = (self.app, self.route.clone());
        Box::pin(async move {
            let Some(principal) = principal else {
                return Ok(Err(ApiError::Internal("a route was reached without authentication".into())));
            };
            Ok(budget::in_time(budget, Box::pin(route(app, principal, req))).await)
        })
    }
}

pub(crate) const DRY_RUN: &str = "dry_run";

/// A write's limits on its request: the body's size, and `dry_run` only on a route that
/// `quotes` (400 elsewhere). Whether it asks only for a quote.
pub fn write_limits(req: &Request, quotes: bool) -> Result<bool, ApiError> {
    if req.body().len() > crate::error::MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    match dry_run(req) {
        Ok(quote) if quotes => Ok(quote),
        Err(refused) if quotes => Err(refused),
        _ if req.query_string_parameters().first(DRY_RUN).is_some() => {
            Err(ApiError::BadRequest("this route has no dry run".into()))
        }
        _ => Ok(false),
    }
}

/// Whether the request asks only for a quote: `?dry_run=true` (or `false`; anything else 400).
pub fn dry_run(req: &Request) -> Result<bool, ApiError> {
    match req.query_string_parameters().first(DRY_RUN) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!("dry_run must be true or false, not `{other}`"))),
    }
}

/// The principal `Authenticate` found (see `Handler`), for the layers between.
pub(crate) fn principal_of(req: &Request) -> Option<&Principal> {
    req.extensions().get::<Principal>()
}

/// The budget `Deadline` set, for the layers between (none: no limit).
pub(crate) fn budget_of(req: &Request) -> Budget {
    req.extensions().get::<Budget>().copied().unwrap_or(Budget::UNLIMITED)
}

/// The log span of a request: its id, who asks, and the service its path names.
fn span(req: &Request, principal: Option<&Principal>) -> tracing::Span {
    let request_id = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            ctx.request_id.clone().unwrap_or_default()
        }
        _ => String::new(),
    };
    let principal = principal.map(|p| format!("{}:{}", p.role.as_str(), p.id)).unwrap_or_default();
    let service_id = match req.uri().path().starts_with("/services/") {
        true => req.path_parameters().first("id").unwrap_or_default().to_owned(),
        false => String::new(),
    };
    crate::telemetry::request_span(&request_id, &principal, &service_id)
}
