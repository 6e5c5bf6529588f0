//! Builds the application: database, HTTP server (bound before it runs, so tests can use
//! port 0) and the background tasks.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::session_store::DbSessionStore;

use crate::config::Config;
use crate::db::Db;
use crate::email::Mailer;
use crate::page_cache::{PageCache, PageCacheLayer};
use crate::{jobs, routes};

/// Shared by every handler.
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Pages rendered for anonymous readers.
    pub pages: Arc<PageCache>,
    /// The group-commit writer of comments and replies.
    pub posting: crate::services::posting::Poster,
}

/// The session cookie; a request without it is anonymous.
pub const SESSION_COOKIE: &str = "talqy_session";

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    mailer: Mailer,
    worker: bool,
    campaigns: CampaignRule,
    pages: Arc<PageCache>,
}

/// How long a stopping server waits for the job worker to finish the job in hand.
const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

impl Application {
    /// Connects to the database (applying migrations) and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let url = config.database.clone();
        let pool_size = config.pool_size;
        let db = tokio::task::spawn_blocking(move || Db::connect(&url, pool_size)).await??;
        Self::build_with_db(config, db, true)
    }

    /// Builds the server on an existing pool. `handle_signals` is off in tests, where many
    /// servers share one process.
    pub fn build_with_db(
        config: Config,
        db: Db,
        handle_signals: bool,
    ) -> anyhow::Result<Application> {
        let mailer = Mailer::from_config(&config)?;
        Self::build_with_mailer(config, db, handle_signals, mailer)
    }

    /// Like [`Application::build_with_db`], with a given mailer (tests inject a memory one
    /// or one that talks to a fake SMTP server).
    pub fn build_with_mailer(
        config: Config,
        db: Db,
        handle_signals: bool,
        mailer: Mailer,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        let port = listener.local_addr()?.port();
        let campaigns = CampaignRule {
            threshold: config.campaign_threshold,
            min_size: config.campaign_min_size,
        };
        let pages = Arc::new(PageCache::new(
            config.page_cache_ttl,
            config.page_cache_bytes,
        ));
        let state = web::Data::new(AppState {
            db: db.clone(),
            config: Arc::new(config),
            pages: pages.clone(),
            posting: crate::services::posting::Poster::new(db.clone()),
        });
        let secure = state.config.base_url.scheme() == "https";
        let key = Key::derive_from(state.config.secret_key.bytes());
        let idle = CookieDuration::minutes(state.config.session_idle_minutes);
        let store = DbSessionStore::new(db.clone());
        let max_body = state.config.max_body_bytes;
        let client_timeout = state.config.client_timeout;
        let cache = pages.clone();
        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(store.clone(), key.clone())
                .cookie_name(SESSION_COOKIE.into())
                .cookie_secure(secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .session_lifecycle(
                    PersistentSession::default()
                        .session_ttl(idle)
                        .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                )
                .build();
            App::new()
                .wrap(sessions)
                // Outside the sessions: a page served from memory costs no session lookup.
                .wrap(PageCacheLayer::new(cache.clone(), SESSION_COOKIE))
                .wrap(ErrorHandlers::new().default_handler(routes::errors::render_error_page))
                .wrap(
                    DefaultHeaders::new()
                        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "same-origin"))
                        .add(("X-Frame-Options", "DENY"))
                        .add((
                            "Permissions-Policy",
                            "camera=(), microphone=(), geolocation=()",
                        )),
                )
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(
                    web::FormConfig::default()
                        .limit(max_body)
                        .error_handler(routes::errors::form_error),
                )
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(routes::errors::json_error),
                )
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    actix_web::error::InternalError::from_response(
                        err,
                        actix_web::HttpResponse::NotFound().finish(),
                    )
                    .into()
                }))
                .configure(routes::configure)
                .default_service(web::to(|| async {
                    actix_web::HttpResponse::NotFound().finish()
                }))
        })
        .shutdown_timeout(10)
        // A client that is slow to send its request head is answered 408 and cut off; one
        // that does not close after the response is dropped a second later.
        .client_request_timeout(client_timeout)
        .client_disconnect_timeout(Duration::from_secs(1))
        .keep_alive(Duration::from_secs(5))
        .listen(listener)?;
        if !handle_signals {
            server = server.disable_signals();
        }
        Ok(Application {
            port,
            server: server.run(),
            db,
            mailer,
            worker: true,
            campaigns,
            pages,
        })
    }

    /// Whether `run_until_stopped` runs the job worker (on by default). Tests turn it off
    /// and run jobs explicitly.
    pub fn with_worker(mut self, enabled: bool) -> Application {
        self.worker = enabled;
        self
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The anonymous readers' page cache (tests empty it after changing data directly).
    pub fn pages(&self) -> Arc<PageCache> {
        self.pages.clone()
    }

    /// Serves until SIGINT or SIGTERM (actix-web drains open requests before returning),
    /// running the periodic tasks and the job worker alongside. On the way out the worker
    /// finishes the job in hand (up to 5 s; a job cut short runs again once its lease ends).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let ticker = tokio::spawn(periodic_tasks(
            self.db.clone(),
            self.pages.clone(),
            self.mailer.site().cloned(),
            self.campaigns,
        ));
        let (stop_worker, stopped) = tokio::sync::watch::channel(false);
        let worker = self.worker.then(|| {
            tokio::spawn(jobs::run_worker(
                self.db.clone(),
                self.mailer.clone(),
                stopped,
            ))
        });
        let result = self.server.await;
        ticker.abort();
        let _ = stop_worker.send(true);
        if let Some(worker) = worker {
            let abort = worker.abort_handle();
            if tokio::time::timeout(WORKER_STOP_TIMEOUT, worker)
                .await
                .is_err()
            {
                abort.abort();
                tracing::warn!("the job worker did not stop in time and was cancelled");
            }
        }
        tracing::info!("server stopped");
        result
    }
}

