//! The function's own binary, which `cargo lambda watch` serves locally. Deployed, every
//! function runs in the one `bootstrap` binary (infra/bootstrap), chosen by its handler name.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    approve_bulk_operation::serve().await
}
