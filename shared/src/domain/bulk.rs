//! A bulk operation: one operation asked of many services at once. A provider drafts it (its
//! list of services frozen, each with what it would do), approves it (one provider, or two
//! different ones when the stack asks for two), and the services are then taken one at a time,
//! each as the ordinary operation its own route starts, never more than `concurrency` under
//! way at once on one control panel (counting every bulk operation's there).
//!
//! Pure: what the record holds and how it moves on. `crate::bulk` reads and writes it.

use super::pricing::MAX_AMOUNT;
use super::refusal::Refusal;
use super::{ProductType, ServiceId, Status, TariffId, Timestamp};
use serde::{Deserialize, Serialize};

/// The most services one bulk operation takes (narrow the filter for more).
pub const MAX_SERVICES: usize = 1000;
/// The most operations of one bulk operation under way at once on one panel (the setting's
/// bound).
pub const MAX_CONCURRENCY: u16 = 25;
/// A percentage change of renewal prices is within these bounds.
pub const MIN_PERCENT: i32 = -90;
pub const MAX_PERCENT: i32 = 1000;

/// What a bulk operation does to each service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum BulkAction {
    /// Suspends as the administrator.
    Disable {
        reason: Option<String>,
    },
    Enable,
    /// Renews, charged to each client's balance.
    Renew {
        periods: u32,
    },
    ChangeTariff {
        tariff_id: TariffId,
    },
    /// Sets the renewal price from a date (at least the notice period ahead).
    SetRenewalPrice {
        price: NewPrice,
        from: Timestamp,
    },
    /// Moves each service to another node of its product type's panel.
    Transfer {
        product_type: ProductType,
    },
    Delete,
}

impl BulkAction {
    pub fn name(&self) -> &'static str {
        match self {
            BulkAction::Disable { .. } => "disable",
            BulkAction::Enable => "enable",
            BulkAction::Renew { .. } => "renew",
            BulkAction::ChangeTariff { .. } => "change_tariff",
            BulkAction::SetRenewalPrice { .. } => "set_renewal_price",
            BulkAction::Transfer { .. } => "transfer",
            BulkAction::Delete => "delete",
        }
    }

    /// Its fields as the request gave them (`reason`, `periods`, ...).
    pub fn fields(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            BulkAction::Disable { reason } => json!({"reason": reason}),
            BulkAction::Enable | BulkAction::Delete => json!({}),
            BulkAction::Renew { periods } => json!({"periods": periods}),
            BulkAction::ChangeTariff { tariff_id } => json!({"tariff_id": tariff_id}),
            BulkAction::SetRenewalPrice { price: NewPrice::Amount(p), from } => {
                json!({"renewal_price": p, "from": from})
            }
            BulkAction::SetRenewalPrice { price: NewPrice::Percent(p), from } => {
                json!({"percent": p, "from": from})
            }
            BulkAction::Transfer { product_type } => json!({"product_type": product_type}),
        }
    }
}

/// A new renewal price: an amount, or the current one changed by a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewPrice {
    Amount(u64),
    Percent(i32),
}

impl NewPrice {
    /// The price replacing `current`: a percentage rounds half up to the minor unit.
    pub fn applied_to(self, current: u64) -> Result<u64, Refusal> {
        let price = match self {
            NewPrice::Amount(amount) => amount,
            NewPrice::Percent(percent) => {
                let scaled = i128::from(current) * i128::from(100 + percent);
                u64::try_from((scaled + 50).div_euclid(100)).map_err(|_| too_much())?
            }
        };
        if price > MAX_AMOUNT {
            return Err(too_much());
        }
        Ok(price)
    }

    pub fn check(self) -> Result<(), String> {
        match self {
            NewPrice::Amount(amount) if amount > MAX_AMOUNT => {
                Err(format!("renewal_price must be at most {MAX_AMOUNT}"))
            }
            NewPrice::Percent(p) if !(MIN_PERCENT..=MAX_PERCENT).contains(&p) || p == 0 => {
                Err(format!("percent must be {MIN_PERCENT} to {MAX_PERCENT}, and not 0"))
            }
            _ => Ok(()),
        }
    }
}

fn too_much() -> Refusal {
    Refusal::Invalid(format!("the new renewal price would be over {MAX_AMOUNT}"))
}

/// Which services a draft takes: the list filters of `GET /services`, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub product_type: Option<ProductType>,
    pub tariff_id: Option<TariffId>,
    pub status: Option<Status>,
    pub client_id: Option<super::ClientId>,
    /// `renewal` or `deletion`: what the schedules will do by `before`.
    pub due: Option<String>,
    pub before: Option<Timestamp>,
    #[serde(default)]
    pub needs_attention: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStatus {
    Draft,
    Approved,
    Running,
    Done,
    Cancelled,
}

