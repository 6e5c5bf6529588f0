//! The durable job queue: a row in `jobs` per piece of work that must happen after a change
//! commits (today: one email each).
//!
//! - [`enqueue`] is called inside the caller's write transaction, so a job exists exactly
//!   when the change that caused it committed.
//! - A worker [`claim`]s one due job at a time and holds a *lease* on it (`locked_by`,
//!   `locked_until`). It then calls [`complete`] or [`fail`]. A worker that dies leaves its
//!   lease to run out, and another worker takes the job again: delivery is at least once,
//!   and a job is only ever worked on by one worker at a time while its lease holds.
//! - A failed job is retried with exponential [`backoff`]; after `max_attempts` failures it
//!   is *parked* for an administrator, who can [`retry_parked`] it.
//!
//! Every function takes a connection and is blocking: call it through `Db::run`.

mod worker;

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::dialect::{self, write_transaction};
use crate::db::models::NewJobRow;
use crate::db::schema::jobs;
use crate::domain::time;

pub use crate::db::models::JobRow as Job;
pub use worker::{WORKER_POLL, run_pending, run_worker, worker_id};

/// How long a claimed job stays leased to its worker. Far longer than one delivery can take
/// (SMTP commands time out after 30 s), so a live worker never loses its lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 60);

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// `last_error` keeps at most this many characters.
const MAX_ERROR_CHARS: usize = 2000;

impl Job {
    pub fn payload_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_str(&self.payload)
    }
}

