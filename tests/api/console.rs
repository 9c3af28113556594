//! The console's files: the page at every path under `/console/` (deep links), its assets (the
//! stylesheet, the script's ES modules, the sign-in settings) under fingerprinted names cached
//! for a year, `ETag`s, and a redirect from `/`.

use crate::helpers::{Call, Stack};
use std::collections::{BTreeMap, BTreeSet};

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
        "a stylesheet, the entry module and its sign-in settings, by their content's hash: {html}"
    );
    let entry = entry_module(&html);
    assert!(assets.contains(&entry), "{entry} is one of {assets:?}");
    let mut total = html.len();
    for asset in &assets {
        total += fetch_asset(&stack, asset).await.len();
    }
    // The modules the entry imports, directly or not, load with the page.
    let modules = module_graph(&stack, &entry, static_imports).await;
    total += modules.iter().filter(|(path, _)| **path != entry).map(|(_, body)| body.len()).sum::<usize>();
    assert!(total < 150 * 1024, "the first load is {total} bytes, uncompressed");
    let stale = stack.send(Call::new("GET", "/console/assets/app.0000000000000000.js")).await;
    assert_eq!(stale.status, 404);
    let unhashed = stack.send(Call::new("GET", "/console/assets/api.js")).await;
    assert_eq!(unhashed.status, 404, "a module is served under its hashed name only");
    let policy = page.header("content-security-policy").expect("a policy");
    assert!(policy.contains("default-src 'self'"), "{policy}");
}

/// Each page of the console is an ES module of its own, and every import of every module,
/// static or dynamic, names a file that is served (the function renames the imports to the
/// hashed files).
#[tokio::test]
async fn every_modules_imports_are_served_and_each_page_has_its_module() {
    let stack = Stack::new().await;
    let page = stack.send(Call::new("GET", "/console/")).await;
    let entry = entry_module(page.body.as_str().expect("a page"));
    let modules = module_graph(&stack, &entry, all_imports).await;
    let names: BTreeSet<&str> = modules.keys().map(|path| module_name(path)).collect();
    let pages = [
        "signin",
        "services",
        "service",
        "order",
        "account",
        "tickets",
        "clients",
        "catalog",
        "reconciliation",
    ];
    for name in ["app", "api", "ui"].iter().chain(&pages) {
        assert!(names.contains(name), "no module {name} among {names:?}");
    }
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

/// The page's `<script type="module" src="…">`.
fn entry_module(html: &str) -> String {
    let tag = html.split("<script type=\"module\" src=\"").nth(1).expect("a module script");
    tag.split('"').next().unwrap_or_default().to_owned()
}

/// An asset's text, asserting it is served as an immutable fingerprinted file of its type.
async fn fetch_asset(stack: &Stack, path: &str) -> String {
    let file = stack.send(Call::new("GET", path)).await;
    assert_eq!(file.status, 200, "{path}");
    assert_eq!(file.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
    let expected =
        if path.ends_with(".js") { "text/javascript; charset=utf-8" } else { "text/css; charset=utf-8" };
    assert_eq!(file.header("content-type"), Some(expected), "{path}");
    file.body.as_str().unwrap_or_default().to_owned()
}

/// Every module reached from `entry` by the imports `imports` finds, by its path, with its text;
/// each fetched with `fetch_asset`'s assertions.
async fn module_graph(
    stack: &Stack,
    entry: &str,
    imports: fn(&str) -> Vec<String>,
) -> BTreeMap<String, String> {
    let mut modules = BTreeMap::new();
    let mut pending = vec![entry.to_owned()];
    while let Some(path) = pending.pop() {
        if modules.contains_key(&path) {
            continue;
        }
        let body = fetch_asset(stack, &path).await;
        pending.extend(imports(&body).iter().map(|specifier| resolve(specifier, &path)));
        modules.insert(path, body);
    }
    modules
}

/// The specifiers of a module's import statements (`import … from '…';`, `import '…';`), each
/// starting a line.
fn static_imports(module: &str) -> Vec<String> {
    module
        .match_indices("import")
        .filter(|(at, _)| module[..*at].is_empty() || module[..*at].ends_with('\n'))
        .map(|(at, keyword)| &module[at + keyword.len()..])
        .filter(|rest| rest.starts_with([' ', '{', '*', '\'', '"']))
        .filter_map(|rest| quoted(rest.split(';').next()?).pop())
        .collect()
}

/// The static imports' specifiers and the dynamic ones (`import('…')`).
fn all_imports(module: &str) -> Vec<String> {
    let dynamic = module.split("import(").skip(1).filter_map(|call| quoted(call).into_iter().next());
    static_imports(module).into_iter().chain(dynamic).collect()
}

/// The string literals of `code`, quoted with ' or ", in order (no escapes: import specifiers).
fn quoted(code: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut rest = code;
    while let Some(start) = rest.find(['\'', '"']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let Some(len) = rest[start + 1..].find(quote) else { break };
        strings.push(rest[start + 1..start + 1 + len].to_owned());
        rest = &rest[start + len + 2..];
    }
    strings
}

/// A specifier as the browser resolves it from the module at `from` (relative or absolute).
fn resolve(specifier: &str, from: &str) -> String {
    if specifier.starts_with('/') {
        return specifier.to_owned();
    }
    let relative =
        specifier.strip_prefix("./").unwrap_or_else(|| panic!("{specifier} in {from}: not ./ nor /"));
    let folder = from.rsplit_once('/').map_or("", |(folder, _)| folder);
    format!("{folder}/{relative}")
}

/// `api` of `/console/assets/api.1f2e3d4c5b6a7980.js`.
fn module_name(path: &str) -> &str {
    path.rsplit('/').next().and_then(|file| file.split('.').next()).unwrap_or_default()
}
