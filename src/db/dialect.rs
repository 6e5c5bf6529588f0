//! Every difference between SQLite and PostgreSQL lives here: connection settings,
//! migrations, write transactions and catalogue queries.

use std::path::Path;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Per-connection settings. SQLite: WAL for concurrent readers, foreign keys enforced, a busy
/// timeout instead of immediate `SQLITE_BUSY`, and `synchronous=FULL` because a receipt
/// promises that the comment is on disk.
pub fn on_connect(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("PRAGMA busy_timeout = 10000").execute(c)?;
            diesel::sql_query("PRAGMA journal_mode = WAL").execute(c)?;
            diesel::sql_query("PRAGMA synchronous = FULL").execute(c)?;
            diesel::sql_query("PRAGMA foreign_keys = ON").execute(c)?;
            talqy_fold_utils::register_impl(c, |s: String| s.to_lowercase())?;
            Ok(())
        }
        DbConn::Postgres(c) => {
            diesel::sql_query("SET TIME ZONE 'UTC'").execute(c)?;
            Ok(())
        }
    }
}

diesel::define_sql_function! {
    /// Unicode lower-casing on SQLite, whose built-in `lower()` and `LIKE` fold ASCII only
    /// (registered on every SQLite connection in [`on_connect`]).
    fn talqy_fold(x: Text) -> Text;
}

/// The SQL condition "`column` contains `needle`, ignoring case" (Cyrillic and other
/// scripts too): `ILIKE` on PostgreSQL, the registered `talqy_fold` on SQLite. `column` is
/// a trusted, qualified column name; `needle` is bound, with LIKE wildcards escaped.
pub fn contains_ignoring_case(
    conn: &DbConn,
    column: &'static str,
    needle: &str,
) -> diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<diesel::sql_types::Bool>,
        diesel::dsl::AsExprOf<String, Text>,
    >,
> {
    let mut pattern = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let before = match conn {
        DbConn::Postgres(_) => format!("{column} ILIKE "),
        DbConn::Sqlite(_) => format!("talqy_fold({column}) LIKE "),
    };
    diesel::dsl::sql::<diesel::sql_types::Bool>(&before)
        .bind::<Text, _>(pattern)
        .sql(" ESCAPE '\\'")
}

