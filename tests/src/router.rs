//! The route table of `Cargo.toml` (`[workspace.metadata.lambda.watch.router]`, which
//! `cargo lambda watch` serves), and in-process dispatch of a request to the routed function's
//! handler, with the path parameters extracted as API Gateway does.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::App;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

#[derive(Deserialize)]
struct Target {
    method: String,
    function: String,
}

/// Every route in the workspace manifest.
pub fn routes() -> Vec<Route> {
    let manifest = std::fs::read_to_string(crate::emulator::workspace_root().join("Cargo.toml"))
        .expect("read Cargo.toml");
    let manifest: toml::Value = toml::from_str(&manifest).expect("Cargo.toml parses");
    let table = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].clone();
    let table: BTreeMap<String, Vec<Target>> = table.try_into().expect("router table");
    table
        .into_iter()
        .flat_map(|(path, targets)| {
            targets.into_iter().map(move |t| Route {
                method: t.method,
                path: path.clone(),
                function: t.function,
            })
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    Function { function: String, params: HashMap<String, String> },
    MethodNotAllowed,
    NotFound,
}

pub fn resolve(routes: &[Route], method: &str, path: &str) -> Resolved {
    let mut path_known = false;
    for route in routes {
        if let Some(params) = match_template(&route.path, path) {
            path_known = true;
            if route.method.eq_ignore_ascii_case(method) {
                return Resolved::Function { function: route.function.clone(), params };
            }
        }
    }
    if path_known {
        Resolved::MethodNotAllowed
    } else {
        Resolved::NotFound
    }
}

fn match_template(template: &str, path: &str) -> Option<HashMap<String, String>> {
    // A greedy `{*name}` last (`cargo lambda watch`'s spelling of API Gateway's `{name+}`)
    // takes the rest of the path.
    let greedy = template.strip_suffix('}').and_then(|t| t.rsplit_once("{*"));
    if let Some((prefix, name)) =
        greedy.or_else(|| template.strip_suffix("+}").and_then(|t| t.rsplit_once('{')))
    {
        let rest = path.strip_prefix(prefix).filter(|rest| !rest.is_empty())?;
        return Some(HashMap::from([(name.to_owned(), rest.to_owned())]));
    }
    if template == "/" {
        return (path == "/").then(HashMap::new);
    }
    let (want, have): (Vec<&str>, Vec<&str>) =
        (template.trim_matches('/').split('/').collect(), path.trim_matches('/').split('/').collect());
    if want.len() != have.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (w, h) in want.iter().zip(&have) {
        match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) if !h.is_empty() => {
                params.insert(name.to_owned(), (*h).to_owned());
            }
            _ if w == h => {}
            _ => return None,
        }
    }
    Some(params)
}

