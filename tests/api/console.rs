//! The console's files: the page at every path under `/console/` (deep links), its assets
//! under fingerprinted names cached for a year, `ETag`s, and a redirect from `/`.

use crate::helpers::{Call, Stack};

#[tokio::test]
async fn the_console_is_served_with_its_assets_and_deep_links() {
    let stack = Stack::new().await;
    let root = stack.send(Call::new("GET", "/")).await;
    assert_eq!((root.status, root.header("location")), (302, Some("/console/")));
    let page = stack.send(Call::new("GET", "/console/")).await;
    assert_eq!(page.status, 200, "the page itself");
    let page = stack.send(Call::new("GET", "/console/services/01JZZZZZZZZZZZZZZZZZZZZZZZ")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let html = page.body.as_str().expect("a page").to_owned();
    let etag = page.header("etag").expect("an ETag").to_owned();
    let again = stack.send(Call::new("GET", "/console/").header("if-none-match", &etag)).await;
    assert_eq!(again.status, 304, "the same page, not sent again");
    let assets: Vec<String> =
        html.split('"').filter(|s| s.starts_with("/console/assets/")).map(str::to_owned).collect();
    assert_eq!(
        assets.len(),
        3,
        "a stylesheet, the script and its sign-in settings, by their content's hash: {html}"
    );
    let mut total = html.len();
    for asset in &assets {
        let file = stack.send(Call::new("GET", asset)).await;
        assert_eq!(file.status, 200, "{asset}");
        assert_eq!(file.header("cache-control"), Some("public, max-age=31536000, immutable"));
        let expected =
            if asset.ends_with(".js") { "text/javascript; charset=utf-8" } else { "text/css; charset=utf-8" };
        assert_eq!(file.header("content-type"), Some(expected));
        total += file.body.as_str().map_or(0, str::len);
    }
    assert!(total < 150 * 1024, "the first load is {total} bytes, uncompressed");
    let stale = stack.send(Call::new("GET", "/console/assets/app.0000000000000000.js")).await;
    assert_eq!(stale.status, 404);
    let policy = page.header("content-security-policy").expect("a policy");
    assert!(policy.contains("default-src 'self'"), "{policy}");
}

#[test]
fn the_template_serves_the_consoles_routes_without_the_authorizer() {
    let template: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(tests::emulator::workspace_root().join("infra/template.yaml")).unwrap(),
    )
    .unwrap();
    let function = &template["Resources"]["ConsoleFunction"];
    assert_eq!(function["Properties"]["Handler"], "console");
    let mut deployed: Vec<String> = Vec::new();
    for (_, event) in function["Properties"]["Events"].as_mapping().expect("events") {
        assert_eq!(event["Properties"]["Auth"]["Authorizer"], "NONE", "the files are public");
        deployed.push(format!(
            "{} {}",
            event["Properties"]["Method"].as_str().unwrap(),
            event["Properties"]["Path"].as_str().unwrap()
        ));
    }
    // `cargo lambda watch` spells API Gateway's greedy `{proxy+}` as `{*proxy}`, and needs
    // `/console/` routed of its own, which an HTTP API matches with `/console`.
    let mut routed: Vec<String> = tests::router::routes()
        .into_iter()
        .filter(|r| r.function == crate::routes::CONSOLE && r.path != "/console/")
        .map(|r| format!("{} {}", r.method, r.path.replace("{*proxy}", "{proxy+}")))
        .collect();
    deployed.sort();
    routed.sort();
    assert_eq!(deployed, routed);
}

/// In AWS the console signs in with the authorization-code flow: `pageCallback` POSTs the code
/// to `CONSOLE_TOKEN_URL` (the identity provider's token endpoint, e.g. Cognito's
/// `https://<domain>.auth.<region>.amazoncognito.com/oauth2/token`, another origin than the
/// API's). The page's policy is `connect-src 'self'`, so the browser blocks that fetch and no
/// one can sign in in AWS. The policy must let the page reach the token endpoint's origin.
///
/// The console's settings are read once per process (a `OnceLock`), so this runs the check in
/// a child process with the settings of a deployment.
#[test]
fn the_pages_policy_lets_the_sign_in_reach_the_token_endpoint() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["console::token_endpoint_policy_in_a_deployment", "--exact", "--ignored", "--nocapture"])
        .env("CONSOLE_AUTHORIZE_URL", "https://auth.example.com/oauth2/authorize")
        .env("CONSOLE_TOKEN_URL", "https://auth.example.com/oauth2/token")
        .env("CONSOLE_CLIENT_ID", "console")
        .env_remove("DEV_JWT_SECRET")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("1 passed"), "{out}\n{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
#[ignore = "run by the_pages_policy_lets_the_sign_in_reach_the_token_endpoint, with its environment"]
fn token_endpoint_policy_in_a_deployment() {
    let req = lambda_http::http::Request::builder()
        .method("GET")
        .uri("https://api.example.com/console/callback?code=abc&state=xyz")
        .body(lambda_http::Body::Empty)
        .unwrap();
    let response = console::handle(req);
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let connect = policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .unwrap_or("connect-src (none; default-src applies)")
        .to_owned();
    assert!(
        connect.contains("https://auth.example.com"),
        "the callback's fetch to the token endpoint is blocked by `{connect}` (policy: {policy})"
    );
}

/// `If-None-Match` is compared weakly (RFC 9110 13.1.2): a revalidation naming the page's tag
/// as weak (as a proxy that compressed it answers it) or `*` is the same page: 304.
#[tokio::test]
async fn a_weak_or_any_if_none_match_revalidates_the_page() {
    let stack = Stack::new().await;
    let page = stack.send(Call::new("GET", "/console/")).await;
    let etag = page.header("etag").expect("an ETag").to_owned();
    let weak = stack.send(Call::new("GET", "/console/").header("if-none-match", &format!("W/{etag}"))).await;
    assert_eq!(weak.status, 304, "W/{etag}");
    let any = stack.send(Call::new("GET", "/console/").header("if-none-match", "*")).await;
    assert_eq!(any.status, 304, "*");
}
