//! Authentication: locally verified development tokens, and the API Gateway authorizer's claims.

use crate::helpers::{Call, Stack, SECRET};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde_json::json;
use shared::auth::{sign_hs256, Auth};
use shared::domain::Clock;
use shared::App;
use std::collections::HashMap;

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let stack = Stack::new().await;
    let now = stack.clock.now().unix_seconds();
    let sign = |claims: serde_json::Value| sign_hs256(&claims, SECRET);
    let good = sign(json!({"sub": "alice", "role": "client", "exp": now + 600}));
    let (_, rest) = good.split_once('.').unwrap();
    let with_header = |header: &str| format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header));
    let tokens = [
        ("malformed", "abc.def".to_owned()),
        ("expired", sign(json!({"sub": "alice", "role": "client", "exp": now - 600}))),
        (
            "not yet valid",
            sign(json!({"sub": "alice", "role": "client", "exp": now + 600, "nbf": now + 300})),
        ),
        ("bad signature", sign_hs256(&json!({"sub": "alice", "role": "client", "exp": now + 600}), b"guess")),
        ("alg none", with_header(r#"{"alg":"none","typ":"JWT"}"#)),
        ("wrong algorithm", with_header(r#"{"alg":"RS256","typ":"JWT"}"#)),
        ("missing sub", sign(json!({"role": "client", "exp": now + 600}))),
        ("unknown role", sign(json!({"sub": "alice", "role": "root", "exp": now + 600}))),
    ];
    for path in ["/services", "/product-types", "/tariffs"] {
        let none = stack.send(Call::new("GET", path)).await;
        none.problem(401);
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        stack.send(Call::new("GET", path).header("authorization", "Basic YTpi")).await.problem(401);
        for (name, token) in &tokens {
            let reply = stack.get(path, token).await;
            assert_eq!(reply.status, 401, "{name} token on {path}: {}", reply.body);
            reply.problem(401);
        }
        stack.get(path, &good).await.ok(200);
    }
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "x"}});
    stack.send(Call::new("POST", "/services").json(&order)).await.problem(401);
    assert_eq!(stack.get("/services", &stack.provider()).await.ok(200)["items"], json!([]));
}

#[tokio::test]
async fn cognito_provider_group_makes_a_provider() {
    let stack = Stack::new().await;
    let now = stack.clock.now().unix_seconds();
    let token = sign_hs256(&json!({"sub": "ops2", "cognito:groups": ["provider"], "exp": now + 60}), SECRET);
    let order = json!({"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "x"}, "client_id": "dave"});
    assert_eq!(stack.post("/services", &token, order).await.ok(201)["client_id"], "dave");
}

fn authorizer_context(claims: &[(&str, &str)]) -> RequestContext {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = claims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(context)
}

#[tokio::test]
async fn in_aws_the_authorizer_claims_name_the_principal() {
    let stack = Stack::new().await;
    let app = App::new(stack.app.store.clone(), Auth::Authorizer, stack.app.clock.clone());
    let call = |claims: &[(&str, &str)]| {
        Call::new("GET", "/services").request().with_request_context(authorizer_context(claims))
    };
    let client = list_services::handle(&app, call(&[("sub", "alice"), ("role", "client")])).await;
    assert_eq!(client.status(), 200);
    let provider =
        list_services::handle(&app, call(&[("sub", "ops"), ("cognito:groups", "[admins provider]")])).await;
    assert_eq!(provider.status(), 200);
    let no_role = list_services::handle(&app, call(&[("sub", "alice")])).await;
    assert_eq!(no_role.status(), 401);
    // Without an authorizer (and no development secret) a bearer token is never trusted.
    let bare = Call::new("GET", "/services").token(&stack.client("alice")).request();
    assert_eq!(list_services::handle(&app, bare).await.status(), 401);
}
