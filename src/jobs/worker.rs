//! The worker: claims due jobs one at a time and carries them out. Sending is async; every
//! database call goes through `Db::run` (the blocking pool).

use std::time::Duration;

use tokio::sync::watch;

use super::{DEFAULT_LEASE, FailOutcome, Job};
use crate::db::{Db, DbError};
use crate::email::{self, EmailMessage, Mailer};

/// How often an idle worker looks for due jobs.
pub const WORKER_POLL: Duration = Duration::from_secs(1);

/// The longest an idle worker waits while the database is unreachable.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);

/// A name for this process's worker, unique across instances: the host (when the
/// environment tells it), the process id and a random suffix.
pub fn worker_id() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let host = if host.is_empty() { "talqy" } else { &host };
    format!("{host}:{}:{}", std::process::id(), &suffix[..8])
}

/// What became of one job.
enum Outcome {
    /// Done; the payload is replaced by this one when given.
    Done(Option<serde_json::Value>),
    /// Try again later.
    Failed(String),
    /// No retry can cure it: park it now.
    Permanent(String),
}

/// Claims and carries out due jobs until none is due. Returns how many jobs were processed
/// (sent or failed). Jobs that fail are scheduled again with backoff, so they are not due
/// again within this call unless the retry base is zero.
pub async fn run_pending(db: &Db, mailer: &Mailer, worker_id: &str) -> usize {
    match run_batch(db, mailer, worker_id, || false).await {
        Ok(n) | Err(n) => n,
    }
}

/// Like [`run_pending`], but stops early when `stop` says so, and reports a database error
/// as `Err(processed so far)`.
async fn run_batch(
    db: &Db,
    mailer: &Mailer,
    worker_id: &str,
    stop: impl Fn() -> bool,
) -> Result<usize, usize> {
    let mut processed = 0;
    while !stop() {
        let id = worker_id.to_string();
        let claimed = db
            .run(move |conn| super::claim(conn, &id, DEFAULT_LEASE).map_err(DbError::from))
            .await;
        let job = match claimed {
            Ok(Some(job)) => job,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                return Err(processed);
            }
        };
        process(db, mailer, worker_id, job).await;
        processed += 1;
    }
    Ok(processed)
}

async fn process(db: &Db, mailer: &Mailer, worker_id: &str, job: Job) {
    let job_id = job.id;
    let attempt = job.attempts + 1;
    let outcome = match job.kind.as_str() {
        email::JOB_KIND => deliver_email(mailer, &job).await,
        crate::services::notifications::JOB_KIND => notify(db, mailer, &job).await,
        crate::services::moderation::JOB_KIND | crate::services::moderation::OUTCOME_JOB_KIND => {
            moderation_mail(db, mailer, &job).await
        }
        other => Outcome::Failed(format!("no handler for job kind '{other}'")),
    };
    match outcome {
        Outcome::Done(payload) => {
            // The work is done: recording it matters (or it would be done twice once the
            // lease runs out), so a failed write is tried again a few times.
            for pause in [0u64, 200, 1000, 5000] {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let id = worker_id.to_string();
                let payload = payload.clone();
                let result = db
                    .run(move |conn| {
                        match &payload {
                            Some(p) => super::complete_with_payload(conn, job_id, &id, p),
                            None => super::complete(conn, job_id, &id),
                        }
                        .map_err(DbError::from)
                    })
                    .await;
                match result {
                    Ok(true) => {
                        tracing::info!(job = job_id, kind = %job.kind, attempt, "job done");
                        return;
                    }
                    Ok(false) => {
                        tracing::warn!(
                            job = job_id,
                            kind = %job.kind,
                            "job done, but its lease had run out and another worker took it"
                        );
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(job = job_id, error = %e, "recording a done job failed");
                    }
                }
            }
            tracing::error!(
                job = job_id,
                "a done job could not be recorded; it will run again when its lease ends"
            );
        }
        Outcome::Failed(error) => {
            let id = worker_id.to_string();
            let retry_base = mailer.retry_base();
            let message = error.clone();
            let result = db
                .run(move |conn| {
                    super::fail(conn, job_id, &id, &message, retry_base).map_err(DbError::from)
                })
                .await;
            match result {
                Ok(FailOutcome::Retry { attempts, run_at }) => tracing::warn!(
                    job = job_id,
                    kind = %job.kind,
                    attempts,
                    retry_at = %crate::domain::time::machine(run_at),
                    error = %error,
                    "job failed; it will be tried again"
                ),
                Ok(FailOutcome::Parked { attempts }) => tracing::error!(
                    job = job_id,
                    kind = %job.kind,
                    attempts,
                    error = %error,
                    "job failed too often and is parked for an administrator"
                ),
                Ok(FailOutcome::LeaseLost) => tracing::warn!(
                    job = job_id,
                    error = %error,
                    "job failed after its lease had run out"
                ),
                Err(e) => tracing::warn!(
                    job = job_id,
                    error = %e,
                    "recording a failed job failed; it runs again when its lease ends"
                ),
            }
        }
        Outcome::Permanent(error) => {
            let id = worker_id.to_string();
            let message = error.clone();
            let result = db
                .run(move |conn| super::park(conn, job_id, &id, &message).map_err(DbError::from))
                .await;
            match result {
                Ok(_) => tracing::error!(
                    job = job_id,
                    kind = %job.kind,
                    error = %error,
                    "job cannot succeed and is parked for an administrator"
                ),
                Err(e) => tracing::warn!(job = job_id, error = %e, "parking a job failed"),
            }
        }
    }
}

