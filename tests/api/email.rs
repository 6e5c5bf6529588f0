//! The email queue end to end: a message is a job committed with the change that caused it,
//! sent by the worker through a real transport, retried with backoff when the relay refuses,
//! parked after too many failures, and never sent twice by two workers on one database.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use talqy::config::{MailTransport, SmtpTls};
use talqy::db::dialect::write_transaction;
use talqy::db::schema::{audit_log, jobs as jobs_table};
use talqy::db::{Db, DbConn};
use talqy::domain::time;
use talqy::email::{self, EmailMessage, Mailer};
use talqy::jobs::{self, FailOutcome};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, TestDatabase, spawn_app_with, test_config};

fn message(to: &str, subject: &str) -> EmailMessage {
    EmailMessage {
        to: to.into(),
        subject: subject.into(),
        text: format!("{subject}\n\nConfirm: https://talqy.test/confirm/SECRET-TOKEN"),
        html: format!(
            "<p>{subject}</p><p><a href=\"https://talqy.test/confirm/SECRET-TOKEN\">Confirm</a></p>"
        ),
        headers: Vec::new(),
    }
}

fn enqueue(conn: &mut DbConn, m: &EmailMessage) -> i64 {
    write_transaction(conn, |c| email::enqueue_email(c, m)).unwrap()
}

fn job(app: &TestApp, id: i64) -> jobs::Job {
    jobs::find(&mut app.conn(), id)
        .unwrap()
        .expect("job exists")
}

fn set_run_at(app: &TestApp, id: i64, at: NaiveDateTime) {
    diesel::update(jobs_table::table.find(id))
        .set(jobs_table::run_at.eq(at))
        .execute(&mut *app.conn())
        .unwrap();
}

fn audit_rows(conn: &mut DbConn, subject: &str) -> i64 {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .count()
        .get_result(conn)
        .unwrap()
}

fn record_change(conn: &mut DbConn, subject: &str) -> QueryResult<usize> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::action.eq("test.change"),
            audit_log::subject.eq(subject),
            audit_log::detail.eq(""),
            audit_log::created_at.eq(time::now()),
        ))
        .execute(conn)
}

