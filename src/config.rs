//! Settings: built-in defaults, then an optional TOML file, then `TALQY_*` environment
//! variables. Every value is checked once here so that a bad one stops start-up with a
//! single line naming the setting.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::db::DatabaseUrl;

const SETTINGS: [&str; 31] = [
    "database_url",
    "bind",
    "base_url",
    "data_dir",
    "log_format",
    "pool_size",
    "max_import_bytes",
    "max_body_bytes",
    "client_timeout_seconds",
    "page_size",
    "secret_key",
    "session_idle_minutes",
    "session_absolute_hours",
    "trust_proxy_headers",
    "mail_transport",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username",
    "smtp_password",
    "mail_from",
    "mail_reply_to",
    "mail_max_attempts",
    "mail_retry_base_seconds",
    "campaign_threshold",
    "campaign_min_size",
    "comments_per_hour_per_account",
    "comments_per_hour_per_ip",
    "moderation_auto_hide_reports",
    "page_cache_seconds",
    "page_cache_mb",
];

/// A value that must never reach a log: its `Debug` prints `***` (or `""` when empty, so an
/// operator can still tell whether it is set).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("***")
        }
    }
}

/// Raw settings as read from the providers; [`Settings::validate`] turns them into [`Config`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub base_url: String,
    pub data_dir: String,
    pub log_format: String,
    pub pool_size: u32,
    pub max_import_bytes: usize,
    /// The largest request body a form may send (larger ones get 413).
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's head, and then its body, before it
    /// is cut off (408).
    pub client_timeout_seconds: u64,
    pub page_size: i64,
    /// At least 64 bytes, hex or base64 would be typical; empty means "generate one and keep
    /// it in the data folder". Shared by all instances behind one load balancer.
    pub secret_key: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Read the client address from X-Forwarded-For (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    pub mail_transport: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: String,
    pub smtp_username: String,
    pub smtp_password: Secret,
    pub mail_from: String,
    /// Empty means no Reply-To header.
    pub mail_reply_to: String,
    pub mail_max_attempts: i32,
    pub mail_retry_base_seconds: u64,
    /// Text similarity (estimated Jaccard of 3-word shingles, 0.1–0.95) at which comments
    /// count as copies of one letter.
    pub campaign_threshold: f64,
    /// Near-identical comments needed to form a campaign (2–1000).
    pub campaign_min_size: usize,
    /// Comments and replies one account may post per hour (1–100000).
    pub comments_per_hour_per_account: i32,
    /// Comments and replies one client address may post per hour (1–1000000). Generous:
    /// a whole ministry or university may share one address.
    pub comments_per_hour_per_ip: i32,
    /// Reports from distinct verified participants that hide a comment until a moderator
    /// reviews it (1–1000).
    pub moderation_auto_hide_reports: i64,
    /// How long a page rendered for anonymous readers is served from memory (0–300; 0 turns
    /// the cache off). Changes made through this instance show at once; changes made by
    /// another instance or the command line show within this time.
    pub page_cache_seconds: u64,
    /// Memory given to that cache, in MiB (1–4096).
    pub page_cache_mb: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://data/talqy.db".into(),
            bind: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
            data_dir: "data".into(),
            log_format: "text".into(),
            pool_size: 8,
            max_import_bytes: 2 * 1024 * 1024,
            max_body_bytes: 256 * 1024,
            client_timeout_seconds: 10,
            page_size: 20,
            secret_key: String::new(),
            session_idle_minutes: 12 * 60,
            session_absolute_hours: 14 * 24,
            trust_proxy_headers: false,
            mail_transport: "file".into(),
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            mail_from: "Talqy <no-reply@localhost>".into(),
            mail_reply_to: String::new(),
            mail_max_attempts: 8,
            mail_retry_base_seconds: 30,
            campaign_threshold: crate::services::campaigns::DEFAULT_THRESHOLD,
            campaign_min_size: crate::services::campaigns::DEFAULT_MIN_SIZE,
            comments_per_hour_per_account: 30,
            comments_per_hour_per_ip: 300,
            moderation_auto_hide_reports: 3,
            page_cache_seconds: 10,
            page_cache_mb: 32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Checked configuration: every field is known to be usable.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub base_url: Url,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub pool_size: u32,
    pub max_import_bytes: usize,
    pub max_body_bytes: usize,
    pub client_timeout: std::time::Duration,
    pub page_size: i64,
    pub secret_key: SecretKey,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub trust_proxy_headers: bool,
    pub mail: MailConfig,
    /// See [`Settings::campaign_threshold`].
    pub campaign_threshold: f64,
    pub campaign_min_size: usize,
    pub comments_per_hour_per_account: i32,
    pub comments_per_hour_per_ip: i32,
    /// See [`Settings::moderation_auto_hide_reports`].
    pub moderation_auto_hide_reports: i64,
    /// See [`Settings::page_cache_seconds`]; zero means off.
    pub page_cache_ttl: std::time::Duration,
    pub page_cache_bytes: usize,
}

