//! Group commit of posts: many participants posting at once, some refused, each get their
//! own answer; every receipt handed out is in the database with its hash and its entry in
//! the public record, and the hourly limits count exactly.

use std::collections::HashMap;

use diesel::prelude::*;
use talqy::db::schema::{comments, consultation_rounds, record_chain};

use crate::comments::participant;
use crate::helpers::{THREE_CHAPTERS, spawn_app_with, texts};

/// A signed-in browser that can be moved into a task.
#[derive(Clone)]
struct Browser {
    client: reqwest::Client,
    address: String,
    csrf: String,
}

/// What one submission got back.
#[derive(Debug)]
struct Answer {
    label: String,
    status: u16,
    location: Option<String>,
    hash: Option<String>,
    body: String,
}

async fn submit(b: Browser, label: String, path: String, fields: Vec<(String, String)>) -> Answer {
    let mut form = fields;
    form.push(("csrf_token".into(), b.csrf.clone()));
    let res = b
        .client
        .post(format!("{}{}", b.address, path))
        .form(&form)
        .send()
        .await
        .expect("request failed");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let location = header("location");
    let hash = header("talqy-content-hash");
    let status = res.status().as_u16();
    Answer {
        label,
        status,
        location,
        hash,
        body: res.text().await.unwrap_or_default(),
    }
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn summary(answer: &Answer) -> String {
    let doc = scraper::Html::parse_document(&answer.body);
    texts(&doc, ".error-summary").join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_each_get_their_own_answer_and_every_receipt_is_on_record() {
    let app = spawn_app_with(|c| {
        c.comments_per_hour_per_account = 3;
        c.comments_per_hour_per_ip = 10_000;
    })
    .await;
    let open = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let closed = app.published_draft("Old law", "law", "Ministry", THREE_CHAPTERS, 10);
    let past = talqy::domain::time::parse_datetime("2026-01-15T12:00", false).unwrap();
    diesel::update(consultation_rounds::table.filter(consultation_rounds::draft_id.eq(closed)))
        .set((
            consultation_rounds::opens_at.eq(past - chrono::Duration::days(30)),
            consultation_rounds::closes_at.eq(past),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let first = participant(&app, "first@example.org", "First").await;
    let parent = crate::comments::comment(&first, open, "ch1.art1", "A thread to reply to.").await;

    let mut browsers = Vec::new();
    for n in 0..8 {
        let p = participant(&app, &format!("p{n}@example.org"), &format!("P{n}")).await;
        browsers.push(Browser {
            client: p.client.clone(),
            address: p.address.clone(),
            csrf: p.csrf().await,
        });
    }
    let on = |key: &str| format!("/drafts/{open}/provisions/{key}/comments");
    let mut tasks = tokio::task::JoinSet::new();
    // Six participants try four comments each: three fit in the hourly limit.
    for (n, b) in browsers.iter().enumerate().take(6) {
        for k in 0..4 {
            let body = format!("Participant {n} point {k}: the deadline is too short.");
            let key = ["ch1.art1", "ch1.art2", "ch2.art3", "ch1.art1"][k];
            tasks.spawn(submit(
                b.clone(),
                format!("limited {n}"),
                on(key),
                fields(&[
                    ("stance", "object"),
                    ("body", &body),
                    ("idempotency_key", &format!("p{n}-{k}")),
                ]),
            ));
        }
    }
    // Three refusals of different kinds from one participant, at the same moment.
    let refused = &browsers[6];
    tasks.spawn(submit(
        refused.clone(),
        "empty".into(),
        on("ch1.art1"),
        fields(&[("stance", "object"), ("body", ""), ("idempotency_key", "e")]),
    ));
    tasks.spawn(submit(
        refused.clone(),
        "closed".into(),
        format!("/drafts/{closed}/provisions/ch1.art1/comments"),
        fields(&[
            ("stance", "object"),
            ("body", "Too late, but typed with care."),
            ("idempotency_key", "c"),
        ]),
    ));
    tasks.spawn(submit(
        refused.clone(),
        "quote".into(),
        on("ch1.art1"),
        fields(&[
            ("stance", "object"),
            ("body", "This quotation is invented."),
            ("quote", "words that are nowhere in the law"),
            ("idempotency_key", "q"),
        ]),
    ));
    // A double submission of one form, and a reply, from the last participant.
    let twice = &browsers[7];
    for _ in 0..2 {
        tasks.spawn(submit(
            twice.clone(),
            "twice".into(),
            on("ch2.art3"),
            fields(&[
                ("stance", "support"),
                ("body", "Submitted twice by an impatient click."),
                ("idempotency_key", "same-key"),
            ]),
        ));
    }
    tasks.spawn(submit(
        twice.clone(),
        "reply".into(),
        format!("/comments/{parent}/replies"),
        fields(&[
            ("body", "A reply among the crowd."),
            ("idempotency_key", "r"),
        ]),
    ));
    let answers: Vec<Answer> = tasks.join_all().await;

    let by =
        |label: &str| -> Vec<&Answer> { answers.iter().filter(|a| a.label == label).collect() };
    for n in 0..6 {
        let mine = by(&format!("limited {n}"));
        let accepted = mine.iter().filter(|a| a.status == 303).count();
        let limited: Vec<_> = mine.iter().filter(|a| a.status == 422).collect();
        assert_eq!((accepted, limited.len()), (3, 1), "{mine:?}");
        assert!(
            summary(limited[0]).contains("as many comments as allowed in one hour"),
            "{}",
            summary(limited[0])
        );
    }
    let empty = &by("empty")[0];
    assert_eq!(empty.status, 422);
    assert!(
        summary(empty).contains("Write your comment"),
        "{}",
        summary(empty)
    );
    let closed_answer = &by("closed")[0];
    assert_eq!(closed_answer.status, 422, "{}", closed_answer.body);
    assert!(closed_answer.body.contains("Comments are closed"));
    let quote = &by("quote")[0];
    assert_eq!(quote.status, 422);
    assert!(
        summary(quote).contains("The quotation must be copied from the provision"),
        "{}",
        summary(quote)
    );
    let doc = scraper::Html::parse_document(&quote.body);
    assert_eq!(
        texts(&doc, "#f-body"),
        vec!["This quotation is invented.".to_string()]
    );
    let twice_answers = by("twice");
    assert!(twice_answers.iter().all(|a| a.status == 303));
    assert_eq!(twice_answers[0].location, twice_answers[1].location);
    assert_eq!(twice_answers[0].hash, twice_answers[1].hash);
    assert_eq!(by("reply")[0].status, 303);

    // Every receipt handed out is stored with the hash the client was given, and has its
    // entry in the record.
    let rows: Vec<(i64, String, String)> = comments::table
        .select((
            comments::id,
            comments::tracking_number,
            comments::content_hash,
        ))
        .load(&mut *app.conn())
        .unwrap();
    let stored: HashMap<String, (i64, String)> =
        rows.into_iter().map(|(id, t, h)| (t, (id, h))).collect();
    // The thread's opening comment, 6 × 3 comments, one of the double submission, one reply.
    assert_eq!(stored.len(), 1 + 18 + 1 + 1);
    let recorded: Vec<(i64, String)> = record_chain::table
        .filter(record_chain::kind.eq("comment"))
        .select((record_chain::subject_id, record_chain::content_hash))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(recorded.len(), stored.len());
    for a in answers.iter().filter(|a| a.status == 303) {
        let location = a.location.as_deref().unwrap();
        let number = location
            .trim_start_matches("/receipts/")
            .trim_end_matches("?new=1");
        let (id, hash) = stored.get(number).unwrap_or_else(|| panic!("{location}"));
        if a.label != "reply" {
            assert_eq!(a.hash.as_deref(), Some(hash.as_str()), "{a:?}");
        }
        assert!(recorded.contains(&(*id, hash.clone())), "{a:?}");
    }
    let verified = talqy::services::chain::verify(&mut app.conn()).unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    let seqs: Vec<i64> = record_chain::table
        .order(record_chain::seq)
        .select(record_chain::seq)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_submitted_many_times_at_once_is_one_comment_with_one_receipt() {
    let app = spawn_app_with(|c| c.comments_per_hour_per_account = 100).await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let p = participant(&app, "clicker@example.org", "Clicker").await;
    let browser = Browser {
        client: p.client.clone(),
        address: p.address.clone(),
        csrf: p.csrf().await,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        tasks.spawn(submit(
            browser.clone(),
            "same".into(),
            format!("/drafts/{draft}/provisions/ch1.art1/comments"),
            fields(&[
                ("stance", "object"),
                ("body", "Clicked again and again."),
                ("idempotency_key", "one-form"),
            ]),
        ));
    }
    let answers = tasks.join_all().await;
    for a in &answers {
        assert_eq!(a.status, 303, "{a:?}");
        assert_eq!(a.location, answers[0].location);
        assert_eq!(a.hash, answers[0].hash);
    }
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1);
}