#[tokio::test]
async fn an_email_is_sent_exactly_when_its_transaction_commits() {
    let app = spawn_app_with(|c| {
        c.mail.from = "Talqy Secretariat <no-reply@talqy.test>".parse().unwrap();
        c.mail.reply_to = Some("Working group <wg@talqy.test>".parse().unwrap());
    })
    .await;
    let conn: &mut DbConn = &mut app.conn();

    // The change and its email roll back together.
    let rolled_back: Result<(), diesel::result::Error> = write_transaction(conn, |c| {
        record_change(c, "draft:rolled-back")?;
        email::enqueue_email(c, &message("gulnara@example.org", "Rolled back"))?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    assert_eq!(audit_rows(conn, "draft:rolled-back"), 0);
    assert_eq!(jobs::pending_count(conn).unwrap(), 0);

    // The change and its email commit together.
    let id = write_transaction(conn, |c| {
        record_change(c, "draft:committed")?;
        email::enqueue_email(c, &message("Daniyar <daniyar@example.org>", "Committed"))
    })
    .unwrap();
    assert_eq!(audit_rows(conn, "draft:committed"), 1);
    assert_eq!(jobs::pending_count(conn).unwrap(), 1);
    let queued = job(&app, id);
    assert_eq!(queued.kind, "email");
    assert_eq!(queued.max_attempts, 8, "mail_max_attempts by default");
    assert!(
        app.emails().is_empty(),
        "nothing is sent before the worker runs"
    );

    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(app.run_pending_jobs().await, 0);
    let sent = app.emails();
    assert_eq!(sent.len(), 1, "sent once: {sent:?}");
    let m = &sent[0];
    assert_eq!(m.to, "Daniyar <daniyar@example.org>");
    assert_eq!(m.subject, "Committed");
    assert!(
        m.text
            .contains("Confirm: https://talqy.test/confirm/SECRET-TOKEN")
    );
    assert!(
        m.html
            .contains("<a href=\"https://talqy.test/confirm/SECRET-TOKEN\">")
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("\"Talqy Secretariat\" <no-reply@talqy.test>")
    );
    assert_eq!(
        m.header("Reply-To").as_deref(),
        Some("\"Working group\" <wg@talqy.test>")
    );
    assert_eq!(
        m.header("To").as_deref(),
        Some("Daniyar <daniyar@example.org>")
    );
    assert!(m.header("Date").is_some(), "{}", m.headers);
    assert!(
        m.header("Message-ID")
            .is_some_and(|id| id.ends_with("@talqy.test>")),
        "{}",
        m.headers
    );
    assert!(
        m.header("Content-Type")
            .is_some_and(|t| t.starts_with("multipart/alternative")),
        "{}",
        m.headers
    );
    let plain = m
        .raw
        .find("Content-Type: text/plain")
        .expect("a plain part");
    let html = m.raw.find("Content-Type: text/html").expect("an HTML part");
    assert!(plain < html, "plain text first, HTML preferred");

    // Done, and the body (with its single-use link) is gone from the queue.
    let done = job(&app, id);
    assert!(done.done_at.is_some());
    assert!(done.locked_by.is_none() && done.locked_until.is_none());
    assert_eq!(
        done.payload_json().unwrap(),
        serde_json::json!({"to": "Daniyar <daniyar@example.org>", "subject": "Committed"})
    );
    assert!(!done.payload.contains("SECRET-TOKEN"));
    assert_eq!(jobs::pending_count(conn).unwrap(), 0);
}

/// Just enough of an SMTP server to receive messages from lettre. While `accepting` is off
/// it turns every connection away with `421` (a relay that is down or overloaded).
struct FakeSmtp {
    port: u16,
    accepting: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    async fn start(accepting: bool) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FakeSmtp {
            port: listener.local_addr().unwrap().port(),
            accepting: Arc::new(AtomicBool::new(accepting)),
            refused: Arc::default(),
            accepted: Arc::default(),
        };
        let (accepting, refused, accepted) = (
            server.accepting.clone(),
            server.refused.clone(),
            server.accepted.clone(),
        );
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (accepting, refused, accepted) =
                    (accepting.clone(), refused.clone(), accepted.clone());
                tokio::spawn(async move {
                    let _ = session(socket, accepting, refused, accepted).await;
                });
            }
        });
        server
    }

    fn accept(&self) {
        self.accepting.store(true, Ordering::SeqCst);
    }

    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    fn configure(&self, config: &mut talqy::config::Config) {
        config.mail.transport = MailTransport::Smtp;
        config.mail.smtp_host = "127.0.0.1".into();
        config.mail.smtp_port = self.port;
        config.mail.smtp_tls = SmtpTls::None;
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    accepting: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    if !accepting.load(Ordering::SeqCst) {
        refused.fetch_add(1, Ordering::SeqCst);
        write
            .write_all(b"421 4.3.2 fake.smtp Service not available, try again later\r\n")
            .await?;
        return write.shutdown().await;
    }
    write.write_all(b"220 fake.smtp ESMTP ready\r\n").await?;
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim_end_matches('\r');
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-fake.smtp\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 OK\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                while let Some(line) = lines.next_line().await? {
                    let line = line.trim_end_matches('\r');
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(line));
                    data.push_str("\r\n");
                }
                accepted.lock().unwrap().push(data);
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return write.shutdown().await;
            }
            _ => b"502 5.5.2 command not recognized\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

