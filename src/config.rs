//! Settings: built-in defaults, then an optional TOML file, then `TALQY_*` environment
//! variables. Every value is checked once here so that a bad one stops start-up with a
//! single line naming the setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::db::DatabaseUrl;

const SETTINGS: [&str; 12] = [
    "database_url",
    "bind",
    "base_url",
    "data_dir",
    "log_format",
    "pool_size",
    "max_import_bytes",
    "page_size",
    "secret_key",
    "session_idle_minutes",
    "session_absolute_hours",
    "trust_proxy_headers",
];

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
    pub page_size: i64,
    /// At least 64 bytes, hex or base64 would be typical; empty means "generate one and keep
    /// it in the data folder". Shared by all instances behind one load balancer.
    pub secret_key: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// Read the client address from X-Forwarded-For (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
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
            page_size: 20,
            secret_key: String::new(),
            session_idle_minutes: 12 * 60,
            session_absolute_hours: 14 * 24,
            trust_proxy_headers: false,
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
    pub page_size: i64,
    pub secret_key: SecretKey,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub trust_proxy_headers: bool,
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
        let data_dir = PathBuf::from(&self.data_dir);
        let secret_key = SecretKey::resolve(&self.secret_key, &data_dir)?;
        Ok(Config {
            database,
            bind,
            base_url,
            data_dir,
            log_format,
            pool_size: self.pool_size,
            max_import_bytes: self.max_import_bytes,
            page_size: self.page_size,
            secret_key,
            session_idle_minutes: self.session_idle_minutes,
            session_absolute_hours: self.session_absolute_hours,
            trust_proxy_headers: self.trust_proxy_headers,
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