/// How email leaves the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// Development: `.eml` files under `<data_dir>/mail/`.
    File,
    /// Production: an SMTP relay.
    Smtp,
    /// Tests: kept in memory. Not selectable from a file or the environment.
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Checked email settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: Secret,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// Attempts before a message is parked for an administrator.
    pub max_attempts: i32,
    /// The first retry waits this long, then twice as long each time (capped at one hour).
    pub retry_base: Duration,
}

/// The key that signs and encrypts cookies. Debug never shows it.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A fresh random key (tests, first start).
    pub fn generate() -> SecretKey {
        use rand::RngCore;
        let mut k = vec![0u8; 64];
        rand::rng().fill_bytes(&mut k);
        SecretKey(k)
    }

    /// The configured key, or the one kept in `<data_dir>/secret.key` (created on first use).
    fn resolve(configured: &str, data_dir: &Path) -> Result<SecretKey, ConfigError> {
        if !configured.is_empty() {
            if configured.len() < 64 {
                return Err(ConfigError::new(
                    "secret_key",
                    "must be at least 64 characters (e.g. `openssl rand -hex 64`)",
                ));
            }
            return Ok(SecretKey(configured.as_bytes().to_vec()));
        }
        let path = data_dir.join("secret.key");
        match std::fs::read(&path) {
            Ok(k) if k.len() >= 64 => Ok(SecretKey(k)),
            Ok(_) => Err(ConfigError::new(
                "secret_key",
                format!("{} is shorter than 64 bytes", path.display()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                std::fs::create_dir_all(data_dir)
                    .and_then(|_| write_private(&path, hex::encode(&key.0).as_bytes()))
                    .map_err(|e| {
                        ConfigError::new(
                            "secret_key",
                            format!("cannot write {}: {e}", path.display()),
                        )
                    })?;
                Ok(SecretKey(hex::encode(&key.0).into_bytes()))
            }
            Err(e) => Err(ConfigError::new(
                "secret_key",
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// A configuration error names the setting it is about.
#[derive(Debug, thiserror::Error)]
#[error("setting '{setting}': {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    fn new(setting: &str, message: impl Into<String>) -> Self {
        ConfigError {
            setting: setting.to_string(),
            message: message.into(),
        }
    }
}

impl Settings {
    /// Reads defaults, then `file` (or `talqy.toml` in the working folder when it exists),
    /// then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::new(
                        "config",
                        format!("file {} does not exist", path.display()),
                    ));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => {
                if Path::new("talqy.toml").exists() {
                    figment = figment.merge(Toml::file("talqy.toml"));
                }
            }
        }
        // The conventional DATABASE_URL is honoured, but TALQY_DATABASE_URL wins.
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        // Only known settings: other TALQY_* variables (TALQY_LOG, TALQY_CONFIG, test settings)
        // belong to other readers.
        figment = figment.merge(Env::prefixed("TALQY_").only(&SETTINGS));
        figment.extract().map_err(|e| {
            let setting = e
                .path
                .last()
                .cloned()
                .or_else(|| match &e.kind {
                    figment::error::Kind::UnknownField(f, _) => Some(f.clone()),
                    figment::error::Kind::MissingField(f) => Some(f.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "config".into());
            ConfigError::new(&setting, e.kind.to_string())
        })
    }

    pub fn validate(self) -> Result<Config, ConfigError> {
        let database = DatabaseUrl::parse(&self.database_url)
            .map_err(|m| ConfigError::new("database_url", m))?;
        let bind: SocketAddr = self.bind.parse().map_err(|_| {
            ConfigError::new(
                "bind",
                format!("'{}' is not an address like 127.0.0.1:8080", self.bind),
            )
        })?;
        let base_url = Url::parse(&self.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                ConfigError::new(
                    "base_url",
                    format!("'{}' is not an http(s) URL", self.base_url),
                )
            })?;
        let log_format = match self.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    "log_format",
                    format!("'{other}' is neither 'text' nor 'json'"),
                ));
            }
        };
        if self.pool_size == 0 || self.pool_size > 256 {
            return Err(ConfigError::new("pool_size", "must be between 1 and 256"));
        }
        if self.max_import_bytes < 1024 {
            return Err(ConfigError::new(
                "max_import_bytes",
                "must be at least 1024",
            ));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(ConfigError::new(
                "max_body_bytes",
                "must be between 1024 and 67108864",
            ));
        }
        if !(1..=600).contains(&self.client_timeout_seconds) {
            return Err(ConfigError::new(
                "client_timeout_seconds",
                "must be between 1 and 600",
            ));
        }
        if !(1..=500).contains(&self.page_size) {
            return Err(ConfigError::new("page_size", "must be between 1 and 500"));
        }
        if !(5..=60 * 24 * 30).contains(&self.session_idle_minutes) {
            return Err(ConfigError::new(
                "session_idle_minutes",
                "must be between 5 and 43200",
            ));
        }
        if !(1..=24 * 365).contains(&self.session_absolute_hours) {
            return Err(ConfigError::new(
                "session_absolute_hours",
                "must be between 1 and 8760",
            ));
        }
        if !(1..=1000).contains(&self.moderation_auto_hide_reports) {
            return Err(ConfigError::new(
                "moderation_auto_hide_reports",
                "must be between 1 and 1000",
            ));
        }
        let data_dir = PathBuf::from(&self.data_dir);
        let secret_key = SecretKey::resolve(&self.secret_key, &data_dir)?;
        let mail = self.validate_mail()?;
        let (campaign_threshold, campaign_min_size) = self.validate_campaigns()?;
        if !(1..=100_000).contains(&self.comments_per_hour_per_account) {
            return Err(ConfigError::new(
                "comments_per_hour_per_account",
                "must be between 1 and 100000",
            ));
        }
        if !(1..=1_000_000).contains(&self.comments_per_hour_per_ip) {
            return Err(ConfigError::new(
                "comments_per_hour_per_ip",
                "must be between 1 and 1000000",
            ));
        }
        if self.page_cache_seconds > 300 {
            return Err(ConfigError::new(
                "page_cache_seconds",
                "must be between 0 and 300",
            ));
        }
        if !(1..=4096).contains(&self.page_cache_mb) {
            return Err(ConfigError::new(
                "page_cache_mb",
                "must be between 1 and 4096",
            ));
        }
        Ok(Config {
            database,
            bind,
            base_url,
            data_dir,
            log_format,
            pool_size: self.pool_size,
            max_import_bytes: self.max_import_bytes,
            max_body_bytes: self.max_body_bytes,
            client_timeout: std::time::Duration::from_secs(self.client_timeout_seconds),
            page_size: self.page_size,
            secret_key,
            session_idle_minutes: self.session_idle_minutes,
            session_absolute_hours: self.session_absolute_hours,
            trust_proxy_headers: self.trust_proxy_headers,
            mail,
            campaign_threshold,
            campaign_min_size,
            comments_per_hour_per_account: self.comments_per_hour_per_account,
            comments_per_hour_per_ip: self.comments_per_hour_per_ip,
            moderation_auto_hide_reports: self.moderation_auto_hide_reports,
            page_cache_ttl: std::time::Duration::from_secs(self.page_cache_seconds),
            page_cache_bytes: self.page_cache_mb * 1024 * 1024,
        })
    }
}