/// Work that runs every minute: closing consultation rounds that have ended, removing
/// expired sessions, round notices and email digests that are due, forgetting subscription
/// requests nobody confirmed.
async fn periodic_tasks(
    db: Db,
    pages: Arc<PageCache>,
    site: Option<crate::email::SiteLinks>,
    campaigns: CampaignRule,
) {
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    // The newest comment checked per draft; only this task uses it (the mutex lets the
    // blocking closure borrow it).
    let campaigns_seen = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    loop {
        interval.tick().await;
        if let Err(e) = db
            .run(|conn| {
                crate::auth::session_store::purge_expired(conn)
                    .map_err(crate::error::AppError::from)
            })
            .await
        {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        match db.run(crate::services::drafts::close_expired_rounds).await {
            Ok(0) => {}
            Ok(n) => {
                pages.invalidate();
                tracing::info!(closed = n, "closed consultation rounds that ended")
            }
            Err(e) => tracing::warn!(error = %e, "closing ended rounds failed"),
        }
        notification_tasks(&db, site.as_ref()).await;
        let seen = campaigns_seen.clone();
        let now = crate::domain::time::now();
        match db
            .run(move |conn| {
                let mut seen = seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                crate::services::notifications::check_campaigns(
                    conn,
                    campaigns.threshold,
                    campaigns.min_size,
                    &mut seen,
                    now,
                )
            })
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(notices = n, "told working groups of new campaigns"),
            Err(e) => tracing::warn!(error = %e, "campaign detection failed"),
        }
    }
}

/// The rule that groups comments into campaigns (from the configuration).
#[derive(Debug, Clone, Copy)]
struct CampaignRule {
    threshold: f64,
    min_size: usize,
}

async fn notification_tasks(db: &Db, site: Option<&crate::email::SiteLinks>) {
    use crate::services::{notifications, subscriptions};
    let now = crate::domain::time::now();
    match db
        .run(move |conn| notifications::check_rounds(conn, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(notices = n, "sent consultation round notices"),
        Err(e) => tracing::warn!(error = %e, "round notices failed"),
    }
    if let Some(site) = site.cloned() {
        match db
            .run(move |conn| notifications::build_due_digests(conn, &site, now))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(digests = n, "queued email digests"),
            Err(e) => tracing::warn!(error = %e, "building digests failed"),
        }
    }
    if let Err(e) = db
        .run(move |conn| subscriptions::purge_stale(conn, now))
        .await
    {
        tracing::warn!(error = %e, "purging unconfirmed subscriptions failed");
    }
}