/// Creates the folder of a SQLite file and checks that it can be written, so that a bad path
/// stops start-up with one clear line instead of a later I/O error.
pub fn prepare_sqlite_path(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create folder {}: {e}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

pub fn run_migrations(conn: &mut DbConn) -> Result<(), String> {
    let result = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConn::Postgres(c) => {
            // Several instances may start at once: one migrates, the others wait.
            diesel::sql_query("SELECT pg_advisory_lock(7346121001)")
                .execute(c)
                .map_err(|e| format!("migrations failed: {e}"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            let _ = diesel::sql_query("SELECT pg_advisory_unlock(7346121001)").execute(c);
            result
        }
    };
    result.map_err(|e| format!("migrations failed: {e}"))
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock
/// up front so that two writers never deadlock upgrading read locks; the busy timeout then
/// queues them. PostgreSQL uses an ordinary transaction. Called inside another transaction
/// (a service step wrapped together with its audit record), it becomes a savepoint of it.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = matches!(conn, DbConn::Sqlite(_)) && in_sqlite_transaction(conn)?;
    match conn {
        DbConn::Postgres(_) => conn.transaction(f),
        DbConn::Sqlite(_) if nested => conn.transaction(f),
        DbConn::Sqlite(_) => {
            with_sqlite(conn, |c| {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
            })?;
            match f(conn) {
                Ok(value) => {
                    with_sqlite(conn, AnsiTransactionManager::commit_transaction)?;
                    Ok(value)
                }
                Err(e) => {
                    with_sqlite(conn, AnsiTransactionManager::rollback_transaction)?;
                    Err(e)
                }
            }
        }
    }
}

fn in_sqlite_transaction(conn: &mut DbConn) -> QueryResult<bool> {
    with_sqlite(conn, |c| {
        Ok(AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_some())
    })
}

fn with_sqlite<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut diesel::SqliteConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    match conn {
        DbConn::Sqlite(c) => f(c),
        DbConn::Postgres(_) => unreachable!("with_sqlite called on PostgreSQL"),
    }
}

/// Multi-row insert: diesel's batch insert is not available on the multi-backend
/// connection, so it is issued on the concrete one.
pub fn insert_provisions(
    conn: &mut DbConn,
    rows: &[super::models::NewProvisionRow<'_>],
) -> QueryResult<usize> {
    use super::schema::provisions;
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(provisions::table)
            .values(rows)
            .execute(c),
        DbConn::Postgres(c) => diesel::insert_into(provisions::table)
            .values(rows)
            .execute(c),
    }
}

/// Multi-row insert of record-chain entries (see [`insert_provisions`] for why on the
/// concrete connection).
pub fn insert_chain_entries(
    conn: &mut DbConn,
    rows: &[crate::services::chain::NewEntry<'_>],
) -> QueryResult<usize> {
    use super::schema::record_chain;
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(record_chain::table)
            .values(rows)
            .execute(c),
        DbConn::Postgres(c) => diesel::insert_into(record_chain::table)
            .values(rows)
            .execute(c),
    }
}

/// Leases the next due job of the queue to `worker_id` until `locked_until`, or returns
/// `None` when nothing is due. A job is due when it is neither done nor parked, its `run_at`
/// has come, and it is not leased (or its lease ran out: its worker died).
///
/// PostgreSQL: one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so
/// concurrent workers on any number of instances each take a different row without waiting
/// for one another. SQLite: a cheap read first (so an idle worker never takes the write
/// lock), then select and update inside `BEGIN IMMEDIATE`, which serializes claimers.
pub fn claim_job(
    conn: &mut DbConn,
    worker_id: &str,
    now: chrono::NaiveDateTime,
    locked_until: chrono::NaiveDateTime,
) -> QueryResult<Option<super::models::JobRow>> {
    use super::models::JobRow;
    use super::schema::jobs;
    match conn {
        DbConn::Postgres(c) => diesel::sql_query(
            "UPDATE jobs SET locked_by = $1, locked_until = $2 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE done_at IS NULL AND parked_at IS NULL AND run_at <= $3 \
                 AND (locked_until IS NULL OR locked_until < $3) \
                 ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, run_at, attempts, max_attempts, last_error, \
                 locked_by, locked_until, done_at, parked_at, created_at",
        )
        .bind::<Text, _>(worker_id)
        .bind::<Timestamp, _>(locked_until)
        .bind::<Timestamp, _>(now)
        .get_result::<JobRow>(c)
        .optional(),
        DbConn::Sqlite(_) => {
            let any_due = jobs::table
                .select(jobs::id)
                .filter(jobs::done_at.is_null())
                .filter(jobs::parked_at.is_null())
                .filter(jobs::run_at.le(now))
                .filter(jobs::locked_until.is_null().or(jobs::locked_until.lt(now)))
                .first::<i64>(conn)
                .optional()?;
            if any_due.is_none() {
                return Ok(None);
            }
            write_transaction(conn, |conn| {
                let job = jobs::table
                    .select(JobRow::as_select())
                    .filter(jobs::done_at.is_null())
                    .filter(jobs::parked_at.is_null())
                    .filter(jobs::run_at.le(now))
                    .filter(jobs::locked_until.is_null().or(jobs::locked_until.lt(now)))
                    .order((jobs::run_at, jobs::id))
                    .first(conn)
                    .optional()?;
                let Some(mut job) = job else {
                    return Ok(None);
                };
                diesel::update(jobs::table.find(job.id))
                    .set((
                        jobs::locked_by.eq(worker_id),
                        jobs::locked_until.eq(locked_until),
                    ))
                    .execute(conn)?;
                job.locked_by = Some(worker_id.to_string());
                job.locked_until = Some(locked_until);
                Ok(Some(job))
            })
        }
    }
}

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    hits: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    window_start: chrono::NaiveDateTime,
}