impl Settings {
    fn validate_campaigns(&self) -> Result<(f64, usize), ConfigError> {
        // Written so that NaN fails too.
        if !(0.1..=0.95).contains(&self.campaign_threshold) {
            return Err(ConfigError::new(
                "campaign_threshold",
                "must be between 0.1 and 0.95",
            ));
        }
        if !(2..=1000).contains(&self.campaign_min_size) {
            return Err(ConfigError::new(
                "campaign_min_size",
                "must be between 2 and 1000",
            ));
        }
        Ok((self.campaign_threshold, self.campaign_min_size))
    }

    fn validate_mail(&self) -> Result<MailConfig, ConfigError> {
        let transport = match self.mail_transport.as_str() {
            "file" => MailTransport::File,
            "smtp" => MailTransport::Smtp,
            other => {
                return Err(ConfigError::new(
                    "mail_transport",
                    format!("'{other}' is neither 'file' nor 'smtp'"),
                ));
            }
        };
        let host = self.smtp_host.trim();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(ConfigError::new(
                "smtp_host",
                format!("'{}' is not a host name", self.smtp_host),
            ));
        }
        if self.smtp_port == 0 {
            return Err(ConfigError::new("smtp_port", "must be between 1 and 65535"));
        }
        let smtp_tls = match self.smtp_tls.as_str() {
            "none" => SmtpTls::None,
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            other => {
                return Err(ConfigError::new(
                    "smtp_tls",
                    format!("'{other}' is not one of 'starttls', 'tls' or 'none'"),
                ));
            }
        };
        if self.smtp_username.is_empty() && !self.smtp_password.is_empty() {
            return Err(ConfigError::new(
                "smtp_username",
                "is empty but smtp_password is set",
            ));
        }
        let from: Mailbox = self.mail_from.trim().parse().map_err(|_| {
            ConfigError::new(
                "mail_from",
                format!(
                    "'{}' is not an address like 'Talqy <no-reply@example.org>'",
                    self.mail_from
                ),
            )
        })?;
        let reply_to = match self.mail_reply_to.trim() {
            "" => None,
            raw => Some(raw.parse::<Mailbox>().map_err(|_| {
                ConfigError::new(
                    "mail_reply_to",
                    format!(
                        "'{}' is not an address like 'Secretariat <wg@example.org>'",
                        self.mail_reply_to
                    ),
                )
            })?),
        };
        if !(1..=100).contains(&self.mail_max_attempts) {
            return Err(ConfigError::new(
                "mail_max_attempts",
                "must be between 1 and 100",
            ));
        }
        if !(1..=3600).contains(&self.mail_retry_base_seconds) {
            return Err(ConfigError::new(
                "mail_retry_base_seconds",
                "must be between 1 and 3600",
            ));
        }
        Ok(MailConfig {
            transport,
            smtp_host: host.to_string(),
            smtp_port: self.smtp_port,
            smtp_tls,
            smtp_username: self.smtp_username.clone(),
            smtp_password: self.smtp_password.clone(),
            from,
            reply_to,
            max_attempts: self.mail_max_attempts,
            retry_base: Duration::from_secs(self.mail_retry_base_seconds),
        })
    }
}