impl BulkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Draft => "draft",
            BulkStatus::Approved => "approved",
            BulkStatus::Running => "running",
            BulkStatus::Done => "done",
            BulkStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub at: Timestamp,
}

/// One service's operation under way on its panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub seq: u32,
    pub service_id: ServiceId,
    pub operation_id: String,
    /// Where its panel is (services of types that share one count together).
    pub panel: String,
    pub started_at: Timestamp,
}

/// What the preview said a service's operation would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemQuote {
    /// Charged now (from the client's balance).
    pub charge: u64,
    /// Credited once the work is done (the unused share of what was paid).
    pub credit: u64,
    /// The renewal price once done.
    pub renewal_price: u64,
    pub status: Status,
    pub expires_at: Option<Timestamp>,
}

/// Why a service's operation is refused: as its own route would answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRefusal {
    /// The HTTP status its route answers (409, 403, 422, 402).
    pub status: u16,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Started,
    Done,
    Refused,
    Failed,
    Cancelled,
}

/// One service of a bulk operation, in the order they are taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkItem {
    pub seq: u32,
    pub service_id: ServiceId,
    pub client_id: super::ClientId,
    pub product_type: ProductType,
    /// The service's version the preview was worked out from.
    pub version: u64,
    pub quote: Option<ItemQuote>,
    pub refusal: Option<ItemRefusal>,
    pub state: ItemState,
    /// Why it was refused or failed at its turn.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub operation_id: Option<String>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
}

impl BulkItem {
    /// A service is taken only as the preview said: its operation leading to the same status
    /// and renewal price, charging no more than previewed. (Time passing lowers a pro rata
    /// charge or credit: what was used since is not the client's to get back.) A service that
    /// changed since must give the same quote. `Err` says what changed.
    pub fn check_turn(&self, version: u64, now: Result<&ItemQuote, &ItemRefusal>) -> Result<(), String> {
        let changed = version != self.version;
        match (self.quote.as_ref(), now) {
            (Some(was), Ok(is)) if was == is => Ok(()),
            (Some(was), Ok(is))
                if !changed
                    && is.charge <= was.charge
                    && is.renewal_price == was.renewal_price
                    && is.status == was.status =>
            {
                Ok(())
            }
            (Some(was), Ok(is)) => Err(format!(
                "{} since the preview, and its quote with it (charge {} → {}, credit {} → {}, \
                 renewal price {} → {}, status {} → {})",
                if changed { "the service changed" } else { "prices changed" },
                was.charge,
                is.charge,
                was.credit,
                is.credit,
                was.renewal_price,
                is.renewal_price,
                was.status.as_str(),
                is.status.as_str()
            )),
            (_, Err(refusal)) => Err(refusal.detail.clone()),
            (None, Ok(_)) => Err("the preview refused this service".into()),
        }
    }
}

/// How many services ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub done: u32,
    pub refused: u32,
    pub failed: u32,
    pub cancelled: u32,
}

/// The preview's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub services: u32,
    pub quoted: u32,
    pub refused: u32,
    pub charge: u64,
    pub credit: u64,
}

