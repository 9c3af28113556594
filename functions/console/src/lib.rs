//! `GET /` and `GET /console/{proxy+}`: the console, the Products/Services section as a web
//! page. Its files (`console/` in the repository) are compiled in; the stylesheet and script
//! are served under names carrying their content's hash, cached for a year, and the page that
//! names them is revalidated by its `ETag`. Any other path under `/console/` is the page
//! itself, which routes by its path: a deep link opens after a reload. The files are public;
//! the data comes from the API, on the same origin, with the user's token.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const INDEX: &str = include_str!("../../../console/index.html");
const SCRIPT: &str = include_str!("../../../console/app.js");
const STYLE: &str = include_str!("../../../console/app.css");

/// No script, style, image or connection from anywhere but this origin.
const SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

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
    page: File,
    script_path: String,
    script: File,
    style_path: String,
    style: File,
}

fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

fn console() -> &'static Console {
    static CONSOLE: OnceLock<Console> = OnceLock::new();
    CONSOLE.get_or_init(|| {
        let script_path = format!("/console/assets/app.{}.js", hash(SCRIPT));
        let style_path = format!("/console/assets/app.{}.css", hash(STYLE));
        let page = INDEX.replace("/console/app.js", &script_path).replace("/console/app.css", &style_path);
        Console {
            page: File::new(page, "text/html; charset=utf-8", REVALIDATE),
            script: File::new(SCRIPT.to_owned(), "text/javascript; charset=utf-8", IMMUTABLE),
            style: File::new(STYLE.to_owned(), "text/css; charset=utf-8", IMMUTABLE),
            script_path,
            style_path,
        }
    })
}

pub fn handle(req: Request) -> Response<Body> {
    let path = req.uri().path();
    if path == "/" || path == "/console" {
        return redirect("/console/");
    }
    let console = console();
    let file = match path {
        p if p == console.script_path => &console.script,
        p if p == console.style_path => &console.style,
        // Another version's asset (a page cached before a deployment): gone.
        p if p.starts_with("/console/assets/") => return not_found(),
        _ => &console.page,
    };
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == file.etag));
    let builder = Response::builder()
        .header(header::ETAG, &file.etag)
        .header(header::CACHE_CONTROL, file.cache)
        .header(header::CONTENT_SECURITY_POLICY, SECURITY_POLICY)
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
