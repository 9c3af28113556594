//! Tickets.

use super::keys::{self, Index};
use super::{decode, s, Page, PageQuery, PageRequest, Store, StoreError};
use crate::domain::ticket::Ticket;
use crate::domain::{ClientId, ServiceId};

/// Which tickets a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub owner: Option<ClientId>,
    pub service: Option<ServiceId>,
}

impl Store {
    pub async fn get_ticket(&self, id: &str) -> Result<Option<Ticket>, StoreError> {
        self.get(keys::ticket(id)).await
    }

    /// Tickets newest first, one page: a client's, a service's, or all.
    pub async fn list_tickets(
        &self,
        filter: &TicketFilter,
        page: PageRequest<String>,
    ) -> Result<Page<Ticket, String>, StoreError> {
        let (index, partition) = match (&filter.owner, &filter.service) {
            (Some(owner), _) => (Index::ByOwner, keys::owners_services(owner.as_str())),
            (None, Some(service)) => (Index::ByType, keys::tickets_of_service(service)),
            (None, None) => (Index::All, keys::all_tickets()),
        };
        let mut query = PageQuery {
            index: Some(index),
            start: page.after.as_ref().map(|id| keys::ticket_start(id, index, &partition)),
            partition,
            sort_prefix: Some(keys::ticket_sort_prefix()),
            newest_first: true,
            limit: page.limit,
            ..PageQuery::default()
        };
        if let (Index::ByOwner, Some(service)) = (index, &filter.service) {
            query = query.filter("service_id", "=", s(service.as_str()));
        }
        let (items, last) = self.query_page(query).await?;
        Ok(Page {
            items: items.into_iter().map(decode).collect::<Result<_, _>>()?,
            next: last.as_ref().and_then(keys::ticket_id_of),
        })
    }
}