#[tokio::test]
async fn smtp_refuses_then_recovers_and_the_email_arrives_exactly_once() {
    let smtp = FakeSmtp::start(false).await;
    let app = spawn_app_with(|c| smtp.configure(c)).await;
    let id = enqueue(
        &mut app.conn(),
        &message("aigerim@example.org", "Your comment was answered"),
    );

    // The relay refuses: the attempt is recorded and the job is scheduled for later.
    let before = time::now();
    assert_eq!(app.run_pending_jobs().await, 1);
    assert!(smtp.refused.load(Ordering::SeqCst) >= 1);
    assert!(smtp.accepted().is_empty());
    let failed = job(&app, id);
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.clone().expect("last_error is set");
    assert!(error.contains("421"), "{error}");
    assert!(failed.done_at.is_none() && failed.parked_at.is_none());
    assert!(failed.locked_by.is_none(), "the lease is released");
    assert!(
        failed.run_at >= before + chrono::Duration::seconds(29),
        "retried after the 30 s base: {} vs {before}",
        failed.run_at
    );
    // Not due yet: the worker leaves it alone.
    assert_eq!(app.run_pending_jobs().await, 0);
    assert!(smtp.accepted().is_empty());

    // The relay is back and the job is due: it is delivered once.
    smtp.accept();
    set_run_at(&app, id, time::now());
    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(smtp.accepted().len(), 1);
    assert_eq!(app.run_pending_jobs().await, 0);
    assert_eq!(smtp.accepted().len(), 1, "never sent twice");

    let received = &smtp.accepted()[0];
    assert!(
        received.contains("Subject: Your comment was answered"),
        "{received}"
    );
    assert!(received.contains("To: aigerim@example.org"), "{received}");
    assert!(received.contains("multipart/alternative"), "{received}");
    assert!(received.contains("text/plain") && received.contains("text/html"));
    assert!(received.contains("SECRET-TOKEN"));

    let done = job(&app, id);
    assert!(done.done_at.is_some());
    assert_eq!(done.attempts, 1, "one failed attempt was counted");
    assert_eq!(
        done.payload_json().unwrap(),
        serde_json::json!({"to": "aigerim@example.org", "subject": "Your comment was answered"})
    );
    assert_eq!(jobs::pending_count(&mut app.conn()).unwrap(), 0);
}

#[tokio::test]
async fn an_email_that_keeps_failing_is_parked_and_can_be_retried() {
    let smtp = FakeSmtp::start(false).await;
    let app = spawn_app_with(|c| {
        smtp.configure(c);
        c.mail.retry_base = Duration::ZERO;
    })
    .await;
    let id = write_transaction(&mut app.conn(), |c| {
        email::enqueue_email_with(c, &message("erlan@example.org", "Deadline soon"), 3)
    })
    .unwrap();

    // With no wait between attempts, one run makes all three, then parks the job.
    assert_eq!(app.run_pending_jobs().await, 3);
    assert_eq!(smtp.refused.load(Ordering::SeqCst), 3);
    let parked = jobs::parked(&mut app.conn()).unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].id, id);
    assert_eq!(parked[0].attempts, 3);
    assert!(parked[0].parked_at.is_some());
    assert!(parked[0].last_error.as_deref().unwrap().contains("421"));
    assert!(parked[0].locked_by.is_none());
    assert_eq!(jobs::pending_count(&mut app.conn()).unwrap(), 0);
    assert_eq!(app.run_pending_jobs().await, 0, "a parked job is not run");

    // An administrator retries it once the relay is back.
    smtp.accept();
    assert!(jobs::retry_parked(&mut app.conn(), id).unwrap());
    assert!(
        !jobs::retry_parked(&mut app.conn(), id).unwrap(),
        "only a parked job can be retried"
    );
    let due = job(&app, id);
    assert!(due.parked_at.is_none());
    assert_eq!(due.attempts, 0, "it gets its attempts back");
    assert!(due.run_at <= time::now());
    assert_eq!(jobs::pending_count(&mut app.conn()).unwrap(), 1);
    assert!(jobs::parked(&mut app.conn()).unwrap().is_empty());

    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(smtp.accepted().len(), 1);
    assert!(job(&app, id).done_at.is_some());
}

