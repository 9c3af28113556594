//! `GET /` and `GET /console/{proxy+}`: the console, the Products/Services section as a web
//! page. Its files (`console/` in the repository) are compiled in; the stylesheet and the
//! script's ES modules (no build step: `app.js` imports the others) are served under names
//! carrying their content's hash, cached for a year, and the page that names them is
//! revalidated by its `ETag`. Any other path under `/console/` is the page itself, which routes
//! by its path: a deep link opens after a reload. The files are public; the data comes from the
//! API, on the same origin, with the user's token.

mod modules;

use modules::fingerprint;

mod entry;
pub use entry::serve;

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

const INDEX: &str = include_str!("../../../console/index.html");
const STYLE: &str = include_str!("../../../console/app.css");
/// The page's entry module: the router, which imports the pages.
const ENTRY: &str = "app.js";
/// The script's ES modules, by the name they import each other by (`./api.js`): the API client,
/// the DOM and page helpers, a module per page and the entry.
const MODULES: [(&str, &str); 14] = [
    ("api.js", include_str!("../../../console/api.js")),
    ("ui.js", include_str!("../../../console/ui.js")),
    ("signin.js", include_str!("../../../console/signin.js")),
    ("services.js", include_str!("../../../console/services.js")),
    ("service.js", include_str!("../../../console/service.js")),
    ("order.js", include_str!("../../../console/order.js")),
    ("account.js", include_str!("../../../console/account.js")),
    ("tickets.js", include_str!("../../../console/tickets.js")),
    ("clients.js", include_str!("../../../console/clients.js")),
    ("catalog.js", include_str!("../../../console/catalog.js")),
    ("reconciliation.js", include_str!("../../../console/reconciliation.js")),
    ("imports.js", include_str!("../../../console/imports.js")),
    ("bulk.js", include_str!("../../../console/bulk.js")),
    ("app.js", include_str!("../../../console/app.js")),
];

/// No script, style, image or connection from anywhere but this origin, but for the sign-in's
/// exchange of its code at the identity provider's token endpoint (`token_origin`).
fn security_policy(token_origin: Option<&str>) -> String {
    let connect = token_origin.map_or("'self'".to_owned(), |origin| format!("'self' {origin}"));
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// `https://auth.example.com` of `https://auth.example.com/oauth2/token`; None for anything
/// that is not an http(s) URL with a plain host.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let plain = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    (matches!(scheme, "https" | "http") && plain).then(|| format!("{scheme}://{host}"))
}

/// A file as served: its body, type, `ETag` and caching.
struct File {
    body: String,
    content_type: &'static str,
    etag: String,
    cache: &'static str,
}

impl File {
    fn new(body: String, content_type: &'static str, cache: &'static str) -> Self {
        let etag = format!("\"{}\"", hash(&body));
        Self { body, content_type, etag, cache }
    }
}

struct Console {
    policy: String,
    page: File,
    /// Every asset by its path (`/console/assets/app.{hash}.css`): the stylesheet, the modules
    /// and the sign-in settings.
    assets: HashMap<String, File>,
}

fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

fn console() -> &'static Console {
    static CONSOLE: OnceLock<Console> = OnceLock::new();
    CONSOLE.get_or_init(|| {
        let modules = fingerprint(&MODULES);
        let entry_path = asset_path(&modules[ENTRY].file);
        let style_path = asset_path(&format!("app.{}.css", hash(STYLE)));
        let config = format!("window.CONSOLE_CONFIG = {};\n", sign_in_config());
        let config_path = asset_path(&format!("config.{}.js", hash(&config)));
        let page = INDEX.replace("/console/app.js", &entry_path).replace("/console/app.css", &style_path);
        let page = with_config(&page, &config_path);
        let mut assets: HashMap<String, File> = modules
            .into_values()
            .map(|module| (asset_path(&module.file), File::new(module.body, JAVASCRIPT, IMMUTABLE)))
            .collect();
        assets.insert(style_path, File::new(STYLE.to_owned(), "text/css; charset=utf-8", IMMUTABLE));
        assets.insert(config_path, File::new(config, JAVASCRIPT, IMMUTABLE));
        let token_url = std::env::var("CONSOLE_TOKEN_URL").ok();
        Console {
            policy: security_policy(token_url.as_deref().and_then(origin_of).as_deref()),
            page: File::new(page, "text/html; charset=utf-8", REVALIDATE),
            assets,
        }
    })
}

/// Where the assets are served: the modules import each other relatively (`./api.{hash}.js`),
/// so they all sit in this one folder.
const ASSETS: &str = "/console/assets/";

fn asset_path(file: &str) -> String {
    format!("{ASSETS}{file}")
}

pub fn handle(req: Request) -> Response<Body> {
    let path = req.uri().path();
    if path == "/" || path == "/console" {
        return redirect("/console/");
    }
    let console = console();
    let file = match console.assets.get(path) {
        Some(asset) => asset,
        // Another version's asset (a page cached before a deployment): gone.
        None if path.starts_with(ASSETS) => return not_found(),
        None => &console.page,
    };
    // Compared weakly, as RFC 9110 says (a proxy that compresses makes the tag weak).
    let unchanged =
        req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|tags| {
            tags.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == file.etag)
        });
    let builder = Response::builder()
        .header(header::ETAG, &file.etag)
        .header(header::CACHE_CONTROL, file.cache)
        .header(header::CONTENT_SECURITY_POLICY, &console.policy)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    let response = if unchanged {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::Empty)
    } else {
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, file.content_type)
            .body(Body::Text(file.body.clone()))
    };
    response.unwrap_or_else(|_| not_found())
}

/// How the console signs in, from the function's environment: in AWS the identity provider's
/// OAuth endpoints and the console's client id (authorization code with PKCE); locally, with a
/// development secret set, also the `Token` field that takes what `make token` prints.
fn sign_in_config() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut config = serde_json::Map::new();
    for (key, name) in [
        ("authorize_url", "CONSOLE_AUTHORIZE_URL"),
        ("token_url", "CONSOLE_TOKEN_URL"),
        ("client_id", "CONSOLE_CLIENT_ID"),
    ] {
        if let Some(value) = var(name) {
            config.insert(key.into(), value.into());
        }
    }
    config.insert("dev_token".into(), var("DEV_JWT_SECRET").is_some().into());
    serde_json::Value::Object(config).to_string()
}

/// The page with the script that sets `window.CONSOLE_CONFIG` where it marks its place (a file
/// of its own: the policy allows no inline script).
fn with_config(page: &str, config_path: &str) -> String {
    let tag = format!("<script src=\"{config_path}\"></script>");
    match page
        .find("<!-- console-config")
        .and_then(|start| Some((start, start + page[start..].find("-->")? + 3)))
    {
        Some((start, end)) => format!("{}{tag}{}", &page[..start], &page[end..]),
        None => page.replacen("</head>", &format!("{tag}</head>"), 1),
    }
}

fn redirect(to: &str) -> Response<Body> {
    let response =
        Response::builder().status(StatusCode::FOUND).header(header::LOCATION, to).body(Body::Empty);
    response.unwrap_or_else(|_| not_found())
}

fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::Text("not found".into()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
