//! The tariffs one function instance read, so that a request does not read them again: a
//! tariff never changes once created (no route edits one), so it is kept for the instance's
//! life. A product type's rules can be replaced at any time (`PUT /product-types/{type}`) and
//! hold from the next request on, so a request that acts reads them with the service it acts
//! on (`Store::service_with_rules`). Only a list's `allowed_actions`, which guide and decide
//! nothing (each route checks the rules it reads), use the rules read in the last
//! `LISTED_RULES_FRESH`.

use crate::domain::catalog::ProductTypeRules;
use crate::domain::{Tariff, TariffId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a list of services shows the product types' rules it read (see the module's note).
pub const LISTED_RULES_FRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Remembered {
    tariffs: Mutex<HashMap<TariffId, Tariff>>,
    /// Every product type's rules, and when they were read.
    listed_rules: Mutex<Option<(Instant, Vec<ProductTypeRules>)>>,
}

impl Remembered {
    /// Every product type's rules as read at most `LISTED_RULES_FRESH` ago.
    pub fn listed_rules(&self, now: Instant) -> Option<Vec<ProductTypeRules>> {
        let kept = self.listed_rules.lock().expect("not poisoned");
        kept.as_ref()
            .filter(|(read, _)| now.saturating_duration_since(*read) < LISTED_RULES_FRESH)
            .map(|(_, r)| r.clone())
    }

    pub fn keep_listed_rules(&self, read: Instant, rules: &[ProductTypeRules]) {
        *self.listed_rules.lock().expect("not poisoned") = Some((read, rules.to_vec()));
    }

    /// Forgets the rules read: this instance replaced some.
    pub fn forget_listed_rules(&self) {
        *self.listed_rules.lock().expect("not poisoned") = None;
    }

    pub fn tariff(&self, id: &TariffId) -> Option<Tariff> {
        self.tariffs.lock().expect("not poisoned").get(id).cloned()
    }

    pub fn keep_tariff(&self, tariff: &Tariff) {
        self.tariffs.lock().expect("not poisoned").insert(tariff.id.clone(), tariff.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_tariff;

    #[test]
    fn a_tariff_is_kept_once_read() {
        let remembered = Remembered::default();
        let tariff = sample_tariff();
        assert_eq!(remembered.tariff(&tariff.id), None);
        remembered.keep_tariff(&tariff);
        assert_eq!(remembered.tariff(&tariff.id), Some(tariff));
    }

    #[test]
    fn listed_rules_are_kept_only_while_fresh_and_until_forgotten() {
        let remembered = Remembered::default();
        let read = Instant::now();
        assert_eq!(remembered.listed_rules(read), None);
        let rules = vec![crate::domain::catalog::sample_rules()];
        remembered.keep_listed_rules(read, &rules);
        assert_eq!(remembered.listed_rules(read + LISTED_RULES_FRESH / 2), Some(rules.clone()));
        assert_eq!(remembered.listed_rules(read + LISTED_RULES_FRESH), None, "stale");
        remembered.forget_listed_rules();
        assert_eq!(remembered.listed_rules(read), None, "forgotten");
    }
}
