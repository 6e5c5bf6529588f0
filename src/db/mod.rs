//! Database access over SQLite (embedded default) and PostgreSQL (production), through one
//! diesel `MultiConnection`. Every dialect difference lives in [`dialect`].

pub mod dialect;
pub mod models;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};

/// One connection to either backend. Queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which backend a URL names; parsed once, so an unknown scheme can never fall through to
/// SQLite (which would accept any string as a file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        let raw = raw.trim();
        if let Some(rest) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite://data/talqy.db".into());
            }
            if rest.starts_with(":memory:") {
                return Err(
                    "an in-memory SQLite database would lose everything; give a file path".into(),
                );
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        let scheme = raw.split_once(':').map(|(s, _)| s).unwrap_or(raw);
        Err(format!(
            "unknown database URL scheme '{scheme}': use sqlite://PATH or postgres://…"
        ))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A form safe for logs: no password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => match url::Url::parse(u) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://…".into(),
            },
        }
    }
}

/// r2d2 manager that opens the variant the URL names and applies per-connection settings.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: DatabaseUrl,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        let mut conn = match &self.url {
            DatabaseUrl::Postgres(u) => DbConn::Postgres(
                diesel::PgConnection::establish(u).map_err(r2d2::Error::ConnectionError)?,
            ),
            DatabaseUrl::Sqlite(p) => DbConn::Sqlite(
                diesel::SqliteConnection::establish(&p.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?,
            ),
        };
        dialect::on_connect(&mut conn).map_err(r2d2::Error::QueryError)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// How long a request waits for a database connection before it is answered 503.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

pub type Pool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

/// Errors of the data layer, kept apart from domain errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Setup(String),
}

/// Shared handle to the pool. Blocking diesel work always runs on the blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
}

impl Db {
    /// Opens the pool (creating the SQLite folder when needed) and applies migrations.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Db, DbError> {
        if let DatabaseUrl::Sqlite(path) = url {
            dialect::prepare_sqlite_path(path).map_err(DbError::Setup)?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            // Short, so that while the database is away requests get a 503 page quickly
            // instead of queueing up behind a connection that cannot be made.
            .connection_timeout(CONNECTION_TIMEOUT)
            .build(DbManager { url: url.clone() })
            .map_err(|e| DbError::Setup(first_line(&e.to_string())))?;
        let db = Db {
            pool,
            backend: url.backend(),
        };
        let mut conn = db.conn()?;
        dialect::run_migrations(&mut conn).map_err(DbError::Setup)?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for synchronous callers (CLI, blocking closures).
    pub fn conn(&self) -> Result<PooledConn, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(first_line(&e.to_string())))
    }

    /// A connection, waiting up to `timeout` (longer than pages wait: a download).
    pub fn conn_within(&self, timeout: Duration) -> Result<PooledConn, DbError> {
        self.pool
            .get_timeout(timeout)
            .map_err(|e| DbError::Unavailable(first_line(&e.to_string())))
    }

    /// Runs `f` with a connection on the blocking pool, off the async executor.
    ///
    /// When the caller is gone by the time a worker and then a connection are free (a client
    /// that hung up dropped its request), `f` is not run: after a burst of requests, the
    /// backlog of abandoned ones would otherwise keep the pool busy for seconds while new
    /// requests wait for a connection and get 503.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            if tx.is_closed() {
                return;
            }
            let result = match db.conn() {
                Ok(_) if tx.is_closed() => return,
                Ok(mut conn) => f(&mut conn),
                Err(e) => Err(E::from(e)),
            };
            let _ = tx.send(result);
        });
        rx.await
            .unwrap_or_else(|_| Err(E::from(DbError::Setup("worker failed".into()))))
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