impl Config {
    /// A link on the public site, built from the configured base URL.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = Box<dyn FnOnce(&mut Settings)>;

    // Only the mail part is validated, so no test depends on (or writes to) the data folder.
    fn mail_with(change: impl FnOnce(&mut Settings)) -> Result<MailConfig, ConfigError> {
        let mut settings = Settings::default();
        change(&mut settings);
        settings.validate_mail()
    }

    #[test]
    fn mail_defaults_write_files_and_retry_eight_times() {
        let mail = mail_with(|_| {}).unwrap();
        assert_eq!(mail.transport, MailTransport::File);
        assert_eq!(mail.smtp_host, "localhost");
        assert_eq!(mail.smtp_port, 587);
        assert_eq!(mail.smtp_tls, SmtpTls::StartTls);
        assert_eq!(mail.from.to_string(), "Talqy <no-reply@localhost>");
        assert!(mail.reply_to.is_none());
        assert_eq!(mail.max_attempts, 8);
        assert_eq!(mail.retry_base, Duration::from_secs(30));
    }

    #[test]
    fn every_bad_mail_value_names_its_setting() {
        let cases: Vec<(&str, Change)> = vec![
            (
                "mail_transport",
                Box::new(|s| s.mail_transport = "memory".into()),
            ),
            (
                "mail_transport",
                Box::new(|s| s.mail_transport = "sendmail".into()),
            ),
            ("smtp_host", Box::new(|s| s.smtp_host = " ".into())),
            ("smtp_port", Box::new(|s| s.smtp_port = 0)),
            ("smtp_tls", Box::new(|s| s.smtp_tls = "ssl".into())),
            (
                "smtp_username",
                Box::new(|s| s.smtp_password = Secret::new("pw")),
            ),
            ("mail_from", Box::new(|s| s.mail_from = "no address".into())),
            (
                "mail_reply_to",
                Box::new(|s| s.mail_reply_to = "wg@".into()),
            ),
            ("mail_max_attempts", Box::new(|s| s.mail_max_attempts = 0)),
            (
                "mail_retry_base_seconds",
                Box::new(|s| s.mail_retry_base_seconds = 0),
            ),
        ];
        for (setting, change) in cases {
            let err = mail_with(change).unwrap_err();
            assert_eq!(err.setting, setting, "{err}");
        }
    }

