//! Email: lettre behind a [`Mailer`] with three transports (SMTP in production, `.eml` files
//! in development, memory in tests).
//!
//! Nothing is sent from a request handler: a service renders an [`EmailMessage`] and calls
//! [`enqueue_email`] inside the write transaction of the change that causes it; the job
//! worker (`crate::jobs::run_worker`) sends it, retrying with backoff. Bodies may hold
//! single-use links, so they are never logged, and the queue drops them once the message is
//! sent (see [`EmailMessage::scrubbed_payload`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::QueryResult;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::{Config, MailConfig, MailTransport, SmtpTls};
use crate::db::DbConn;

mod site;
pub use site::SiteLinks;

/// The job kind of an email in the queue.
pub const JOB_KIND: &str = "email";

/// Attempts before an email is parked, unless configured (`mail_max_attempts`).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// Every SMTP command (connect, greeting, each reply) must complete within this time.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `mail_max_attempts` of this process: [`Mailer::from_config`] sets it, so that
/// [`enqueue_email`] needs nothing but a connection.
static MAX_ATTEMPTS: AtomicI32 = AtomicI32::new(DEFAULT_MAX_ATTEMPTS);

/// A rendered message, as it waits in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// One recipient: `someone@example.org` or `Name <someone@example.org>`.
    pub to: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// Extra headers (`List-Unsubscribe`, …), added by the [`Mailer`] after checking them.
    /// Absent from payloads queued before this field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

impl EmailMessage {
    /// What the queue keeps of a sent message: who it went to and what it was about, not the
    /// body (which may hold single-use links).
    pub fn scrubbed_payload(&self) -> serde_json::Value {
        serde_json::json!({ "to": self.to, "subject": self.subject })
    }
}

/// Puts `message` in the queue (kind `"email"`, `mail_max_attempts` attempts). Call it inside
/// the write transaction of the change the message is about: if that rolls back, the
/// message is never sent.
pub fn enqueue_email(conn: &mut DbConn, message: &EmailMessage) -> QueryResult<i64> {
    enqueue_email_with(conn, message, MAX_ATTEMPTS.load(Ordering::Relaxed))
}

/// [`enqueue_email`] with an explicit number of attempts.
pub fn enqueue_email_with(
    conn: &mut DbConn,
    message: &EmailMessage,
    max_attempts: i32,
) -> QueryResult<i64> {
    let payload = serde_json::to_value(message)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    crate::jobs::enqueue(conn, JOB_KIND, &payload, max_attempts)
}

/// A message as the memory transport captured it.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message's header block as sent (From, Reply-To, To, Subject, Date, Message-ID, …).
    pub headers: String,
    /// The whole message as sent, MIME parts included.
    pub raw: String,
}

impl SentEmail {
    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut lines = self.headers.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.eq_ignore_ascii_case(name) {
                let mut value = value.trim().to_string();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message itself is wrong (an invalid address, a forbidden extra header): sending
    /// it again cannot help.
    #[error("invalid message: {0}")]
    Invalid(String),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("mail file: {0}")]
    File(#[from] lettre::transport::file::Error),
    /// The transport cannot be built from the configuration.
    #[error("setting '{setting}': {message}")]
    Setup {
        setting: &'static str,
        message: String,
    },
}

impl MailError {
    /// True when no retry can make the message go through.
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Invalid(_))
    }
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
    Memory(Arc<Mutex<Vec<SentEmail>>>),
}