/// Runs the named function's handler, as its Lambda would. `None` for an unknown function.
pub async fn invoke(function: &str, app: &App, req: Request) -> Option<Response<Body>> {
    Some(match function {
        "create-panel-session" => create_panel_session::handle(app, req).await,
        "cancel-bulk-operation" => cancel_bulk_operation::handle(app, req).await,
        "approve-bulk-operation" => approve_bulk_operation::handle(app, req).await,
        "get-bulk-operation-preview" => get_bulk_operation_preview::handle(app, req).await,
        "get-bulk-operation" => get_bulk_operation::handle(app, req).await,
        "list-bulk-operations" => list_bulk_operations::handle(app, req).await,
        "create-bulk-operation" => create_bulk_operation::handle(app, req).await,
        "get-service-certificate" => get_service_certificate::handle(app, req).await,
        "validate-service" => validate_service::handle(app, req).await,
        "get-service-validation" => get_service_validation::handle(app, req).await,
        "list-imports" => list_imports::handle(app, req).await,
        "apply-import" => apply_import::handle(app, req).await,
        "get-import-preview" => get_import_preview::handle(app, req).await,
        "get-import" => get_import::handle(app, req).await,
        "put-import-file" => put_import_file::handle(app, req).await,
        "create-import" => create_import::handle(app, req).await,
        "list-reconciliations" => list_reconciliations::handle(app, req).await,
        "resolve-drift-item" => resolve_drift_item::handle(app, req).await,
        "list-drift-items" => list_drift_items::handle(app, req).await,
        "get-reconciliation" => get_reconciliation::handle(app, req).await,
        "create-reconciliation" => create_reconciliation::handle(app, req).await,
        "confirm-notification-address" => confirm_notification_address::handle(app, req).await,
        "get-service-paid-time" => get_service_paid_time::handle(app, req).await,
        "console" => console::handle(req),
        "list-notifications" => list_notifications::handle(app, req).await,
        "put-notification-settings" => put_notification_settings::handle(app, req).await,
        "get-notification-settings" => get_notification_settings::handle(app, req).await,
        "put-notification-template" => put_notification_template::handle(app, req).await,
        "get-notification-template" => get_notification_template::handle(app, req).await,
        "reverse-payment" => reverse_payment::handle(app, req).await,
        "grant-grace" => grant_grace::handle(app, req).await,
        "get-service-timeline" => get_service_timeline::handle(app, req).await,
        "delete-virtual-server" => delete_virtual_server::handle(app, req).await,
        "create-virtual-server" => create_virtual_server::handle(app, req).await,
        "list-virtual-servers" => list_virtual_servers::handle(app, req).await,
        "check-domain" => check_domain::handle(app, req).await,
        "put-whois" => put_whois::handle(app, req).await,
        "get-whois" => get_whois::handle(app, req).await,
        "put-nameservers" => put_nameservers::handle(app, req).await,
        "get-nameservers" => get_nameservers::handle(app, req).await,
        "get-service-statistics" => get_service_statistics::handle(app, req).await,
        "delete-ip-address" => delete_ip_address::handle(app, req).await,
        "add-ip-address" => add_ip_address::handle(app, req).await,
        "list-ip-addresses" => list_ip_addresses::handle(app, req).await,
        "reissue-service" => reissue_service::handle(app, req).await,
        "report-abuse" => report_abuse::handle(app, req).await,
        "add-ticket-message" => add_ticket_message::handle(app, req).await,
        "get-ticket" => get_ticket::handle(app, req).await,
        "list-tickets" => list_tickets::handle(app, req).await,
        "create-ticket" => create_ticket::handle(app, req).await,
        "put-service-options" => put_service_options::handle(app, req).await,
        "get-service-options" => get_service_options::handle(app, req).await,
        "change-tariff" => change_tariff::handle(app, req).await,
        "edit-service" => edit_service::handle(app, req).await,
        "transfer-service" => transfer_service::handle(app, req).await,
        "reboot-service" => reboot_service::handle(app, req).await,
        "delete-service" => delete_service::handle(app, req).await,
        "renew-service" => renew_service::handle(app, req).await,
        "enable-service" => enable_service::handle(app, req).await,
        "disable-service" => disable_service::handle(app, req).await,
        "activate-service" => activate_service::handle(app, req).await,
        "get-account" => get_account::handle(app, req).await,
        "get-client-account" => get_client_account::handle(app, req).await,
        "create-payment" => create_payment::handle(app, req).await,
        "confirm-payment" => confirm_payment::handle(app, req).await,
        "record-payment" => record_payment::handle(app, req).await,
        "checkout-cart" => checkout_cart::handle(app, req).await,
        "list-product-types" => list_product_types::handle(app, req).await,
        "put-product-type" => put_product_type::handle(app, req).await,
        "list-tariffs" => list_tariffs::handle(app, req).await,
        "get-tariff" => get_tariff::handle(app, req).await,
        "create-tariff" => create_tariff::handle(app, req).await,
        "create-service" => create_service::handle(app, req).await,
        "list-services" => list_services::handle(app, req).await,
        "get-service" => get_service::handle(app, req).await,
        "get-service-history" => get_service_history::handle(app, req).await,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_and_extract() {
        let routes = vec![
            Route { method: "GET".into(), path: "/services/{id}".into(), function: "get-service".into() },
            Route { method: "GET".into(), path: "/services".into(), function: "list-services".into() },
        ];
        assert_eq!(
            resolve(&routes, "GET", "/services/abc"),
            Resolved::Function {
                function: "get-service".into(),
                params: HashMap::from([("id".into(), "abc".into())])
            }
        );
        assert_eq!(resolve(&routes, "DELETE", "/services/abc"), Resolved::MethodNotAllowed);
        assert_eq!(resolve(&routes, "GET", "/services/abc/x"), Resolved::NotFound);
        assert_eq!(resolve(&routes, "GET", "/services//x"), Resolved::NotFound);
    }
}
