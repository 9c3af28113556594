//! The e-mail a route sends itself: the confirmation of a new notification address (the
//! notifier sends the rest). One SES `SendEmail`, from the stack's sender.

use crate::domain::notification::Email;
use crate::error::ApiError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

#[derive(Debug, Clone)]
pub struct Mail {
    client: aws_sdk_sesv2::Client,
    from: String,
    /// Where the console's Account page is (`CONSOLE_URL`): a confirmation links to it.
    pub console_url: Option<String>,
}

impl Mail {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>, console_url: Option<String>) -> Self {
        Self { client, from: from.into(), console_url }
    }

    pub fn client(&self) -> &aws_sdk_sesv2::Client {
        &self.client
    }

    /// The same, through `client`.
    pub fn with_client(&self, client: aws_sdk_sesv2::Client) -> Self {
        Self { client, ..self.clone() }
    }

    /// Sends `email` to `to`; a failure is a 503 (nothing says it went).
    pub async fn send(&self, to: &str, email: &Email) -> Result<(), ApiError> {
        let content = simple_content(email).map_err(ApiError::Internal)?;
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(content)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                tracing::warn!(error = %aws_sdk_sesv2::error::DisplayErrorContext(error), "an e-mail not sent");
                ApiError::Unavailable("the e-mail could not be sent now; ask again in a minute".into())
            })
    }
}

/// `email` as SES sends it: subject, text and HTML, in UTF-8 (the notifier's e-mails too).
pub fn simple_content(email: &Email) -> Result<EmailContent, String> {
    let content =
        |data: &str| Content::builder().data(data).charset("UTF-8").build().map_err(|e| e.to_string());
    let body = Body::builder().text(content(&email.text)?).html(content(&email.html)?).build();
    let message = Message::builder().subject(content(&email.subject)?).body(body).build();
    Ok(EmailContent::builder().simple(message).build())
}

/// A one-time code: 128 random bits from the operating system, as 32 hex digits.
pub fn one_time_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
