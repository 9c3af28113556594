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
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "console");
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
