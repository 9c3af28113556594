//! The catalog as one function instance remembers it, so that a request does not read it again.
//! A tariff never changes once created (no route edits one): it is kept for the instance's
//! life. A product type's rules can be replaced (`PUT /product-types/{type}`): they are kept for
//! `RULES_KEPT`, so a change reaches every running instance within that time, and the instance
//! that made it at once.

use crate::domain::{ProductType, ProductTypeRules, Tariff, TariffId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const RULES_KEPT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Remembered {
    tariffs: Mutex<HashMap<TariffId, Tariff>>,
    rules: Mutex<HashMap<ProductType, (Instant, ProductTypeRules)>>,
}

impl Remembered {
    pub fn tariff(&self, id: &TariffId) -> Option<Tariff> {
        self.tariffs.lock().expect("not poisoned").get(id).cloned()
    }

    pub fn keep_tariff(&self, tariff: &Tariff) {
        self.tariffs.lock().expect("not poisoned").insert(tariff.id.clone(), tariff.clone());
    }

    /// The rules of `product_type` if read less than `RULES_KEPT` before `now`.
    pub fn rules(&self, product_type: ProductType, now: Instant) -> Option<ProductTypeRules> {
        let rules = self.rules.lock().expect("not poisoned");
        let (read_at, kept) = rules.get(&product_type)?;
        (now.duration_since(*read_at) < RULES_KEPT).then(|| kept.clone())
    }

    pub fn keep_rules(&self, rules: &ProductTypeRules, read_at: Instant) {
        self.rules.lock().expect("not poisoned").insert(rules.product_type, (read_at, rules.clone()));
    }

    pub fn forget_rules(&self, product_type: ProductType) {
        self.rules.lock().expect("not poisoned").remove(&product_type);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::sample_rules;

    #[test]
    fn rules_are_kept_for_their_time_and_forgotten_when_replaced() {
        let remembered = Remembered::default();
        let rules = sample_rules();
        let t = rules.product_type;
        let read_at = Instant::now();
        assert_eq!(remembered.rules(t, read_at), None);
        remembered.keep_rules(&rules, read_at);
        assert_eq!(remembered.rules(t, read_at + RULES_KEPT - Duration::from_millis(1)), Some(rules.clone()));
        assert_eq!(remembered.rules(t, read_at + RULES_KEPT), None, "read again once the time is over");
        remembered.keep_rules(&rules, read_at);
        remembered.forget_rules(t);
        assert_eq!(remembered.rules(t, read_at), None, "replaced: read again");
    }
}
