"""Adds an HTTP route's function to every place that names it: its package under functions/
(with a handler stub to fill in), the workspace dependencies and route table in Cargo.toml, the
test harness (tests/Cargo.toml and the dispatch in tests/src/router.rs), the SAM template and a
sample event under events/. openapi.yaml is written by hand.

Usage: python3 infra/local/new_function.py NAME METHOD PATH ACCESS [--queue] [--summary TEXT]
  ACCESS: read (GetItem/Query) or write (also transactions); --queue lets it send to the
  operations queue.
Example: python3 infra/local/new_function.py reissue-service POST /services/{id}/reissue write --queue
"""

import argparse
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_SERVICE_ID = "01JDQ8Z6V5Q0M3W2Y5H7K9T1AB"
# The client token of the other sample events (signed with the development secret).
CLIENT_AUTHORIZATION = json.loads((ROOT / "events" / "get-service.json").read_text())["headers"]["authorization"]


def snake(name):
    return name.replace("-", "_")


def camel(name):
    return "".join(part.capitalize() for part in name.split("-"))


def write_package(name, method, path, summary):
    package = ROOT / "functions" / name
    (package / "src").mkdir(parents=True, exist_ok=False)
    (package / "Cargo.toml").write_text(
        f"""[package]
name = "{name}"
edition.workspace = true
version.workspace = true
publish.workspace = true

[lib]
name = "{snake(name)}"
path = "src/lib.rs"
# Handlers are tested through the router in tests/.
test = false
doctest = false

[[bin]]
name = "{name}"
path = "src/main.rs"
test = false

[dependencies]
shared.workspace = true
lambda_http.workspace = true
tokio.workspace = true
serde.workspace = true
serde_json.workspace = true
"""
    )
    (package / "src" / "main.rs").write_text(
        f"""//! The function's own binary, which `cargo lambda watch` serves locally. Deployed, every
//! function runs in the one `bootstrap` binary (infra/bootstrap), chosen by its handler name.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {{
    shared::telemetry::init();
    {snake(name)}::serve().await
}}
"""
    )
    (package / "src" / "entry.rs").write_text(
        """//! Lambda entry point: wires the runtime to the handler in this package's library.

use lambda_http::{run, service_fn, Error};

/// Serves the Lambda runtime's invocations until it stops.
pub async fn serve() -> Result<(), Error> {
    let app = &shared::App::from_env().await;
    Box::pin(run(service_fn(move |req| async move { Ok::<_, Error>(crate::handle(app, req).await) }))).await
}
"""
    )
    (package / "src" / "lib.rs").write_text(
        f"""//! `{method} {path}`: {summary}

mod entry;
pub use entry::serve;

use lambda_http::{{Body, Request, Response}};
use shared::App;

pub async fn handle(app: &App, req: Request) -> Response<Body> {{
    todo!("{name}")
}}
"""
    )


def insert_after_last(text, pattern, line):
    matches = list(re.finditer(pattern, text, re.M))
    end = matches[-1].end()
    return text[:end] + "\n" + line + text[end:]


def register_in_workspace(name, method, path):
    manifest = ROOT / "Cargo.toml"
    text = manifest.read_text()
    text = insert_after_last(text, r'^[a-z-]+ = \{ path = "functions/[a-z-]+" \}$',
                             f'{name} = {{ path = "functions/{name}" }}')
    route = f'"{path}" = [{{ method = "{method}", function = "{name}" }}]'
    existing = re.search(rf'^"{re.escape(path)}" = \[(.*)\]$', text, re.M)
    if existing:
        targets = existing.group(1).strip().rstrip(",")
        text = text.replace(existing.group(0), f'"{path}" = [\n  {targets},\n  {{ method = "{method}", function = "{name}" }},\n]')
    else:
        text = insert_after_last(text, r'^"/[^"]*" = \[.*\]$', route)
    manifest.write_text(text)

    tests_manifest = ROOT / "tests" / "Cargo.toml"
    tests_manifest.write_text(
        insert_after_last(tests_manifest.read_text(), r"^[a-z-]+\.workspace = true$", f"{name}.workspace = true")
    )
    bootstrap_manifest = ROOT / "infra" / "bootstrap" / "Cargo.toml"
    bootstrap_manifest.write_text(
        insert_after_last(bootstrap_manifest.read_text(), r"^[a-z-]+\.workspace = true$", f"{name}.workspace = true")
    )
    bootstrap = ROOT / "infra" / "bootstrap" / "src" / "main.rs"
    anchor = "functions! {\n"
    bootstrap.write_text(bootstrap.read_text().replace(anchor, anchor + f'    "{name}" => {snake(name)},\n', 1))
    router = ROOT / "tests" / "src" / "router.rs"
    text = router.read_text()
    anchor = "    Some(match function {\n"
    arm = f'        "{name}" => {snake(name)}::handle(app, req).await,\n'
    router.write_text(text.replace(anchor, anchor + arm, 1))


def register_in_template(name, method, path, access, queue):
    template = ROOT / "infra" / "template.yaml"
    text = template.read_text()
    actions = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"]
    if access == "write":
        actions += ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    environment = ""
    statements = "\n".join(f"                - {a}" for a in actions)
    extra = ""
    if queue:
        environment = """      Environment:
        Variables:
          OPERATIONS_QUEUE_URL: !Ref OperationsQueue
"""
        extra = """            - Effect: Allow
              Action:
                - sqs:SendMessage
              Resource: !GetAtt OperationsQueue.Arn
"""
    resource = f"""  {camel(name)}Function:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {name}
      FunctionName: !Sub "${{AWS::StackName}}-{name}"
{environment}      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
{statements}
              Resource:
                - !GetAtt Table.Arn
                - !Sub "${{Table.Arn}}/index/*"
{extra}      Events:
        Api:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: {method}
            Path: {path}

"""
    anchor = "  OperationsWorkerFunction:\n"
    template.write_text(text.replace(anchor, resource + anchor, 1))


def write_event(name, method, path):
    params = {p: SAMPLE_SERVICE_ID for p in re.findall(r"\{(\w+)\}", path)}
    raw_path = re.sub(r"\{(\w+)\}", SAMPLE_SERVICE_ID, path)
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"authorization": CLIENT_AUTHORIZATION, "content-type": "application/json", "host": "127.0.0.1:9000"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "cargo-lambda"},
            "requestId": f"sample-{name}",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795608000000,
            "authorizer": {"jwt": {"claims": {"sub": "alice", "role": "client"}, "scopes": None}},
        },
        "isBase64Encoded": False,
        "pathParameters": params,
    }
    (ROOT / "events" / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("access", choices=["read", "write"])
    parser.add_argument("--queue", action="store_true")
    parser.add_argument("--summary", default="")
    args = parser.parse_args()
    write_package(args.name, args.method, args.path, args.summary)
    register_in_workspace(args.name, args.method, args.path)
    register_in_template(args.name, args.method, args.path, args.access, args.queue)
    write_event(args.name, args.method, args.path)


if __name__ == "__main__":
    main()