    #[test]
    fn campaign_settings_have_defaults_and_bounds() {
        assert_eq!(Settings::default().validate_campaigns().unwrap(), (0.5, 3));
        let cases: Vec<(&str, Change)> = vec![
            (
                "campaign_threshold",
                Box::new(|s| s.campaign_threshold = 0.05),
            ),
            (
                "campaign_threshold",
                Box::new(|s| s.campaign_threshold = 0.99),
            ),
            (
                "campaign_threshold",
                Box::new(|s| s.campaign_threshold = f64::NAN),
            ),
            ("campaign_min_size", Box::new(|s| s.campaign_min_size = 1)),
            (
                "campaign_min_size",
                Box::new(|s| s.campaign_min_size = 1001),
            ),
        ];
        for (setting, change) in cases {
            let mut settings = Settings::default();
            change(&mut settings);
            let err = settings.validate_campaigns().unwrap_err();
            assert_eq!(err.setting, setting, "{err}");
        }
        let settings = Settings {
            campaign_threshold: 0.8,
            campaign_min_size: 10,
            ..Settings::default()
        };
        assert_eq!(settings.validate_campaigns().unwrap(), (0.8, 10));
    }

    #[test]
    fn auto_hide_reports_has_bounds() {
        for bad in [0, 1001] {
            let settings = Settings {
                moderation_auto_hide_reports: bad,
                ..Settings::default()
            };
            let err = settings.validate().unwrap_err();
            assert_eq!(err.setting, "moderation_auto_hide_reports", "{err}");
        }
    }

    #[test]
    fn smtp_settings_are_read() {
        let mail = mail_with(|s| {
            s.mail_transport = "smtp".into();
            s.smtp_host = "smtp.example.org".into();
            s.smtp_port = 465;
            s.smtp_tls = "tls".into();
            s.smtp_username = "talqy".into();
            s.smtp_password = Secret::new("hunter2");
            s.mail_reply_to = "Secretariat <wg@example.org>".into();
        })
        .unwrap();
        assert_eq!(mail.transport, MailTransport::Smtp);
        assert_eq!(mail.smtp_tls, SmtpTls::Tls);
        assert_eq!(mail.smtp_password.expose(), "hunter2");
        assert_eq!(
            mail.reply_to.unwrap().to_string(),
            "Secretariat <wg@example.org>"
        );
    }

    #[test]
    fn the_smtp_password_is_never_printed() {
        let settings = Settings {
            smtp_username: "talqy".into(),
            smtp_password: Secret::new("hunter2"),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
        let printed = format!("{:?}", settings.validate_mail().unwrap());
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("smtp_password: ***"), "{printed}");
    }

    #[test]
    fn every_setting_can_come_from_the_environment() {
        let value = serde_json::to_value(Settings::default()).unwrap();
        let mut fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut read: Vec<&str> = SETTINGS.to_vec();
        fields.sort();
        read.sort();
        assert_eq!(fields, read);
    }
}