/// Adds `n` hits to a rate-limit bucket at once (one request, or the posts of one group
/// commit from the same account or address), starting a new window when the current one
/// began before `window_floor`; returns the hits in the window after them and its start. One
/// atomic upsert.
pub fn count_hits(
    conn: &mut DbConn,
    bucket: &str,
    now: chrono::NaiveDateTime,
    window_floor: chrono::NaiveDateTime,
    n: i32,
) -> QueryResult<(i32, chrono::NaiveDateTime)> {
    use diesel::sql_types::{Integer, Text as T, Timestamp as Ts};
    const UPSERT: &str = "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ({1}, {2}, {4}) \
         ON CONFLICT (bucket) DO UPDATE SET \
         hits = CASE WHEN rate_limits.window_start <= {3} THEN {4} ELSE rate_limits.hits + {4} END, \
         window_start = CASE WHEN rate_limits.window_start <= {3} THEN {2} ELSE rate_limits.window_start END \
         RETURNING hits, window_start";
    let postgres = matches!(conn, DbConn::Postgres(_));
    let query = diesel::sql_query(numbered(UPSERT, postgres))
        .bind::<T, _>(bucket)
        .bind::<Ts, _>(now)
        .bind::<Ts, _>(window_floor)
        .bind::<Integer, _>(n);
    let row: HitRow = match conn {
        DbConn::Sqlite(c) => query.get_result(c)?,
        DbConn::Postgres(c) => query.get_result(c)?,
    };
    Ok((row.hits, row.window_start))
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Application tables and their columns, sorted; used by the schema parity test and
/// `talqy migrate --status`.
pub fn table_columns(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<ColumnRow> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations' ORDER BY 1, 2",
        )
        .load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '__diesel_schema_migrations' ORDER BY 1, 2",
        )
        .load(c)?,
    };
    let mut out: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r.table_name, r.column_name))
        .collect();
    out.sort();
    Ok(out)
}

/// Applied migration versions, sorted.
pub fn applied_migrations(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let rows: Vec<NameRow> = diesel::sql_query(
        "SELECT version AS name FROM __diesel_schema_migrations ORDER BY version",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Index names, sorted (per backend names are kept identical by convention).
pub fn index_names(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let rows: Vec<NameRow> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY indexname",
        )
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.name).collect())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// `{1}`, `{2}`, … become the backend's numbered placeholders (`?1` or `$1`).
fn numbered(sql: &str, postgres: bool) -> String {
    let mut out = sql.to_string();
    for n in (1..=9).rev() {
        let mark = if postgres { "$" } else { "?" };
        out = out.replace(&format!("{{{n}}}"), &format!("{mark}{n}"));
    }
    out
}

/// Runs an `INSERT … ON CONFLICT DO NOTHING RETURNING id` built by `query` (given the SQL
/// with the backend's placeholders): the new row's id, or `None` when the row already
/// existed. On PostgreSQL a concurrent insert of the same key waits for the other
/// transaction and then does nothing, so exactly one of several claimers gets an id.
macro_rules! insert_once {
    ($conn:expr, $sql:expr, |$q:ident| $binds:expr) => {{
        let conn: &mut DbConn = $conn;
        let postgres = matches!(conn, DbConn::Postgres(_));
        let $q = diesel::sql_query(numbered($sql, postgres));
        let query = $binds;
        let rows: Vec<IdRow> = match conn {
            DbConn::Sqlite(c) => query.load(c)?,
            DbConn::Postgres(c) => query.load(c)?,
        };
        Ok(rows.into_iter().next().map(|r| r.id))
    }};
}