#[tokio::test]
async fn backoff_grows_with_each_failure() {
    let app = spawn_app_with(|_| {}).await;
    let conn: &mut DbConn = &mut app.conn();
    let id = jobs::enqueue(conn, "test", &serde_json::json!({}), 5).unwrap();
    let base = Duration::from_secs(30);
    let mut waits = Vec::new();
    for attempt in 1..=4 {
        set_run_at(&app, id, time::now());
        let claimed = jobs::claim(conn, "w", jobs::DEFAULT_LEASE)
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, id);
        let before = time::now();
        match jobs::fail(conn, id, "w", "boom", base).unwrap() {
            FailOutcome::Retry { attempts, run_at } => {
                assert_eq!(attempts, attempt);
                waits.push((run_at - before).num_seconds());
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert_eq!(waits, [30, 60, 120, 240]);
    set_run_at(&app, id, time::now());
    jobs::claim(conn, "w", jobs::DEFAULT_LEASE)
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs::fail(conn, id, "w", "boom", base).unwrap(),
        FailOutcome::Parked { attempts: 5 }
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_email_is_parked_at_once() {
    let app = spawn_app_with(|_| {}).await;
    let id = jobs::enqueue(
        &mut app.conn(),
        email::JOB_KIND,
        &serde_json::json!({"nope": 1}),
        8,
    )
    .unwrap();
    assert_eq!(app.run_pending_jobs().await, 1);
    let parked = job(&app, id);
    assert!(parked.parked_at.is_some());
    assert_eq!(parked.attempts, 1);
    assert!(parked.last_error.unwrap().contains("not an email"));
    assert!(app.emails().is_empty());
}

#[tokio::test]
async fn a_lease_that_runs_out_lets_another_worker_take_the_job() {
    let app = spawn_app_with(|_| {}).await;
    let conn: &mut DbConn = &mut app.conn();
    let id = jobs::enqueue(conn, "test", &serde_json::json!({"n": 1}), 3).unwrap();

    let first = jobs::claim(conn, "worker-a", Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(first.id, id);
    assert_eq!(first.locked_by.as_deref(), Some("worker-a"));
    assert!(
        jobs::claim(conn, "worker-b", Duration::from_secs(60))
            .unwrap()
            .is_none(),
        "a leased job is not handed out again"
    );

    // worker-a dies; once its lease has run out, worker-b takes the job.
    diesel::update(jobs_table::table.find(id))
        .set(jobs_table::locked_until.eq(time::now() - chrono::Duration::seconds(1)))
        .execute(conn)
        .unwrap();
    let second = jobs::claim(conn, "worker-b", Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(second.id, id);
    assert_eq!(second.locked_by.as_deref(), Some("worker-b"));

    // The late worker-a can neither complete nor fail it.
    assert!(!jobs::complete(conn, id, "worker-a").unwrap());
    assert_eq!(
        jobs::fail(conn, id, "worker-a", "late", Duration::from_secs(30)).unwrap(),
        FailOutcome::LeaseLost
    );
    assert!(jobs::complete(conn, id, "worker-b").unwrap());
    assert!(job(&app, id).done_at.is_some());
    assert!(
        jobs::claim(conn, "worker-c", jobs::DEFAULT_LEASE)
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_never_send_the_same_email_twice() {
    const COUNT: usize = 200;
    let database = TestDatabase::new();
    let config = test_config(database.url());
    let url = database.url();
    let (db_a, db_b) = tokio::task::spawn_blocking(move || {
        (Db::connect(&url, 4).unwrap(), Db::connect(&url, 4).unwrap())
    })
    .await
    .unwrap();

    {
        let conn: &mut DbConn = &mut db_a.conn().unwrap();
        for i in 0..COUNT {
            enqueue(
                conn,
                &message(&format!("citizen{i}@example.org"), &format!("Message {i}")),
            );
        }
        assert_eq!(jobs::pending_count(conn).unwrap(), COUNT as i64);
    }

    let mailer_a = Mailer::memory(&config.mail);
    let mailer_b = Mailer::memory(&config.mail);
    let (done_a, done_b) = tokio::join!(
        jobs::run_pending(&db_a, &mailer_a, "worker-a"),
        jobs::run_pending(&db_b, &mailer_b, "worker-b"),
    );

    let sent_a: Vec<String> = mailer_a.sent().into_iter().map(|m| m.to).collect();
    let sent_b: Vec<String> = mailer_b.sent().into_iter().map(|m| m.to).collect();
    let set_a: HashSet<&String> = sent_a.iter().collect();
    let set_b: HashSet<&String> = sent_b.iter().collect();
    let both: Vec<_> = set_a.intersection(&set_b).collect();
    assert!(both.is_empty(), "sent by both workers: {both:?}");
    assert_eq!(set_a.len(), sent_a.len(), "worker-a sent something twice");
    assert_eq!(set_b.len(), sent_b.len(), "worker-b sent something twice");
    assert_eq!(set_a.union(&set_b).count(), COUNT);
    assert_eq!((sent_a.len(), sent_b.len()), (done_a, done_b));
    // Both took part, or the test would prove nothing about concurrency.
    assert!(
        done_a > 0 && done_b > 0,
        "worker-a sent {done_a}, worker-b sent {done_b}"
    );

    let conn: &mut DbConn = &mut db_b.conn().unwrap();
    assert_eq!(jobs::pending_count(conn).unwrap(), 0);
    let unfinished: i64 = jobs_table::table
        .filter(jobs_table::done_at.is_null())
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(unfinished, 0);
}

#[tokio::test]
async fn the_background_worker_sends_and_stops_on_shutdown() {
    let database = TestDatabase::new();
    let config = test_config(database.url());
    let url = database.url();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url, 2).unwrap())
        .await
        .unwrap();
    let mailer = Mailer::memory(&config.mail);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(jobs::run_worker(db.clone(), mailer.clone(), stopped));

    enqueue(
        &mut db.conn().unwrap(),
        &message("saule@example.org", "A new version was published"),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while mailer.sent().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not send the email"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mailer.sent().len(), 1);

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops on shutdown")
        .unwrap();
}

#[test]
fn a_bad_mail_setting_stops_start_up_with_one_line_naming_it() {
    for (var, value, setting) in [
        ("TALQY_SMTP_TLS", "ssl", "smtp_tls"),
        ("TALQY_MAIL_FROM", "not an address", "mail_from"),
        ("TALQY_MAIL_TRANSPORT", "memory", "mail_transport"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_talqy"))
            .arg("migrate")
            .current_dir(dir.path())
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("setting '{setting}'")), "{err}");
    }
}

#[tokio::test]
async fn admins_see_parked_emails_and_can_retry_them() {
    use diesel::prelude::*;
    use talqy::db::schema::jobs;
    let app = crate::helpers::spawn_app().await;
    app.create_user(
        "root@example.org",
        "Root",
        "correct horse battery staple",
        true,
        true,
    );
    let admin = app.new_client();
    admin
        .sign_in("root@example.org", "correct horse battery staple")
        .await;
    let msg = talqy::email::EmailMessage {
        to: "someone@example.org".into(),
        subject: "Stuck message".into(),
        text: "secret link".into(),
        html: "<p>secret link</p>".into(),
        headers: Vec::new(),
    };
    let id = talqy::email::enqueue_email(&mut app.conn(), &msg).unwrap();
    diesel::update(jobs::table.find(id))
        .set((
            jobs::attempts.eq(8),
            jobs::last_error.eq("421 service not available"),
            jobs::parked_at.eq(talqy::domain::time::now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let (status, doc) = admin.get_html("/admin/jobs").await;
    assert_eq!(status, 200);
    let row = crate::helpers::texts(&doc, &format!("#job-{id}")).join(" ");
    assert!(
        row.contains("someone@example.org — Stuck message") && row.contains("421"),
        "{row}"
    );
    assert!(!doc.html().contains("secret link"), "bodies are not shown");
    let res = admin
        .post_form(&format!("/admin/jobs/{id}/retry"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let parked: Option<chrono::NaiveDateTime> = jobs::table
        .find(id)
        .select(jobs::parked_at)
        .first(&mut *app.conn())
        .unwrap();
    assert!(parked.is_none());
    app.run_pending_jobs().await;
    assert_eq!(
        app.emails()
            .iter()
            .filter(|e| e.subject == "Stuck message")
            .count(),
        1
    );
}
