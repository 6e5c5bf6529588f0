//! Structured logs with tracing. Each request runs in a span carrying its request id
//! (tracing-actix-web), so every line it logs can be traced back to it.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TALQY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,r2d2=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
