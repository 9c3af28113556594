//! `POST /cart/checkout`: a client pays for the services in its cart (all, or `service_ids`)
//! from its balance, in one transaction; 402 and nothing charged when the balance is short.
//! Paid services go to activation.

mod entry;
pub use entry::serve;

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::billing::{cart, pay_for, services_view, write_cart, MAX_CHECKOUT};
use shared::domain::history::Actor;
use shared::domain::quote::{self, Quote};
use shared::domain::Principal;
use shared::http::{self, json_body};
use shared::operations::account_with_rules;
use shared::{ApiError, App, Reply};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    http::quotable_write(app, req, checkout).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    service_ids: Option<Vec<String>>,
}

async fn checkout(app: &App, principal: Principal, req: Request) -> Result<Reply, ApiError> {
    if principal.is_provider() {
        return Err(ApiError::Forbidden("a client checks out its own cart".into()));
    }
    let body: CheckoutBody =
        if req.body().is_empty() { CheckoutBody { service_ids: None } } else { json_body(&req)? };
    let mut services = cart(app.store.client_services(&principal.id).await?);
    if let Some(wanted) = &body.service_ids {
        if let Some(missing) = wanted.iter().find(|id| !services.iter().any(|s| s.id.as_str() == id.as_str()))
        {
            return Err(ApiError::Unprocessable(format!("service {missing} is not in the cart")));
        }
        services.retain(|s| wanted.iter().any(|id| id.as_str() == s.id.as_str()));
    }
    if services.is_empty() {
        return Err(ApiError::Unprocessable("the cart is empty".into()));
    }
    if services.len() > MAX_CHECKOUT {
        return Err(ApiError::Unprocessable(format!("check out at most {MAX_CHECKOUT} services at a time")));
    }
    let now = app.clock.now();
    let (mut account, rules) = account_with_rules(app, &principal.id).await?;
    let balance = account.balance;
    let (changes, entries) = pay_for(&mut account, &services, &rules, &Actor::from(&principal), now)?;
    if http::dry_run(&req)? {
        let lines =
            services.iter().zip(&changes).map(|(s, c)| quote::line(s, c, s.order_price, now)).collect();
        return Reply::ok(Quote::new(lines, &changes.iter().collect::<Vec<_>>(), balance, now)?);
    }
    let conflict = "the cart or the balance changed meanwhile; try again";
    write_cart(app, None, account, &entries, &changes.iter().collect::<Vec<_>>(), conflict).await?;
    Reply::ok(services_view(app, &changes, &principal, &rules).await?)
}
