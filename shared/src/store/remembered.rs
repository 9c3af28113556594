//! The tariffs one function instance read, so that a request does not read them again: a
//! tariff never changes once created (no route edits one), so it is kept for the instance's
//! life. A product type's rules are not kept: they can be replaced at any time
//! (`PUT /product-types/{type}`) and hold from the next request on, so a request reads them
//! with the service it acts on (`Store::service_with_rules`).

use crate::domain::{Tariff, TariffId};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Remembered {
    tariffs: Mutex<HashMap<TariffId, Tariff>>,
}

impl Remembered {
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
}
