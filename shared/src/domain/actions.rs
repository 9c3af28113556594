//! What a caller may do to a service now (`allowed_actions` in every service answer), worked
//! out by the same domain rules the routes apply, so that no page re-derives the lifecycle.

use super::history::Actor;
use super::lifecycle::Refusal;
use super::{Principal, ProductType, ProductTypeRules, Service, Status, Tariff, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether one action is allowed, and if not, why (the reason its route would give).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowed {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Allowed {
    fn yes() -> Self {
        Self { allowed: true, reason: None }
    }

    fn no(reason: impl Into<String>) -> Self {
        Self { allowed: false, reason: Some(reason.into()) }
    }

    fn from_result<T>(result: Result<T, Refusal>) -> Self {
        match result {
            Ok(_) => Self::yes(),
            Err(Refusal::Conflict(r) | Refusal::Forbidden(r) | Refusal::Invalid(r)) => Self::no(r),
        }
    }
}

/// What only the provider may do: the reason a client reads.
pub const PROVIDER_ONLY: &str = "only the provider may do this";

/// Every operation of `service`'s type, keyed as the routes name them, for `principal` at
/// `now`. `rules` and `tariff` are the service's product type's and tariff's as they are now.
pub fn allowed_actions(
    service: &Service,
    rules: &ProductTypeRules,
    tariff: Option<&Tariff>,
    principal: &Principal,
    now: Timestamp,
) -> BTreeMap<&'static str, Allowed> {
    use ProductType as T;
    let actor = Actor::from(principal);
    let provider = principal.is_provider();
    let queued = |result: Result<super::lifecycle::Change, Refusal>| match result {
        // Work for the panel needs one: the route refuses it without.
        Ok(change) if change.queued.is_some() => match rules.operable() {
            Ok(_) => Allowed::yes(),
            Err(no_panel) => Allowed::no(no_panel.to_string()),
        },
        other => Allowed::from_result(other),
    };
    let mut actions = BTreeMap::new();
    actions.insert("edit", Allowed::from_result(service.ensure_idle("edit")));
    actions.insert("delete", queued(service.delete(&actor, rules, now).map(|(change, _)| change)));
    actions.insert("enable", queued(service.enable(&actor, now)));
    actions.insert("disable", queued(service.disable(&actor, rules, None, now)));
    actions.insert("renew", queued(service.renew(1, &actor, now)));
    // A change is work for the panel: refused where the type has none, as its route does.
    let changes = |what: &str, offered: bool, none: &str| match service.ensure_changeable(what) {
        Err(refusal) => Allowed::from_result::<()>(Err(refusal)),
        Ok(_) if tariff.is_some() && !offered => Allowed::no(none),
        Ok(_) => match rules.operable() {
            Err(no_panel) => Allowed::no(no_panel.to_string()),
            Ok(_) => Allowed::yes(),
        },
    };
    let change_to = tariff.is_some_and(|t| !t.change_to.is_empty());
    let change_tariff = match (
        changes("change the tariff of", change_to, "its tariff changes to no other"),
        service.expires_at,
    ) {
        // Past its paid period, on a grace, a move is an upgrade until it is renewed (the
        // route takes a cheaper one, crediting nothing): listed as its route refuses a dearer.
        (allowed, Some(expires_at)) if allowed.allowed => Allowed::from_result(
            service.ensure_paid_time_for_more("move it to a dearer tariff", expires_at, now),
        ),
        (verdict, _) => verdict,
    };
    actions.insert("change_tariff", change_tariff);
    let options = changes(
        "change the options of",
        tariff.is_some_and(|t| !t.options.is_empty()),
        "its tariff has no options",
    );
    let options = match (options.allowed, service.status) {
        (true, status) if status != Status::Active => {
            Allowed::from_result::<()>(Err(service.refuse_status("change the options of")))
        }
        _ => options,
    };
    actions.insert("options", options);
    // Whoever sees the service may write about it (a client never sees a deleted one).
    actions.insert("ticket", Allowed::yes());
    // A one-time link into the panel (`POST /services/{id}/panel-session`).
    actions.insert("panel_login", Allowed::from_result(service.ensure_panel_login(rules)));
    if matches!(service.product_type, T::Vps | T::Dedicated) {
        actions.insert("reboot", queued(service.reboot(&actor, now)));
    }
    if service.product_type != T::Ssl {
        actions.insert("transfer", queued(service.transfer(&actor, now)));
    }
    if service.product_type == T::Ssl {
        actions.insert("reissue", queued(service.reissue(&actor, now)));
    }
    let provider_only = |allowed: Allowed| if provider { allowed } else { Allowed::no(PROVIDER_ONLY) };
    actions.insert("activate", provider_only(queued(service.activate(&actor, now))));
    let grace = match service.expires_at {
        Some(expires_at) => {
            let until = expires_at.max(now).plus_seconds(86_400);
            Allowed::from_result(service.grant_grace(until, "allowed_actions", &actor, now))
        }
        None => Allowed::from_result::<()>(Err(service.refuse_status("extend"))),
    };
    actions.insert("grace", provider_only(grace));
    actions
}
