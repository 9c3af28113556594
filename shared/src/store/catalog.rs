//! Product types and tariffs.

use super::keys::{self, Index};
use super::{decode, encode, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::{ProductType, ProductTypeRules, Tariff, TariffId};

impl Store {
    /// Creates or replaces a product type's rules.
    pub async fn put_product_type(&self, rules: &ProductTypeRules) -> Result<(), StoreError> {
        let mut item = encode(rules)?;
        item.extend(keys::product_type(rules.product_type).item());
        self.remembered.forget_listed_rules();
        self.put_latest(item).await
    }

    /// A product type's rules as they are now (strongly consistent).
    pub async fn product_type_rules(&self, t: ProductType) -> Result<Option<ProductTypeRules>, StoreError> {
        self.get(keys::product_type(t)).await
    }

    /// A product type's rules as they are now and its tariffs in id order, in one strongly
    /// consistent Query of the catalog partition (a page per MB: one for any usual catalog).
    /// The range from its rules to the last tariff also holds the rules of the types named
    /// after it and other types' tariffs, which are read and left out.
    pub async fn product_type_with_tariffs(
        &self,
        t: ProductType,
    ) -> Result<(Option<ProductTypeRules>, Vec<Tariff>), StoreError> {
        let rules_key = keys::product_type(t);
        let query = PageQuery {
            partition: rules_key.pk.clone(),
            sort_range: Some((">=", rules_key.sk.clone())),
            limit: 1000,
            consistent: true,
            ..PageQuery::default()
        };
        let (mut rules, mut tariffs) = (None, Vec::new());
        for item in self.query_all(query).await? {
            if rules_key.is_of(&item) {
                rules = Some(decode(item)?);
            } else if keys::tariff_id_of(&item).is_some() {
                tariffs.push(decode::<Tariff>(item)?);
            }
        }
        tariffs.retain(|tariff| tariff.product_type == t);
        Ok((rules, tariffs))
    }

    /// Every product type that has rules set (at most six: one page).
    pub async fn list_product_types(&self) -> Result<Vec<ProductTypeRules>, StoreError> {
        let (partition, prefix) = keys::product_types_partition();
        let query = PageQuery {
            partition,
            sort_prefix: Some(prefix),
            limit: ProductType::ALL.len() as u16,
            ..PageQuery::default()
        };
        let (items, _) = self.query_page(query).await?;
        items.into_iter().map(decode).collect()
    }

    /// Every product type's rules for a list's `allowed_actions`: as read in the last
    /// `remembered::LISTED_RULES_FRESH` by this instance, else read now.
    pub async fn listed_product_types(&self) -> Result<Vec<ProductTypeRules>, StoreError> {
        let now = std::time::Instant::now();
        if let Some(rules) = self.remembered.listed_rules(now) {
            return Ok(rules);
        }
        let rules = self.list_product_types().await?;
        self.remembered.keep_listed_rules(now, &rules);
        Ok(rules)
    }

    /// A tariff; one read in an instance's life, as tariffs never change.
    pub async fn get_tariff(&self, id: &TariffId) -> Result<Option<Tariff>, StoreError> {
        if let Some(tariff) = self.remembered.tariff(id) {
            return Ok(Some(tariff));
        }
        let tariff: Option<Tariff> = self.get(keys::tariff(id)).await?;
        if let Some(tariff) = &tariff {
            self.remembered.keep_tariff(tariff);
        }
        Ok(tariff)
    }

    /// Adds a tariff; `ConditionFailed` when one with its id exists.
    pub async fn insert_tariff(&self, tariff: &Tariff) -> Result<(), StoreError> {
        let mut item = encode(tariff)?;
        item.extend(keys::tariff(&tariff.id).item());
        item.extend(keys::tariff_index_keys(&tariff.id, tariff.product_type));
        self.put_if(item, "attribute_not_exists(pk)", &[], vec![]).await
    }

    /// Tariffs in id order, all or of one product type.
    pub async fn list_tariffs(
        &self,
        product_type: Option<ProductType>,
        page: PageRequest<TariffId>,
    ) -> Result<Page<Tariff, TariffId>, StoreError> {
        let start = page.after.as_ref().map(|id| keys::tariff_start(id, product_type));
        let query = match product_type {
            Some(t) => PageQuery {
                index: Some(Index::ByType),
                partition: keys::tariffs_of_type(t),
                ..PageQuery::default()
            },
            None => {
                let (partition, prefix) = keys::tariffs_partition();
                PageQuery { partition, sort_prefix: Some(prefix), ..PageQuery::default() }
            }
        };
        let (items, last) = self.query_page(PageQuery { limit: page.limit, start, ..query }).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::tariff_id_of),
        })
    }
}