/// Sends messages. Cheap to clone: clones share the SMTP connection pool, or the outbox of
/// the memory transport.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    retry_base: Duration,
    site: Option<SiteLinks>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File { .. } => "file",
            Transport::Memory(_) => "memory",
        };
        f.debug_struct("Mailer")
            .field("transport", &transport)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer the configuration asks for (files go to `<data_dir>/mail/`). Also makes
    /// `mail_max_attempts` the number of attempts [`enqueue_email`] gives a message.
    pub fn from_config(config: &Config) -> Result<Mailer, MailError> {
        MAX_ATTEMPTS.store(config.mail.max_attempts, Ordering::Relaxed);
        let mailer = match config.mail.transport {
            MailTransport::Smtp => Mailer::smtp(&config.mail),
            MailTransport::File => Mailer::file(&config.mail, &config.data_dir.join("mail")),
            MailTransport::Memory => Ok(Mailer::memory(&config.mail)),
        }?;
        Ok(mailer.with_site(SiteLinks::from_config(config)))
    }

    /// An SMTP relay with a connection pool.
    pub fn smtp(mail: &MailConfig) -> Result<Mailer, MailError> {
        let tls_parameters = || {
            TlsParameters::new(mail.smtp_host.clone()).map_err(|e| MailError::Setup {
                setting: "smtp_tls",
                message: e.to_string(),
            })
        };
        let tls = match mail.smtp_tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&mail.smtp_host)
            .port(mail.smtp_port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if !mail.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                mail.smtp_username.clone(),
                mail.smtp_password.expose().to_string(),
            ));
        }
        Ok(Mailer::with_transport(
            Transport::Smtp(builder.build()),
            mail,
        ))
    }

    /// Development: every message becomes an `.eml` file in `dir` (created if needed).
    pub fn file(mail: &MailConfig, dir: &Path) -> Result<Mailer, MailError> {
        std::fs::create_dir_all(dir).map_err(|e| MailError::Setup {
            setting: "data_dir",
            message: format!("cannot create folder {}: {e}", dir.display()),
        })?;
        Ok(Mailer::with_transport(
            Transport::File {
                dir: dir.to_path_buf(),
                transport: AsyncFileTransport::new(dir),
            },
            mail,
        ))
    }

    /// Tests: messages are kept in memory; read them with [`Mailer::sent`].
    pub fn memory(mail: &MailConfig) -> Mailer {
        Mailer::with_transport(Transport::Memory(Arc::default()), mail)
    }

    fn with_transport(transport: Transport, mail: &MailConfig) -> Mailer {
        Mailer {
            transport,
            from: mail.from.clone(),
            reply_to: mail.reply_to.clone(),
            retry_base: mail.retry_base,
            site: None,
        }
    }

    /// The public site's links and link-signing key, for jobs that compose messages in the
    /// worker (notifications). [`Mailer::from_config`] sets them.
    pub fn with_site(mut self, site: SiteLinks) -> Mailer {
        self.site = Some(site);
        self
    }

    pub fn site(&self) -> Option<&SiteLinks> {
        self.site.as_ref()
    }

    /// The first wait after a failed delivery (doubling after each further failure).
    pub fn retry_base(&self) -> Duration {
        self.retry_base
    }

    pub fn with_retry_base(mut self, retry_base: Duration) -> Mailer {
        self.retry_base = retry_base;
        self
    }

    /// What the memory transport captured so far, oldest first (empty for other transports).
    pub fn sent(&self) -> Vec<SentEmail> {
        match &self.transport {
            Transport::Memory(outbox) => outbox.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            _ => Vec::new(),
        }
    }

    /// Builds the MIME message: multipart/alternative (plain text, then HTML), with From and
    /// Reply-To from the configuration, Date, and a Message-ID in the sender's domain.
    pub fn build_message(&self, message: &EmailMessage) -> Result<Message, MailError> {
        let to: Mailbox = message
            .to
            .trim()
            .parse()
            .map_err(|_| MailError::Invalid("the recipient address is not valid".into()))?;
        // A line break in a subject would start a new header.
        let subject: String = message
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let message_id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.from.email.domain()
        );
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject.trim())
            .message_id(Some(message_id))
            .date_now();
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        for (name, value) in &message.headers {
            builder = builder.raw_header(extra_header(name, value)?);
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        lettre::message::SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(message.text.clone()),
                    )
                    .singlepart(
                        lettre::message::SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(message.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Invalid(e.to_string()))
    }

    /// Sends one message now. Called by the job worker; request handlers enqueue instead.
    pub async fn send(&self, message: &EmailMessage) -> Result<(), MailError> {
        let built = self.build_message(message)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(built).await?;
            }
            Transport::File { dir, transport } => {
                let id = transport.send(built).await?;
                // Recipient and subject only: the body holds links that act as passwords.
                tracing::info!(
                    to = %message.to,
                    subject = %message.subject,
                    path = %dir.join(format!("{id}.eml")).display(),
                    "email written to a file"
                );
            }
            Transport::Memory(outbox) => {
                let raw = String::from_utf8_lossy(&built.formatted()).into_owned();
                let headers = raw
                    .split_once("\r\n\r\n")
                    .map(|(h, _)| h.to_string())
                    .unwrap_or_else(|| raw.clone());
                outbox
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(SentEmail {
                        to: message.to.clone(),
                        subject: message.subject.clone(),
                        text: message.text.clone(),
                        html: message.html.clone(),
                        headers,
                        raw,
                    });
            }
        }
        Ok(())
    }
}

/// Headers the Mailer sets itself, or that would change who receives a message or how it is
/// read: a message may not bring its own.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "return-path",
];

