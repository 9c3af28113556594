//! Notifications: a client's address and muted kinds, the provider's e-mail templates, the log
//! of what each client was told (one entry per event and client), and the markers of reminders.

use super::keys::{self, Item};
use super::{decode, encode, s, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::events::LifecycleEvent;
use crate::domain::notification::{Kind, Notification, Settings, Template};
use crate::domain::{ClientId, Service, Tariff, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;

/// What the notifier reads about one event, in one BatchGetItem.
#[derive(Debug, Clone)]
pub struct NotificationInputs {
    pub service: Option<Service>,
    pub tariff: Option<Tariff>,
    pub settings: Settings,
    /// The provider's template, if it replaced the default.
    pub template: Option<Template>,
    /// The notification of this event already logged, if any.
    pub logged: Option<Notification>,
}

impl Store {
    /// Which of `markers` exist, read 100 to a BatchGetItem.
    pub async fn present(&self, markers: &[keys::Key]) -> Result<Vec<bool>, StoreError> {
        let mut present = Vec::with_capacity(markers.len());
        for chunk in markers.chunks(100) {
            present.extend(self.get_many(chunk).await?.iter().map(Option::is_some));
        }
        Ok(present)
    }

    pub async fn notification_settings(&self, client: &ClientId) -> Result<Settings, StoreError> {
        Ok(self.get(keys::notification_settings(client.as_str())).await?.unwrap_or_default())
    }

    pub async fn put_notification_settings(
        &self,
        client: &ClientId,
        settings: &Settings,
    ) -> Result<(), StoreError> {
        self.put(keys::notification_settings(client.as_str()), settings).await
    }

    /// The provider's template of `kind`, if it replaced the default.
    pub async fn notification_template(&self, kind: Kind) -> Result<Option<Template>, StoreError> {
        self.get(keys::notification_template(kind.as_str())).await
    }

    pub async fn put_notification_template(&self, kind: Kind, template: &Template) -> Result<(), StoreError> {
        self.put(keys::notification_template(kind.as_str()), template).await
    }

    async fn put<T: serde::Serialize>(&self, key: keys::Key, value: &T) -> Result<(), StoreError> {
        let mut item = encode(value)?;
        item.extend(key.item());
        self.put_latest(item).await
    }

    /// A client's notifications, newest event first, one page.
    pub async fn list_notifications(
        &self,
        client: &ClientId,
        page: PageRequest<String>,
    ) -> Result<Page<Notification, String>, StoreError> {
        let (partition, prefix) = keys::notifications_partition_of(client.as_str());
        let query = PageQuery {
            partition,
            sort_prefix: Some(prefix),
            newest_first: true,
            limit: page.limit,
            start: page.after.as_ref().map(|event| keys::notification(client.as_str(), event).item()),
            ..PageQuery::default()
        };
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::notification_event_of),
        })
    }

    /// A client's settings and the first page of its notifications in one Query (`SETTINGS`
    /// sorts after every `SENT#` entry of the partition, so newest first it comes first).
    pub async fn settings_with_notifications(
        &self,
        client: &ClientId,
        limit: u16,
    ) -> Result<(Settings, Page<Notification, String>), StoreError> {
        let (_, prefix) = keys::notifications_partition_of(client.as_str());
        let head = keys::notification_settings(client.as_str());
        let (settings, entries, last) = self.head_with_entries(&head, &prefix, limit).await?;
        let page = Page {
            items: entries.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::notification_event_of),
        };
        Ok((settings.map(decode).transpose()?.unwrap_or_default(), page))
    }

    /// Everything the e-mail of `event` needs: the service, the tariff the event names, its
    /// client's settings, the provider's template and the log entry of the event, if any.
    pub async fn notification_inputs(
        &self,
        event: &LifecycleEvent,
        kind: Kind,
    ) -> Result<NotificationInputs, StoreError> {
        let client = event.client_id.as_str();
        let wanted = [
            keys::service(&event.service_id),
            keys::tariff(&event.tariff_id),
            keys::notification_settings(client),
            keys::notification_template(kind.as_str()),
            keys::notification(client, &event.id.to_string()),
        ];
        let mut found = self.get_many(&wanted).await?.into_iter();
        let mut next = || found.next().flatten();
        Ok(NotificationInputs {
            service: next().map(decode).transpose()?,
            tariff: next().map(decode).transpose()?,
            settings: next().map(decode).transpose()?.unwrap_or_default(),
            template: next().map(decode).transpose()?,
            logged: next().map(decode).transpose()?,
        })
    }

    /// Logs `notification` if its event has no notification yet, or takes over one the mail
    /// service refused before `stale_before`, to send it again (never one an attempt may have
    /// sent: see `UNCONFIRMED`): answers whether this attempt holds it now.
    pub async fn claim_notification(
        &self,
        notification: &Notification,
        stale_before: Timestamp,
    ) -> Result<bool, StoreError> {
        let item = notification_item(notification)?;
        let claim = "attribute_not_exists(pk) \
                     OR (#status = :failed AND #at < :stale AND #error <> :sending AND #error <> :unconfirmed)";
        let names = [("#status", "status"), ("#at", "at"), ("#error", "error")];
        let values = vec![
            (":failed", s("failed")),
            (":stale", s(stale_before.to_string())),
            (":sending", s(crate::domain::notification::NOT_SENT_YET)),
            (":unconfirmed", s(crate::domain::notification::UNCONFIRMED)),
        ];
        match self.put_if(item, claim, &names, values).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes the outcome of the attempt that claimed `notification` (unless another attempt
    /// took it over since).
    pub async fn settle_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        let item = notification_item(notification)?;
        let attempt = vec![(":attempt", AttributeValue::S(notification.id.clone()))];
        self.put_if(item, "id = :attempt", &[], attempt).await
    }
}

fn notification_item(notification: &Notification) -> Result<Item, StoreError> {
    let mut item = encode(notification)?;
    item.extend(
        keys::notification(notification.client_id.as_str(), &notification.event_id.to_string()).item(),
    );
    Ok(item)
}