/// The wait before the next attempt once a job has failed `attempts` times (1, 2, …):
/// `base`, `2 × base`, `4 × base`, …, never more than [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 31) as u32;
    base.checked_mul(1u32 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Adds a job, due now. Call it inside the write transaction of the change that causes it.
pub fn enqueue(
    conn: &mut DbConn,
    kind: &str,
    payload: &serde_json::Value,
    max_attempts: i32,
) -> QueryResult<i64> {
    enqueue_at(conn, kind, payload, max_attempts, time::now())
}

/// Adds a job that is not due before `run_at` (a reminder before a deadline, say).
pub fn enqueue_at(
    conn: &mut DbConn,
    kind: &str,
    payload: &serde_json::Value,
    max_attempts: i32,
    run_at: NaiveDateTime,
) -> QueryResult<i64> {
    let payload = payload.to_string();
    diesel::insert_into(jobs::table)
        .values(NewJobRow {
            kind,
            payload: &payload,
            run_at,
            attempts: 0,
            max_attempts: max_attempts.max(1),
            created_at: time::now(),
        })
        .returning(jobs::id)
        .get_result(conn)
}

/// Takes the next due job (oldest `run_at` first) and leases it to `worker_id` for `lease`.
/// `None` when nothing is due. Concurrent claimers never get the same job while its lease
/// holds (see [`dialect::claim_job`]).
pub fn claim(conn: &mut DbConn, worker_id: &str, lease: Duration) -> QueryResult<Option<Job>> {
    let now = time::now();
    dialect::claim_job(conn, worker_id, now, now + chrono_duration(lease))
}

/// Marks a job done and releases its lease, if `worker_id` still holds it. `false` when it
/// does not (the lease ran out and another worker took the job).
pub fn complete(conn: &mut DbConn, job_id: i64, worker_id: &str) -> QueryResult<bool> {
    let now = time::now();
    let n = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::locked_by.eq(worker_id))
            .filter(jobs::done_at.is_null()),
    )
    .set((
        jobs::done_at.eq(now),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Like [`complete`], and replaces the payload in the same statement: an email's body may
/// hold single-use links, which must not outlive the delivery.
pub fn complete_with_payload(
    conn: &mut DbConn,
    job_id: i64,
    worker_id: &str,
    payload: &serde_json::Value,
) -> QueryResult<bool> {
    let now = time::now();
    let n = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::locked_by.eq(worker_id))
            .filter(jobs::done_at.is_null()),
    )
    .set((
        jobs::done_at.eq(now),
        jobs::payload.eq(payload.to_string()),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// What [`fail`] did with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOutcome {
    /// It will be tried again at `run_at`.
    Retry {
        attempts: i32,
        run_at: NaiveDateTime,
    },
    /// It reached its maximum number of attempts and waits for an administrator.
    Parked { attempts: i32 },
    /// `worker_id` no longer held the job; nothing was changed.
    LeaseLost,
}

fn truncate_error(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Records a failed attempt: `attempts + 1`, `last_error`, the lease released, and either a
/// later `run_at` (see [`backoff`]) or, once `max_attempts` is reached, `parked_at`.
pub fn fail(
    conn: &mut DbConn,
    job_id: i64,
    worker_id: &str,
    error: &str,
    retry_base: Duration,
) -> QueryResult<FailOutcome> {
    let error = truncate_error(error);
    write_transaction(conn, |conn| {
        let row = jobs::table
            .find(job_id)
            .filter(jobs::locked_by.eq(worker_id))
            .filter(jobs::done_at.is_null())
            .select((jobs::attempts, jobs::max_attempts))
            .first::<(i32, i32)>(conn)
            .optional()?;
        let Some((attempts, max_attempts)) = row else {
            return Ok(FailOutcome::LeaseLost);
        };
        let attempts = attempts.saturating_add(1);
        let now = time::now();
        // The lease is checked again: on PostgreSQL another worker could have taken the job
        // between the read above and this write, had the lease just run out.
        let target = jobs::table
            .find(job_id)
            .filter(jobs::locked_by.eq(worker_id));
        let unlock = (
            jobs::attempts.eq(attempts),
            jobs::last_error.eq(Some(error.as_str())),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<NaiveDateTime>),
        );
        if attempts >= max_attempts {
            let n = diesel::update(target)
                .set((unlock, jobs::parked_at.eq(Some(now))))
                .execute(conn)?;
            Ok(if n == 1 {
                FailOutcome::Parked { attempts }
            } else {
                FailOutcome::LeaseLost
            })
        } else {
            let run_at = now + chrono_duration(backoff(retry_base, attempts));
            let n = diesel::update(target)
                .set((unlock, jobs::run_at.eq(run_at)))
                .execute(conn)?;
            Ok(if n == 1 {
                FailOutcome::Retry { attempts, run_at }
            } else {
                FailOutcome::LeaseLost
            })
        }
    })
}

/// Parks a job at once: for failures that no retry can cure (a payload that cannot be read,
/// an invalid address). Counts as an attempt. `false` if `worker_id` no longer held it.
pub fn park(conn: &mut DbConn, job_id: i64, worker_id: &str, error: &str) -> QueryResult<bool> {
    let now = time::now();
    let n = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::locked_by.eq(worker_id))
            .filter(jobs::done_at.is_null()),
    )
    .set((
        jobs::attempts.eq(jobs::attempts + 1),
        jobs::last_error.eq(Some(truncate_error(error))),
        jobs::parked_at.eq(Some(now)),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Parked jobs, most recently parked first (for the admin page).
pub fn parked(conn: &mut DbConn) -> QueryResult<Vec<Job>> {
    jobs::table
        .select(Job::as_select())
        .filter(jobs::parked_at.is_not_null())
        .filter(jobs::done_at.is_null())
        .order((jobs::parked_at.desc(), jobs::id.desc()))
        .load(conn)
}

/// Puts a parked job back in the queue, due now, with its attempts counted from zero again
/// (`last_error` is kept until the next attempt). `false` if it was not parked.
pub fn retry_parked(conn: &mut DbConn, job_id: i64) -> QueryResult<bool> {
    let n = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::parked_at.is_not_null())
            .filter(jobs::done_at.is_null()),
    )
    .set((
        jobs::parked_at.eq(None::<NaiveDateTime>),
        jobs::attempts.eq(0),
        jobs::run_at.eq(time::now()),
        jobs::locked_by.eq(None::<String>),
        jobs::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Jobs neither done nor parked: due now, scheduled for later, or being worked on.
pub fn pending_count(conn: &mut DbConn) -> QueryResult<i64> {
    jobs::table
        .filter(jobs::done_at.is_null())
        .filter(jobs::parked_at.is_null())
        .count()
        .get_result(conn)
}

/// One job by id.
pub fn find(conn: &mut DbConn, job_id: i64) -> QueryResult<Option<Job>> {
    jobs::table
        .find(job_id)
        .select(Job::as_select())
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base() {
        let base = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=7).map(|n| backoff(base, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920]);
    }

    #[test]
    fn backoff_is_capped_at_one_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 8), MAX_BACKOFF);
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
        assert_eq!(backoff(base, i32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(7200), 1), MAX_BACKOFF);
    }

    #[test]
    fn backoff_never_goes_below_the_base() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, -3), base);
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
    }

    #[test]
    fn long_errors_are_truncated_on_a_character_boundary() {
        let long = "ошибка ".repeat(1000);
        let kept = truncate_error(&long);
        assert_eq!(kept.chars().count(), MAX_ERROR_CHARS);
    }
}
