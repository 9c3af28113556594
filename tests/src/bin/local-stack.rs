//! `local-stack bootstrap`: creates the local table, queues and event bus in the emulator at
//! `AWS_ENDPOINT_URL` and seeds the demo catalog. `make dev` runs it; running it again is fine.

use shared::store::Store;
use tests::{emulator, stack};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() != Some("bootstrap") {
        return Err("usage: local-stack bootstrap".into());
    }
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "services".to_owned());
    let config = emulator::sdk_config(&emulator::endpoint()).await;
    let created = stack::create_table(&config, &table).await?;
    let queue_url = stack::create_messaging(&config).await?;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    let added = stack::seed_catalog(&store).await?;
    println!(
        "table {table} {}; queue {queue_url}; event bus {}; {added} tariffs seeded",
        if created { "created" } else { "exists" },
        stack::EVENT_BUS
    );
    Ok(())
}
