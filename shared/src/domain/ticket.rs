//! Tickets: a conversation about one service between its client and the provider.

use super::history::Actor;
use super::{ClientId, RuleViolation, Service, ServiceId, Timestamp};
use serde::{Deserialize, Serialize};

pub const MAX_SUBJECT_LEN: usize = 200;
pub const MAX_MESSAGE_LEN: usize = 10_000;
/// Messages one ticket holds.
pub const MAX_MESSAGES: usize = 30;
/// The bytes of text one ticket holds, subject and messages, as JSON writes them (UTF-8, a
/// character taking 1 to 4 bytes; `"`, `\` and control characters escaped): a ticket is one
/// item, and so is the stored answer to a reply, and an item is at most 400 KB.
pub const MAX_TEXT_BYTES: usize = 300_000;

/// The bytes `text` takes in JSON.
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(usize::MAX / 64, |json| json.len())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub at: Timestamp,
    pub author: Actor,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub service_id: ServiceId,
    pub client_id: ClientId,
    pub subject: String,
    pub messages: Vec<Message>,
    pub created_at: Timestamp,
    pub version: u64,
}

/// A subject is one line; a message may hold several.
fn text(value: &str, field: &str, max: usize) -> Result<String, RuleViolation> {
    match field {
        "subject" => super::text::line(value, field, max),
        _ => super::text::paragraphs(value, field, max),
    }
}

impl Ticket {
    /// A new ticket about `service`, from its client or from the provider.
    pub fn open(
        service: &Service,
        subject: &str,
        message: &str,
        author: Actor,
        at: Timestamp,
    ) -> Result<Self, RuleViolation> {
        Ok(Self {
            id: super::ids::next_id(),
            service_id: service.id.clone(),
            client_id: service.client_id.clone(),
            subject: text(subject, "subject", MAX_SUBJECT_LEN)?,
            messages: vec![Message { at, author, message: text(message, "message", MAX_MESSAGE_LEN)? }],
            created_at: at,
            version: 1,
        })
    }

    /// The ticket as its client reads it: the provider's staff is the provider, shown as
    /// `provider_name` (`Actor::as_seen_by_client`).
    pub fn for_client(&self, provider_name: &str) -> Ticket {
        let mut ticket = self.clone();
        for message in &mut ticket.messages {
            message.author = message.author.as_seen_by_client(provider_name);
        }
        ticket
    }

    /// The ticket with one more message.
    pub fn reply(&self, message: &str, author: Actor, at: Timestamp) -> Result<Self, RuleViolation> {
        if self.messages.len() >= MAX_MESSAGES {
            return Err(RuleViolation::new(format!(
                "a ticket holds at most {MAX_MESSAGES} messages; open another"
            )));
        }
        let message = text(message, "message", MAX_MESSAGE_LEN)?;
        let used =
            json_len(&self.subject) + self.messages.iter().map(|m| json_len(&m.message)).sum::<usize>();
        let needed = json_len(&message);
        if used + needed > MAX_TEXT_BYTES {
            return Err(RuleViolation::new(format!(
                "a ticket holds at most {MAX_TEXT_BYTES} bytes of text ({used} used, this message takes {needed}); open another"
            )));
        }
        let mut next = self.clone();
        next.messages.push(Message { at, author, message });
        next.version += 1;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn service() -> Service {
        crate::domain::order::sample_service(Timestamp::from_unix_millis(0))
    }

    fn ops() -> Actor {
        Actor { id: "ops".into(), role: Role::Provider }
    }

    #[test]
    fn a_ticket_belongs_to_the_services_client() {
        let ticket =
            Ticket::open(&service(), " Disk full ", "help", ops(), Timestamp::from_unix_millis(0)).unwrap();
        assert_eq!((ticket.client_id.as_str(), ticket.subject.as_str()), ("alice", "Disk full"));
        let replied = ticket.reply("done", ops(), Timestamp::from_unix_millis(1)).unwrap();
        assert_eq!((replied.messages.len(), replied.version), (2, 2));
    }

    #[test]
    fn text_with_control_characters_bidi_overrides_or_nothing_visible_is_refused() {
        let at = Timestamp::from_unix_millis(0);
        for bad in ["a\0b", "invoice \u{202E}fdp.exe", "\u{200B}\u{2060}\u{FEFF}"] {
            assert!(Ticket::open(&service(), bad, "x", ops(), at).is_err(), "subject {bad:?}");
            assert!(Ticket::open(&service(), "s", bad, ops(), at).is_err(), "message {bad:?}");
        }
        let ticket = Ticket::open(&service(), "s", "first line\nsecond line", ops(), at).unwrap();
        assert!(ticket.reply("\u{200B}", ops(), at).is_err());
        assert_eq!(ticket.messages[0].message, "first line\nsecond line");
    }

    #[test]
    fn empty_or_long_text_is_refused() {
        let at = Timestamp::from_unix_millis(0);
        assert!(Ticket::open(&service(), "", "x", ops(), at).is_err());
        assert!(Ticket::open(&service(), "s", &"x".repeat(MAX_MESSAGE_LEN + 1), ops(), at).is_err());
        let mut ticket = Ticket::open(&service(), "s", "m", ops(), at).unwrap();
        for _ in 1..MAX_MESSAGES {
            ticket = ticket.reply("m", ops(), at).unwrap();
        }
        assert!(ticket.reply("one too many", ops(), at).is_err());
    }

    #[test]
    fn a_ticket_holds_its_text_in_bytes_whatever_the_characters() {
        let at = Timestamp::from_unix_millis(0);
        let four_bytes = "😀".repeat(MAX_MESSAGE_LEN);
        let mut ticket = Ticket::open(&service(), "s", &four_bytes, ops(), at).unwrap();
        let fits = (MAX_TEXT_BYTES - 1) / four_bytes.len();
        for _ in 1..fits {
            ticket = ticket.reply(&four_bytes, ops(), at).unwrap();
        }
        let full = ticket.reply(&four_bytes, ops(), at).unwrap_err();
        assert!(full.0.contains("bytes"), "{full}");
        assert!(ticket.reply("a short one still fits", ops(), at).is_ok());
    }
}
