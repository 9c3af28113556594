//! Who is calling. In AWS the API Gateway JWT authorizer has verified the token and the claims
//! arrive in the request context. Locally, when (and only when) a development secret is set,
//! the function verifies an HS256 bearer token itself, with `jsonwebtoken` (its signature and
//! algorithm); `exp` and `nbf` are checked here against the app's clock, which tests set.

use crate::domain::{ClientId, Principal, Role};
use crate::error::ApiError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: i64 = 30;

#[derive(Clone)]
pub enum Auth {
    /// Trust the claims the API Gateway authorizer verified.
    Authorizer,
    /// Verify `Authorization: Bearer` HS256 tokens with this secret (local development only).
    DevSecret(Vec<u8>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Authorizer => "Auth::Authorizer",
            Auth::DevSecret(_) => "Auth::DevSecret(..)",
        })
    }
}

impl Auth {
    /// `DEV_JWT_SECRET` set and not empty: local verification; otherwise the authorizer's claims.
    pub fn from_env() -> Self {
        match std::env::var("DEV_JWT_SECRET") {
            Ok(secret) if !secret.is_empty() => Auth::DevSecret(secret.into_bytes()),
            _ => Auth::Authorizer,
        }
    }

    pub fn principal(&self, req: &Request, now_seconds: i64) -> Result<Principal, ApiError> {
        match self {
            Auth::Authorizer => principal_from_authorizer(req),
            Auth::DevSecret(secret) => {
                let token = bearer_token(req)?;
                let claims = verify_hs256(token, secret, now_seconds)?;
                principal_from_claims(&claims)
            }
        }
    }
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::Unauthorized(detail.to_owned())
}

fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("an Authorization: Bearer token is required"))?;
    let value = header.to_str().map_err(|_| unauthorized("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(unauthorized("an Authorization: Bearer token is required")),
    }
}

/// Checks an HS256 JWT's header, signature, `exp` and `nbf`; answers its claims.
pub fn verify_hs256(
    token: &str,
    secret: &[u8],
    now_seconds: i64,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    crate::crypto::install();
    let malformed = || unauthorized("malformed token");
    let header = jsonwebtoken::decode_header(token).map_err(|_| malformed())?;
    if header.alg != Algorithm::HS256 {
        return Err(unauthorized("tokens must be signed with HS256"));
    }
    // The signature and the algorithm only: the times are checked below, on the app's clock.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let decoded = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
        token,
        &DecodingKey::from_secret(secret),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => unauthorized("bad token signature"),
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => unauthorized("tokens must be signed with HS256"),
        _ => malformed(),
    })?;
    let claims = decoded.claims;
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| unauthorized("token has no exp"))?;
    if (exp as i64) + LEEWAY_SECONDS <= now_seconds {
        return Err(unauthorized("token has expired"));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().ok_or_else(malformed)?;
        if (nbf as i64) - LEEWAY_SECONDS > now_seconds {
            return Err(unauthorized("token is not valid yet"));
        }
    }
    Ok(claims)
}

/// Signs an HS256 token (tests and local tooling).
pub fn sign_hs256(claims: &serde_json::Value, secret: &[u8]) -> String {
    crate::crypto::install();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .expect("claims that serialize sign")
}

fn principal_from_claims(claims: &serde_json::Map<String, serde_json::Value>) -> Result<Principal, ApiError> {
    let sub = claims.get("sub").and_then(|s| s.as_str());
    let role = claims.get("role").and_then(|r| r.as_str());
    let groups: Vec<String> = match claims.get("cognito:groups") {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect()
        }
        Some(serde_json::Value::String(text)) => parse_group_list(text),
        _ => Vec::new(),
    };
    principal(sub, role, &groups)
}

/// The API Gateway HTTP API passes claims as strings; groups look like `[provider admins]`.
fn principal_from_authorizer(req: &Request) -> Result<Principal, ApiError> {
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).map(|jwt| jwt.claims.clone())
        }
        _ => None,
    }
    .ok_or_else(|| unauthorized("no verified token"))?;
    let groups = claims.get("cognito:groups").map(|g| parse_group_list(g)).unwrap_or_default();
    principal(claims.get("sub").map(String::as_str), claims.get("role").map(String::as_str), &groups)
}

fn parse_group_list(text: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list;
    }
    text.trim_matches(|c| c == '[' || c == ']')
        .split([' ', ','])
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

fn principal(sub: Option<&str>, role: Option<&str>, groups: &[String]) -> Result<Principal, ApiError> {
    let id = sub.and_then(ClientId::parse).ok_or_else(|| unauthorized("token has no valid sub"))?;
    let role = if groups.iter().any(|g| g == "provider") {
        Role::Provider
    } else {
        match role {
            Some("client") => Role::Client,
            Some("provider") => Role::Provider,
            _ => return Err(unauthorized("token has no known role")),
        }
    };
    Ok(Principal { id, role })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"test-secret";
    const NOW: i64 = 1_800_000_000;

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let mut base = json!({"sub": "alice", "role": "client", "exp": NOW + 600});
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base
    }

    fn check(token: &str) -> Result<Principal, ApiError> {
        let claims = verify_hs256(token, SECRET, NOW)?;
        principal_from_claims(&claims)
    }

    #[test]
    fn a_good_token_names_its_principal() {
        let p = check(&sign_hs256(&claims(json!({})), SECRET)).unwrap();
        assert_eq!(p.id.as_str(), "alice");
        assert_eq!(p.role, Role::Client);
        let p = check(&sign_hs256(&claims(json!({"role": "x", "cognito:groups": ["provider"]})), SECRET))
            .unwrap();
        assert_eq!(p.role, Role::Provider);
    }

    #[test]
    fn bad_tokens_are_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let good = sign_hs256(&claims(json!({})), SECRET);
        let (head, rest) = good.split_once('.').unwrap();
        let none_alg = format!("{}.{}", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#), rest);
        let wrong_alg = format!("{}.{}", URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512"}"#), rest);
        let cases = [
            ("malformed", "not.a.token.at-all".to_owned()),
            ("two parts", format!("{head}.{rest}").rsplit_once('.').unwrap().0.to_owned()),
            ("expired", sign_hs256(&claims(json!({"exp": NOW - 3600})), SECRET)),
            ("no exp", sign_hs256(&json!({"sub": "a", "role": "client"}), SECRET)),
            ("not yet valid", sign_hs256(&claims(json!({"nbf": NOW + 3600})), SECRET)),
            ("bad signature", sign_hs256(&claims(json!({})), b"other")),
            ("alg none", none_alg),
            ("wrong alg", wrong_alg),
            ("no sub", sign_hs256(&json!({"role": "client", "exp": NOW + 60}), SECRET)),
            ("unknown role", sign_hs256(&claims(json!({"role": "admin"})), SECRET)),
        ];
        for (name, token) in cases {
            assert!(matches!(check(&token), Err(ApiError::Unauthorized(_))), "{name} was accepted");
        }
    }

    #[test]
    fn authorizer_groups_come_as_text() {
        assert_eq!(parse_group_list("[provider admins]"), vec!["provider", "admins"]);
        assert_eq!(parse_group_list(r#"["provider"]"#), vec!["provider"]);
    }
}
