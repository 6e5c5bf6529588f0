//! Group commit for comments and replies. A durable post costs one synchronous commit (an
//! fsync on SQLite, a WAL flush on PostgreSQL), and the record chain lets only one append at
//! a time, so posts written one transaction each are strictly sequential and bounded by the
//! disk. Here one writer thread per process takes every post waiting at that moment and
//! writes them in ONE write transaction: the hourly limits of the whole group are counted
//! first (one upsert per account and per address), then each post is written in a savepoint
//! of its own (so a refused post, say a closed round or a quotation not in the text, undoes
//! only itself), then all their record-chain entries are appended under one lock, and the
//! transaction commits once. Only then does every waiter get its own answer, so a receipt
//! still means the comment is on disk. The checks that only read (the form, links, the flood
//! of copies) run before, on the request's own connection, never in the writer.
//!
//! Across several instances nothing changes: each writer's transaction takes the SQLite
//! write lock or, on PostgreSQL, the chain's advisory lock, like any other writer.
//! PostgreSQL gets a few writers per process (see [`writers`]); their groups overlap except
//! for the chain append and the commit.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

use diesel::Connection;
use tokio::sync::oneshot;

use crate::db::dialect::{self, write_transaction};
use crate::db::models::UserRow;
use crate::db::{Backend, Db, DbConn};
use crate::error::AppError;
use crate::rate_limit;
use crate::services::chain;
use crate::services::comments::{self, BatchReads, Posted, Prepared, Target};

/// At most this many posts share one transaction (a bound on the savepoints and on the
/// time the first of them waits).
const MAX_GROUP: usize = 64;

/// Writers per process. SQLite has one write lock, so one. On PostgreSQL a post costs a
/// dozen round trips and only the chain append and the commit are serialised (the chain's
/// advisory lock is taken at the end of a group), so a few writers overlap their groups.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

/// One submission waiting for the writer.
pub struct PostRequest {
    pub author: UserRow,
    pub target: Target,
    /// The comment replied to, for a reply.
    pub parent_id: Option<i64>,
    /// The client address, for the per-address limit.
    pub ip: String,
    /// Comments allowed per hour per account and per address.
    pub limits: (i32, i32),
    /// The outcome of [`comments::prepare`]. A refused one still counts against the hourly
    /// limits (as every attempt always has), and a reached limit is told first.
    pub prepared: Result<Prepared, AppError>,
}

struct Job {
    request: PostRequest,
    reply: oneshot::Sender<Result<Posted, AppError>>,
}

/// The handle the handlers post through. Dropping it ends the writers and waits for them.
pub struct Poster {
    queue: Option<mpsc::Sender<Job>>,
    writers: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Poster {
    /// The writers hold the pool: they let go of it before the application is gone, rather
    /// than close database connections behind a process that is exiting.
    fn drop(&mut self) {
        self.queue.take();
        for w in self.writers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Poster {
    pub fn new(db: Db) -> Poster {
        let (queue, waiting) = mpsc::channel();
        let waiting = Arc::new(Mutex::new(waiting));
        let writers = (0..writers(db.backend()))
            .map(|n| {
                let (db, waiting) = (db.clone(), waiting.clone());
                std::thread::Builder::new()
                    .name(format!("talqy-posting-{n}"))
                    .spawn(move || writer(db, waiting))
                    .expect("the posting writer thread starts")
            })
            .collect();
        Poster {
            queue: Some(queue),
            writers,
        }
    }

    /// Writes the post with whatever else is waiting, and answers once it is committed.
    pub async fn submit(&self, request: PostRequest) -> Result<Posted, AppError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| AppError::Internal("the posting writer has stopped".into()))?
            .send(Job { request, reply })
            .map_err(|_| AppError::Internal("the posting writer has stopped".into()))?;
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::Internal("the posting writer stopped".into())))
    }
}

