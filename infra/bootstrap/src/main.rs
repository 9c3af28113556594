//! The one binary a deployment runs (`make package` builds it for arm64 as
//! `target/package/bootstrap`): every function of `functions/`, chosen by the handler name the
//! template gives the function (`Handler: create-service`), which Lambda passes in `_HANDLER`.
//! One binary builds once with link-time optimisation instead of once per function.

use lambda_runtime::Error;

/// Each handler name (the package's name in `functions/`) with its library crate.
macro_rules! functions {
    ($($handler:literal => $function:ident,)*) => {
        const HANDLERS: &[&str] = &[$($handler),*];

        async fn serve(handler: &str) -> Result<(), Error> {
            match handler {
                $($handler => $function::serve().await,)*
                _ => Err(format!("no function is named {handler:?}; this binary runs {}", HANDLERS.join(", ")).into()),
            }
        }
    };
}

functions! {
    "create-panel-session" => create_panel_session,
    "cancel-bulk-operation" => cancel_bulk_operation,
    "approve-bulk-operation" => approve_bulk_operation,
    "get-bulk-operation-preview" => get_bulk_operation_preview,
    "get-bulk-operation" => get_bulk_operation,
    "list-bulk-operations" => list_bulk_operations,
    "create-bulk-operation" => create_bulk_operation,
    "get-service-certificate" => get_service_certificate,
    "validate-service" => validate_service,
    "get-service-validation" => get_service_validation,
    "list-imports" => list_imports,
    "apply-import" => apply_import,
    "get-import-preview" => get_import_preview,
    "get-import" => get_import,
    "put-import-file" => put_import_file,
    "create-import" => create_import,
    "list-reconciliations" => list_reconciliations,
    "resolve-drift-item" => resolve_drift_item,
    "list-drift-items" => list_drift_items,
    "get-reconciliation" => get_reconciliation,
    "create-reconciliation" => create_reconciliation,
    "abuse-sweep" => abuse_sweep,
    "activate-service" => activate_service,
    "add-ip-address" => add_ip_address,
    "add-ticket-message" => add_ticket_message,
    "auto-renewal" => auto_renewal,
    "change-tariff" => change_tariff,
    "check-domain" => check_domain,
    "checkout-cart" => checkout_cart,
    "confirm-notification-address" => confirm_notification_address,
    "confirm-payment" => confirm_payment,
    "console" => console,
    "create-payment" => create_payment,
    "create-service" => create_service,
    "create-tariff" => create_tariff,
    "create-ticket" => create_ticket,
    "create-virtual-server" => create_virtual_server,
    "delete-ip-address" => delete_ip_address,
    "delete-service" => delete_service,
    "delete-virtual-server" => delete_virtual_server,
    "disable-service" => disable_service,
    "edit-service" => edit_service,
    "enable-service" => enable_service,
    "events-publisher" => events_publisher,
    "expiry-sweep" => expiry_sweep,
    "reconcile" => reconcile,
    "carry-on-imports" => carry_on_imports,
    "carry-on-bulk-operations" => carry_on_bulk_operations,
    "get-account" => get_account,
    "get-client-account" => get_client_account,
    "get-nameservers" => get_nameservers,
    "get-notification-settings" => get_notification_settings,
    "get-notification-template" => get_notification_template,
    "get-service" => get_service,
    "get-service-history" => get_service_history,
    "get-service-options" => get_service_options,
    "get-service-paid-time" => get_service_paid_time,
    "get-service-statistics" => get_service_statistics,
    "get-service-timeline" => get_service_timeline,
    "get-tariff" => get_tariff,
    "get-ticket" => get_ticket,
    "get-whois" => get_whois,
    "grant-grace" => grant_grace,
    "list-ip-addresses" => list_ip_addresses,
    "list-notifications" => list_notifications,
    "list-product-types" => list_product_types,
    "list-services" => list_services,
    "list-tariffs" => list_tariffs,
    "list-tickets" => list_tickets,
    "list-virtual-servers" => list_virtual_servers,
    "notifier" => notifier,
    "operations-sweep" => operations_sweep,
    "operations-worker" => operations_worker,
    "put-nameservers" => put_nameservers,
    "put-notification-settings" => put_notification_settings,
    "put-notification-template" => put_notification_template,
    "put-product-type" => put_product_type,
    "put-service-options" => put_service_options,
    "put-whois" => put_whois,
    "reboot-service" => reboot_service,
    "record-paid-time" => record_paid_time,
    "record-payment" => record_payment,
    "reissue-service" => reissue_service,
    "reminders" => reminders,
    "renew-service" => renew_service,
    "replay-events" => replay_events,
    "report-abuse" => report_abuse,
    "reverse-payment" => reverse_payment,
    "transfer-service" => transfer_service,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    serve(&std::env::var("_HANDLER").unwrap_or_default()).await
}