async fn deliver_email(mailer: &Mailer, job: &Job) -> Outcome {
    // Never log the payload or the error's source text of a payload: bodies hold tokens.
    let message: EmailMessage = match serde_json::from_str(&job.payload) {
        Ok(m) => m,
        Err(e) => {
            return Outcome::Permanent(format!(
                "the payload is not an email (line {}, column {})",
                e.line(),
                e.column()
            ));
        }
    };
    match mailer.send(&message).await {
        Ok(()) => Outcome::Done(Some(message.scrubbed_payload())),
        Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// A `notify` job: composes the immediate notifications it names and queues them as emails
/// (the rows are marked in the same transaction, so a repeated job queues nothing twice).
async fn notify(db: &Db, mailer: &Mailer, job: &Job) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Payload {
        events: Vec<i64>,
    }
    let Some(site) = mailer.site().cloned() else {
        return Outcome::Failed("the mailer has no site links to compose notifications".into());
    };
    let ids = match serde_json::from_str::<Payload>(&job.payload) {
        Ok(p) => p.events,
        Err(e) => return Outcome::Permanent(format!("the payload is not a notification: {e}")),
    };
    let result = db
        .run(move |conn| crate::services::notifications::dispatch(conn, &site, &ids))
        .await;
    match result {
        Ok(_) => Outcome::Done(None),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// A `moderation_alert` job (`comment_id`: tells the draft's moderators that a comment waits,
/// if it still does when the job runs) or a `moderation_outcome` job (`action_id`: tells the
/// author what the moderators did).
async fn moderation_mail(db: &Db, mailer: &Mailer, job: &Job) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Payload {
        comment_id: Option<i64>,
        action_id: Option<i64>,
    }
    let Some(site) = mailer.site().cloned() else {
        return Outcome::Failed("the mailer has no site links to compose the message".into());
    };
    let payload = match serde_json::from_str::<Payload>(&job.payload) {
        Ok(p) if p.comment_id.is_some() || p.action_id.is_some() => p,
        Ok(_) => return Outcome::Permanent("the payload names no comment or action".into()),
        Err(e) => return Outcome::Permanent(format!("the payload is not readable: {e}")),
    };
    let result = db
        .run(move |conn| match (payload.action_id, payload.comment_id) {
            (Some(action), _) => crate::services::moderation::send_outcome(conn, &site, action),
            (None, Some(comment)) => crate::services::moderation::send_alert(conn, &site, comment),
            (None, None) => Ok(0),
        })
        .await;
    match result {
        Ok(_) => Outcome::Done(None),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Runs due jobs until `shutdown` turns true (or its sender is dropped): looks for work every
/// [`WORKER_POLL`], and waits longer, up to 30 s, while the database is unreachable. The job
/// in hand is finished before it stops.
pub async fn run_worker(db: Db, mailer: Mailer, mut shutdown: watch::Receiver<bool>) {
    let id = worker_id();
    tracing::info!(worker = %id, "job worker started");
    let mut pause = WORKER_POLL;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let stop = shutdown.clone();
        pause = match run_batch(&db, &mailer, &id, || *stop.borrow()).await {
            Ok(_) => WORKER_POLL,
            Err(_) => (pause * 2).min(MAX_ERROR_PAUSE),
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(worker = %id, "job worker stopped");
}