impl Totals {
    pub fn add(&mut self, item: &BulkItem) {
        self.services += 1;
        match &item.quote {
            Some(quote) => {
                self.quoted += 1;
                self.charge = self.charge.saturating_add(quote.charge);
                self.credit = self.credit.saturating_add(quote.credit);
            }
            None => self.refused += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOperation {
    pub id: String,
    #[serde(flatten)]
    pub action: BulkAction,
    /// The request's filter, or the ids it named (for the record).
    pub filter: Option<Filter>,
    pub named_ids: bool,
    pub status: BulkStatus,
    pub created_by: String,
    pub created_at: Timestamp,
    pub approvals: Vec<Approval>,
    pub approvals_needed: u8,
    /// The most services under way at once on one panel.
    pub concurrency: u16,
    pub totals: Totals,
    pub counts: Counts,
    /// The next item to take.
    pub cursor: u32,
    pub in_flight: Vec<InFlight>,
    pub finished_at: Option<Timestamp>,
    pub version: u64,
}

impl BulkOperation {
    pub fn total(&self) -> u32 {
        self.totals.services
    }

    /// Services not yet done, refused, failed or cancelled.
    pub fn left(&self) -> u32 {
        let c = self.counts;
        self.total().saturating_sub(c.done + c.refused + c.failed + c.cancelled)
    }

    /// An approval by `by`: refused if it is not a draft, or `by` approved it already. The
    /// last approval needed approves it.
    pub fn approve(&self, by: &str, at: Timestamp) -> Result<Self, Refusal> {
        if self.status != BulkStatus::Draft {
            return Err(Refusal::Conflict(format!("the bulk operation is {}", self.status.as_str())));
        }
        if self.approvals.iter().any(|a| a.by == by) {
            return Err(Refusal::Conflict(
                "you approved this bulk operation already: a second provider must approve it".into(),
            ));
        }
        let mut next = self.clone();
        next.approvals.push(Approval { by: by.to_owned(), at });
        if next.approvals.len() >= usize::from(self.approvals_needed.max(1)) {
            next.status = BulkStatus::Approved;
        }
        Ok(next)
    }

    /// Cancels what has not started: the operations under way finish.
    pub fn cancel(&self, at: Timestamp) -> Result<Self, Refusal> {
        match self.status {
            BulkStatus::Done | BulkStatus::Cancelled => {
                Err(Refusal::Conflict(format!("the bulk operation is {}", self.status.as_str())))
            }
            _ => {
                let mut next = self.clone();
                next.status = BulkStatus::Cancelled;
                let not_started = self.total().saturating_sub(self.cursor);
                next.counts.cancelled += not_started;
                next.cursor = self.total();
                if next.in_flight.is_empty() {
                    next.finished_at = Some(at);
                }
                Ok(next)
            }
        }
    }

    /// Whether one more service may start on `panel`.
    pub fn has_room_on(&self, panel: &str) -> bool {
        let under_way = self.in_flight.iter().filter(|f| f.panel == panel).count();
        under_way < usize::from(self.concurrency.max(1))
    }

    /// Whether its service `seq` is under way.
    pub fn holds(&self, seq: u32) -> bool {
        self.in_flight.iter().any(|f| f.seq == seq)
    }

    /// Whether it has services left to take.
    pub fn takes_more(&self) -> bool {
        matches!(self.status, BulkStatus::Approved | BulkStatus::Running) && self.cursor < self.total()
    }

    /// Whether it is being carried out (or finishing what it started).
    pub fn carried_on(&self) -> bool {
        matches!(self.status, BulkStatus::Approved | BulkStatus::Running)
            || (self.status == BulkStatus::Cancelled && !self.in_flight.is_empty())
    }

    /// The item at `seq` ended as `state` (with what it started under way, if anything).
    pub fn took(&mut self, state: ItemState, in_flight: Option<InFlight>) {
        self.status = BulkStatus::Running;
        self.cursor += 1;
        match (state, in_flight) {
            (ItemState::Started, Some(flight)) => self.in_flight.push(flight),
            (state, _) => self.count(state),
        }
    }

    /// The operation under way for `seq` ended as `state`.
    pub fn settled(&mut self, seq: u32, state: ItemState) {
        self.in_flight.retain(|f| f.seq != seq);
        self.count(state);
    }

    fn count(&mut self, state: ItemState) {
        match state {
            ItemState::Done => self.counts.done += 1,
            ItemState::Refused => self.counts.refused += 1,
            ItemState::Failed => self.counts.failed += 1,
            ItemState::Cancelled => self.counts.cancelled += 1,
            ItemState::Pending | ItemState::Started => {}
        }
    }

    /// Done once every service was taken and nothing is under way.
    pub fn finish_if_over(&mut self, at: Timestamp) {
        if self.cursor >= self.total() && self.in_flight.is_empty() && self.finished_at.is_none() {
            if self.status != BulkStatus::Cancelled {
                self.status = BulkStatus::Done;
            }
            self.finished_at = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn draft(services: u32, approvals_needed: u8) -> BulkOperation {
        BulkOperation {
            id: "b".into(),
            action: BulkAction::Enable,
            filter: None,
            named_ids: true,
            status: BulkStatus::Draft,
            created_by: "ann".into(),
            created_at: at("2026-12-01T00:00:00Z"),
            approvals: vec![],
            approvals_needed,
            concurrency: 2,
            totals: Totals { services, quoted: services, ..Totals::default() },
            counts: Counts::default(),
            cursor: 0,
            in_flight: vec![],
            finished_at: None,
            version: 1,
        }
    }

    fn flight(seq: u32, panel: &str) -> InFlight {
        InFlight {
            seq,
            service_id: ServiceId::generate(),
            operation_id: format!("op{seq}"),
            panel: panel.into(),
            started_at: at("2026-12-01T00:00:00Z"),
        }
    }

    #[test]
    fn two_approvals_need_two_people() {
        let now = at("2026-12-01T01:00:00Z");
        let once = draft(3, 2).approve("ann", now).unwrap();
        assert_eq!(once.status, BulkStatus::Draft);
        assert!(matches!(once.approve("ann", now), Err(Refusal::Conflict(_))));
        let twice = once.approve("bob", now).unwrap();
        assert_eq!(twice.status, BulkStatus::Approved);
        assert!(twice.approve("cy", now).is_err(), "an approved one takes no more approvals");
        assert_eq!(draft(3, 1).approve("ann", now).unwrap().status, BulkStatus::Approved);
    }

    #[test]
    fn at_most_the_bound_is_under_way_on_one_panel() {
        let mut bulk = draft(5, 1);
        assert!(bulk.has_room_on("p"));
        bulk.took(ItemState::Started, Some(flight(0, "p")));
        bulk.took(ItemState::Started, Some(flight(1, "p")));
        assert!(!bulk.has_room_on("p"));
        assert!(bulk.has_room_on("q"), "another panel has its own bound");
        bulk.settled(0, ItemState::Done);
        assert!(bulk.has_room_on("p"));
        assert_eq!((bulk.counts.done, bulk.left(), bulk.cursor), (1, 4, 2));
    }

    #[test]
    fn cancelling_stops_what_has_not_started_and_lets_the_rest_finish() {
        let now = at("2026-12-01T01:00:00Z");
        let mut bulk = draft(5, 1);
        bulk.took(ItemState::Started, Some(flight(0, "p")));
        bulk.took(ItemState::Refused, None);
        let mut cancelled = bulk.cancel(now).unwrap();
        assert_eq!((cancelled.counts.cancelled, cancelled.left()), (3, 1));
        assert!(cancelled.carried_on(), "it settles what is under way");
        cancelled.settled(0, ItemState::Failed);
        cancelled.finish_if_over(now);
        assert_eq!((cancelled.status, cancelled.left()), (BulkStatus::Cancelled, 0));
        assert!(!cancelled.carried_on());
        assert!(cancelled.cancel(now).is_err());
    }

    #[test]
    fn a_percentage_rounds_half_up_and_stays_bounded() {
        assert_eq!(NewPrice::Percent(10).applied_to(1005), Ok(1106)); // 1105.5
        assert_eq!(NewPrice::Percent(-90).applied_to(999), Ok(100)); // 99.9
        assert_eq!(NewPrice::Percent(-50).applied_to(1), Ok(1)); // 0.5
        assert!(NewPrice::Percent(1000).applied_to(MAX_AMOUNT).is_err());
        assert!(NewPrice::Percent(0).check().is_err());
        assert!(NewPrice::Percent(-91).check().is_err());
        assert!(NewPrice::Amount(MAX_AMOUNT + 1).check().is_err());
    }

    #[test]
    fn a_changed_service_is_taken_only_at_the_quote_it_was_previewed_at() {
        let quote = ItemQuote {
            charge: 100,
            credit: 0,
            renewal_price: 100,
            status: Status::Active,
            expires_at: None,
        };
        let item = BulkItem {
            seq: 0,
            service_id: ServiceId::generate(),
            client_id: super::super::ClientId::parse("alice").unwrap(),
            product_type: ProductType::Vps,
            version: 3,
            quote: Some(quote.clone()),
            refusal: None,
            state: ItemState::Pending,
            reason: None,
            operation_id: None,
            finished_at: None,
        };
        let dearer = ItemQuote { charge: 150, ..quote.clone() };
        let cheaper = ItemQuote { charge: 90, credit: 5, ..quote.clone() };
        assert!(item.check_turn(3, Ok(&cheaper)).is_ok(), "unchanged: time passing lowers a pro rata charge");
        assert!(item.check_turn(3, Ok(&dearer)).unwrap_err().contains("prices changed"));
        let repriced = ItemQuote { renewal_price: 120, ..quote.clone() };
        assert!(item.check_turn(3, Ok(&repriced)).is_err(), "never another renewal price than previewed");
        assert!(item.check_turn(4, Ok(&quote)).is_ok());
        assert!(item.check_turn(4, Ok(&cheaper)).is_err(), "changed: exactly the quote previewed");
        assert!(item.check_turn(4, Ok(&dearer)).unwrap_err().contains("charge 100 → 150"));
        let refusal = ItemRefusal { status: 409, detail: "cannot renew".into() };
        assert_eq!(item.check_turn(4, Err(&refusal)), Err("cannot renew".into()));
    }
}