/// Adds a subscriber for `email` unless one exists (then `None`).
pub fn insert_subscriber_if_absent(
    conn: &mut DbConn,
    email: &str,
    user_id: Option<i64>,
    confirmed_at: Option<chrono::NaiveDateTime>,
    manage_token_hash: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<Option<i64>> {
    use diesel::sql_types::{BigInt, Nullable};
    insert_once!(
        conn,
        "INSERT INTO subscribers (email, user_id, confirmed_at, manage_token_hash, created_at) \
         VALUES ({1}, {2}, {3}, {4}, {5}) ON CONFLICT (email) DO NOTHING RETURNING id",
        |q| q
            .bind::<Text, _>(email)
            .bind::<Nullable<BigInt>, _>(user_id)
            .bind::<Nullable<Timestamp>, _>(confirmed_at)
            .bind::<Text, _>(manage_token_hash)
            .bind::<Timestamp, _>(now)
    )
}

/// Adds a subscription unless the subscriber already has one of this kind and target.
pub fn insert_subscription_if_absent(
    conn: &mut DbConn,
    subscriber_id: i64,
    kind: &str,
    target: &str,
    frequency: &str,
    confirmed_at: Option<chrono::NaiveDateTime>,
    now: chrono::NaiveDateTime,
) -> QueryResult<Option<i64>> {
    use diesel::sql_types::{BigInt, Nullable};
    insert_once!(
        conn,
        "INSERT INTO subscriptions (subscriber_id, kind, target, frequency, confirmed_at, created_at) \
         VALUES ({1}, {2}, {3}, {4}, {5}, {6}) \
         ON CONFLICT (subscriber_id, kind, target) DO NOTHING RETURNING id",
        |q| q
            .bind::<BigInt, _>(subscriber_id)
            .bind::<Text, _>(kind)
            .bind::<Text, _>(target)
            .bind::<Text, _>(frequency)
            .bind::<Nullable<Timestamp>, _>(confirmed_at)
            .bind::<Timestamp, _>(now)
    )
}

/// Claims the digest of one subscriber for one period: the run's id, or `None` when that
/// digest was already claimed (by this or another instance, now or before a restart).
pub fn claim_digest_run(
    conn: &mut DbConn,
    subscriber_id: i64,
    period_kind: &str,
    period_start: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
) -> QueryResult<Option<i64>> {
    use diesel::sql_types::BigInt;
    insert_once!(
        conn,
        "INSERT INTO digest_runs (subscriber_id, period_kind, period_start, sent_at) \
         VALUES ({1}, {2}, {3}, {4}) \
         ON CONFLICT (subscriber_id, period_kind, period_start) DO NOTHING RETURNING id",
        |q| q
            .bind::<BigInt, _>(subscriber_id)
            .bind::<Text, _>(period_kind)
            .bind::<Timestamp, _>(period_start)
            .bind::<Timestamp, _>(now)
    )
}

/// Claims a notice about a consultation round (`opened`, `closing_soon`): `true` for the
/// one caller that records it first.
pub fn claim_round_notice(
    conn: &mut DbConn,
    round_id: i64,
    kind: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    use diesel::sql_types::BigInt;
    let id: QueryResult<Option<i64>> = insert_once!(
        conn,
        "INSERT INTO round_notices (round_id, kind, created_at) VALUES ({1}, {2}, {3}) \
         ON CONFLICT (round_id, kind) DO NOTHING RETURNING id",
        |q| q
            .bind::<BigInt, _>(round_id)
            .bind::<Text, _>(kind)
            .bind::<Timestamp, _>(now)
    );
    Ok(id?.is_some())
}

/// Lets the current transaction commit without waiting for the disk, where the backend can
/// do that per transaction (PostgreSQL: `synchronous_commit = off` for this transaction
/// only). For bookkeeping that a later synchronous commit on the same server flushes
/// anyway (the log is written in order); SQLite has no such setting and stays synchronous.
pub fn asynchronous_commit(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query("SET LOCAL synchronous_commit = off").execute(c)?;
        }
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// Serialises appends to the public record chain within the caller's write transaction.
/// PostgreSQL takes a transaction-scoped advisory lock; SQLite's `BEGIN IMMEDIATE` already
/// holds the only write lock.
pub fn lock_record_chain(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock(727207)").execute(c)?;
        }
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}