/// Takes the next group: the first post to come, and every other one already waiting.
fn next_group(waiting: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let waiting = waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let first = waiting.recv().ok()?;
    let mut jobs = vec![first];
    while jobs.len() < MAX_GROUP {
        match waiting.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}

fn writer(db: Db, waiting: Arc<Mutex<mpsc::Receiver<Job>>>) {
    while let Some(jobs) = next_group(&waiting) {
        tracing::debug!(posts = jobs.len(), "writing a group of posts");
        let (requests, replies): (Vec<PostRequest>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        // A bug in one post must not stop posting for the whole process.
        let outcomes = catch_unwind(AssertUnwindSafe(|| commit_group(&db, &requests)))
            .unwrap_or_else(|_| {
                tracing::error!("the posting writer panicked; its group was not committed");
                requests
                    .iter()
                    .map(|_| Err(AppError::Internal("posting failed".into())))
                    .collect()
            });
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // The client may have gone; its post stands all the same.
            let _ = reply.send(outcome);
        }
    }
}

/// Writes a group in one transaction; one outcome per request, in order. If the
/// transaction does not commit, every post that had succeeded gets the error instead.
fn commit_group(db: &Db, requests: &[PostRequest]) -> Vec<Result<Posted, AppError>> {
    let mut conn = match db.conn() {
        Ok(c) => c,
        Err(e) => {
            let e = AppError::from(e);
            return requests.iter().map(|_| Err(duplicate(&e))).collect();
        }
    };
    let mut outcomes: Vec<Option<Result<Posted, AppError>>> =
        requests.iter().map(|_| None).collect();
    // On PostgreSQL the limits are counted in a short transaction of their own, as before
    // group commit: their rows (one per address) would otherwise stay locked until the
    // group commits and make the writers wait for one another. Its commit need not wait
    // for the disk: the group's synchronous commit right after flushes the log up to it.
    // On SQLite, whose write lock is taken once anyway, they share the group's transaction.
    let mut refusals = if matches!(&*conn, DbConn::Postgres(_)) {
        match conn.transaction(|conn| {
            dialect::asynchronous_commit(conn)?;
            count_limits(conn, requests)
        }) {
            Ok(r) => Some(r),
            Err(e) => return requests.iter().map(|_| Err(duplicate(&e))).collect(),
        }
    } else {
        None
    };
    let committed = write_transaction(&mut conn, |conn| -> Result<(), AppError> {
        let refusals = match refusals.take() {
            Some(r) => r,
            None => count_limits(conn, requests)?,
        };
        let mut reads = BatchReads::default();
        let mut entries: Vec<(i64, String)> = Vec::new();
        let mut replies: Vec<i64> = Vec::new();
        for ((request, refusal), outcome) in requests.iter().zip(refusals).zip(&mut outcomes) {
            let result = match (refusal, &request.prepared) {
                (Some(limit), _) => Err(limit),
                (None, Err(e)) => Err(duplicate(e)),
                (None, Ok(prepared)) => comments::write(
                    conn,
                    &mut reads,
                    &request.author,
                    &request.target,
                    request.parent_id,
                    prepared,
                )
                .map(|written| {
                    entries.extend(written.chain);
                    replies.extend(written.counts_for);
                    written.posted
                }),
            };
            *outcome = Some(result);
        }
        let items: Vec<(&str, i64, &str)> = entries
            .iter()
            .map(|(id, hash)| (chain::COMMENT, *id, hash.as_str()))
            .collect();
        // Locks shared with other writers are taken last, in a fixed order (parents by id,
        // then the chain), and held only until the commit.
        comments::count_replies(conn, &replies)?;
        chain::append_many(conn, &items)?;
        Ok(())
    });
    outcomes
        .into_iter()
        .map(|outcome| match (&committed, outcome) {
            (Ok(()), Some(result)) => result,
            (Err(_), Some(Err(refused))) => Err(refused),
            (Err(e), _) => Err(duplicate(e)),
            (Ok(()), None) => Err(AppError::Internal("a post was skipped".into())),
        })
        .collect()
}

/// Counts every request of the group against the hourly limits of its account and then of
/// its address, as if each had called `rate_limit::hit` twice in turn: a request refused
/// by its account's limit is not counted against its address. Buckets are updated in a
/// fixed order, one upsert each. Returns the refusal of each request, if any.
fn count_limits(
    conn: &mut DbConn,
    requests: &[PostRequest],
) -> Result<Vec<Option<AppError>>, AppError> {
    let mut retry: Vec<Option<i64>> = vec![None; requests.len()];
    let mut by_account: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, r) in requests.iter().enumerate() {
        by_account.entry(r.author.id).or_default().push(i);
    }
    for (account, indexes) in by_account {
        let limit = rate_limit::comments_per_account(requests[indexes[0]].limits.0);
        let refused = rate_limit::hits(conn, limit, &account.to_string(), indexes.len())?;
        for (i, r) in indexes.into_iter().zip(refused) {
            retry[i] = r;
        }
    }
    let mut by_address: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in requests.iter().enumerate() {
        if retry[i].is_none() {
            by_address.entry(r.ip.as_str()).or_default().push(i);
        }
    }
    for (address, indexes) in by_address {
        let limit = rate_limit::comments_per_ip(requests[indexes[0]].limits.1);
        let refused = rate_limit::hits(conn, limit, address, indexes.len())?;
        for (i, r) in indexes.into_iter().zip(refused) {
            retry[i] = r;
        }
    }
    Ok(retry.into_iter().map(|r| r.map(limit_reached)).collect())
}

/// A limit reached is told next to the form, so the text typed is not lost.
fn limit_reached(retry_after_secs: i64) -> AppError {
    AppError::field(
        "body",
        format!(
            "You have posted as many comments as allowed in one hour. You can post again \
             in {} minutes; your text is kept below",
            (retry_after_secs + 59) / 60
        ),
    )
}

/// The same error again, for each waiter of a group that shares it.
fn duplicate(e: &AppError) -> AppError {
    match e {
        AppError::Validation(fields) => AppError::Validation(fields.clone()),
        AppError::NotFound => AppError::NotFound,
        AppError::BadRequest(m) => AppError::BadRequest(m.clone()),
        AppError::Forbidden(m) => AppError::Forbidden(m.clone()),
        AppError::SignInRequired { next } => AppError::SignInRequired { next: next.clone() },
        AppError::TooManyRequests { retry_after_secs } => AppError::TooManyRequests {
            retry_after_secs: *retry_after_secs,
        },
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        AppError::Internal(m) => AppError::Internal(m.clone()),
    }
}