/// Checks one extra header: the name is an RFC 5322 field name that is not reserved, the
/// value one line (lettre also encodes anything unusual, so nothing can start a new header).
fn extra_header(
    name: &str,
    value: &str,
) -> Result<lettre::message::header::HeaderValue, MailError> {
    use lettre::message::header::{HeaderName, HeaderValue};
    let valid_name = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        && !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str());
    if !valid_name {
        return Err(MailError::Invalid(format!("header '{name}' cannot be set")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(MailError::Invalid(format!(
            "header '{name}' has a control character"
        )));
    }
    let name = HeaderName::new_from_ascii(name.to_string())
        .map_err(|_| MailError::Invalid(format!("header '{name}' cannot be set")))?;
    Ok(HeaderValue::new(name, value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail_config() -> MailConfig {
        MailConfig {
            transport: MailTransport::Memory,
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_tls: SmtpTls::StartTls,
            smtp_username: String::new(),
            smtp_password: Default::default(),
            from: "Talqy <no-reply@talqy.example>".parse().unwrap(),
            reply_to: Some("Working group <wg@talqy.example>".parse().unwrap()),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
        }
    }

    fn message() -> EmailMessage {
        EmailMessage {
            to: "Aigerim <aigerim@example.org>".into(),
            subject: "Confirm your address".into(),
            text: "Open https://talqy.example/confirm/SECRET".into(),
            html: "<p><a href=\"https://talqy.example/confirm/SECRET\">Confirm</a></p>".into(),
            headers: Vec::new(),
        }
    }

    #[tokio::test]
    async fn extra_headers_are_added_and_reserved_ones_refused() {
        let mailer = Mailer::memory(&mail_config());
        let mut m = message();
        m.headers = vec![
            (
                "List-Unsubscribe".into(),
                "<https://talqy.example/u?token=abc>, <mailto:unsubscribe+abc@talqy.example>"
                    .into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ];
        mailer.send(&m).await.unwrap();
        let sent = &mailer.sent()[0];
        assert_eq!(
            sent.header("List-Unsubscribe").as_deref(),
            Some("<https://talqy.example/u?token=abc>, <mailto:unsubscribe+abc@talqy.example>")
        );
        assert_eq!(
            sent.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        for (name, value) in [
            ("Bcc", "victim@example.org"),
            ("From", "someone@example.org"),
            ("X-Bad", "one\r\nBcc: victim@example.org"),
            ("Bad Name", "x"),
        ] {
            let mut m = message();
            m.headers = vec![(name.into(), value.into())];
            let err = mailer.send(&m).await.unwrap_err();
            assert!(err.is_permanent(), "{name}: {err}");
        }
        assert_eq!(mailer.sent().len(), 1);
    }

    #[tokio::test]
    async fn the_memory_transport_captures_a_multipart_message() {
        let mailer = Mailer::memory(&mail_config());
        mailer.send(&message()).await.unwrap();
        let sent = mailer.sent();
        assert_eq!(sent.len(), 1);
        let m = &sent[0];
        assert_eq!(m.to, "Aigerim <aigerim@example.org>");
        assert_eq!(
            m.header("From").as_deref(),
            Some("Talqy <no-reply@talqy.example>")
        );
        assert_eq!(
            m.header("Reply-To").as_deref(),
            Some("\"Working group\" <wg@talqy.example>")
        );
        assert!(m.header("Date").is_some());
        let id = m.header("Message-ID").unwrap();
        assert!(id.ends_with("@talqy.example>"), "{id}");
        assert!(
            m.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative"),
            "{}",
            m.headers
        );
        let plain = m.raw.find("text/plain").unwrap();
        let html = m.raw.find("text/html").unwrap();
        assert!(plain < html, "the plain part comes first");
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_a_permanent_error() {
        let mailer = Mailer::memory(&mail_config());
        let mut m = message();
        m.to = "not an address".into();
        let err = mailer.send(&m).await.unwrap_err();
        assert!(err.is_permanent());
        assert!(mailer.sent().is_empty());
    }

    #[tokio::test]
    async fn a_line_break_in_a_subject_cannot_add_a_header() {
        let mailer = Mailer::memory(&mail_config());
        let mut m = message();
        m.subject = "Hello\r\nBcc: victim@example.org".into();
        mailer.send(&m).await.unwrap();
        let sent = &mailer.sent()[0];
        assert!(sent.header("Bcc").is_none(), "{}", sent.headers);
    }

    #[test]
    fn the_scrubbed_payload_keeps_no_body() {
        let scrubbed = message().scrubbed_payload();
        assert_eq!(
            scrubbed,
            serde_json::json!({"to": "Aigerim <aigerim@example.org>", "subject": "Confirm your address"})
        );
        assert!(!scrubbed.to_string().contains("SECRET"));
    }

    #[tokio::test]
    async fn the_file_transport_writes_an_eml_file() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::file(&mail_config(), &dir.path().join("mail")).unwrap();
        mailer.send(&message()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().unwrap(), "eml");
        let content = std::fs::read_to_string(&files[0]).unwrap();
        assert!(content.contains("Subject: Confirm your address"));
    }
}
