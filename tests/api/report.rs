//! The public discussion report: every figure is checked against counts the test computes
//! itself from the comments and dispositions it seeded, on each backend.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use talqy::domain::{DraftStatus, time};
use talqy::services::drafts as draft_service;

use crate::helpers::{assert_inert, spawn_app, texts};
use crate::revisions::{OPEN_DATA, PASSWORD, insert_comment, insert_disposition, version_id};

const TYPES: [&str; 6] = [
    "citizen",
    "expert",
    "business",
    "ngo",
    "academia",
    "public_authority",
];
const DECISIONS: [&str; 5] = [
    "accepted",
    "partially_accepted",
    "rejected",
    "noted",
    "duplicate",
];
/// The provisions commented on: `None` is the draft as a whole. Document order of the keys:
/// ch1.art1.p1 < ch1.art2.p1 < ch1.art3.p1 < ch1.art4.p1.
const KEYS: [Option<&str>; 5] = [
    None,
    Some("ch1.art1.p1"),
    Some("ch1.art2.p1"),
    Some("ch1.art3.p1"),
    Some("ch1.art4.p1"),
];

struct Seeded {
    tracking: String,
    key: Option<&'static str>,
    respondent: &'static str,
    withdrawn: bool,
    created: NaiveDateTime,
    decision: Option<(&'static str, NaiveDateTime, String)>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n.is_multiple_of(2) {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    } else {
        v[n / 2]
    })
}

#[tokio::test]
async fn report_figures_equal_counts_computed_from_the_seeded_comments() {
    let app = spawn_app().await;
    let draft = app.published_draft("Open Data", "law", "Ministry", OPEN_DATA, 30);
    let author = app.create_user("citizen@example.org", "Asel Citizen", PASSWORD, true, false);
    let v1 = version_id(&mut app.conn(), draft, 1);
    let start = time::now() - Duration::days(40);

    // 30 comments spread unevenly over provisions and respondent types; 3 withdrawn; a
    // reply; dispositions with known dates on about two thirds.
    let mut seeded: Vec<Seeded> = Vec::new();
    {
        let conn = &mut app.conn();
        let mut first: Option<(i64, String)> = None;
        for i in 0..30usize {
            let key = KEYS[(i * i + i / 4) % 5];
            let respondent = TYPES[(i * 7 / 3) % 6];
            let withdrawn = i % 10 == 9;
            let created = start + Duration::hours(i as i64 * 5) + Duration::seconds(i as i64 * 17);
            let parent = if i == 29 { first.clone() } else { None };
            let (id, tracking) = insert_comment(
                conn,
                draft,
                v1,
                key,
                author,
                respondent,
                &if i == 4 {
                    "Comment number 4 <script>alert(1)</script> [x](javascript:alert(1))"
                        .to_string()
                } else {
                    format!("Comment number {i} on the draft.")
                },
                if withdrawn { "withdrawn" } else { "published" },
                created,
                parent.map(|(id, _)| (id, format!("{id:012}"))),
            );
            if first.is_none() {
                first = Some((id, tracking.clone()));
            }
            let decision = if i % 3 != 0 {
                let d = DECISIONS[(i / 2) % 5];
                let decided =
                    created + Duration::days((i % 7) as i64 + 1) + Duration::minutes(i as i64 * 13);
                let justification = format!("Reason number {i}.");
                insert_disposition(conn, id, d, &justification, decided, None);
                Some((d, decided, justification))
            } else {
                None
            };
            seeded.push(Seeded {
                tracking,
                key,
                respondent,
                withdrawn,
                created,
                decision,
            });
        }
    }
    draft_service::transition(&mut app.conn(), draft, DraftStatus::Closed, "test", None).unwrap();

    // Expected figures, computed here from what was seeded.
    let published: Vec<&Seeded> = seeded.iter().filter(|s| !s.withdrawn).collect();
    let withdrawn = seeded.len() - published.len();
    let answered: Vec<&Seeded> = published
        .iter()
        .copied()
        .filter(|s| s.decision.is_some())
        .collect();
    let mut by_decision: Vec<(String, i64)> = DECISIONS
        .iter()
        .map(|d| {
            let n = published
                .iter()
                .filter(|s| s.decision.as_ref().is_some_and(|x| x.0 == *d))
                .count();
            (d.to_string(), n as i64)
        })
        .collect();
    by_decision.push((
        "not_answered".into(),
        (published.len() - answered.len()) as i64,
    ));
    let by_type: Vec<(String, i64)> = TYPES
        .iter()
        .map(|t| {
            (
                t.to_string(),
                published.iter().filter(|s| s.respondent == *t).count() as i64,
            )
        })
        .collect();
    let mut by_key: HashMap<Option<&str>, i64> = HashMap::new();
    for s in &published {
        *by_key.entry(s.key).or_default() += 1;
    }
    let mut by_provision: Vec<(Option<&str>, i64)> = by_key.into_iter().collect();
    let doc_order = |k: &Option<&str>| KEYS.iter().position(|x| x == k).unwrap();
    by_provision.sort_by(|a, b| b.1.cmp(&a.1).then(doc_order(&a.0).cmp(&doc_order(&b.0))));
    assert!(by_provision.len() >= 4 && by_provision[0].1 > by_provision.last().unwrap().1);
    let share = answered.len() as f64 * 100.0 / published.len() as f64;
    let days: Vec<f64> = answered
        .iter()
        .map(|s| (s.decision.as_ref().unwrap().1 - s.created).num_seconds() as f64 / 86_400.0)
        .collect();
    let median_days = median(days).unwrap();

    // JSON: the exact figures.
    let res = app.get(&format!("/drafts/{draft}/report.json")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["version"], 1);
    let totals = &json["totals"];
    assert_eq!(totals["comments"], seeded.len() as i64);
    assert_eq!(totals["published"], published.len() as i64);
    assert_eq!(totals["withdrawn"], withdrawn as i64);
    assert_eq!(totals["answered"], answered.len() as i64);
    assert_eq!(
        totals["not_answered"],
        (published.len() - answered.len()) as i64
    );
    assert!((totals["share_answered_percent"].as_f64().unwrap() - share).abs() < 1e-9);
    assert!((totals["median_days_to_answer"].as_f64().unwrap() - median_days).abs() < 1e-9);
    let pairs = |v: &serde_json::Value| -> Vec<(String, i64)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_string(),
                    c["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(pairs(&json["by_disposition"]), by_decision);
    assert_eq!(pairs(&json["by_respondent_type"]), by_type);
    let got_provisions: Vec<(Option<String>, i64)> = json["by_provision"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provision_key"].as_str().map(String::from),
                p["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected_provisions: Vec<(Option<String>, i64)> = by_provision
        .iter()
        .map(|(k, n)| (k.map(String::from), *n))
        .collect();
    assert_eq!(got_provisions, expected_provisions);
    let list = json["comments"].as_array().unwrap();
    assert_eq!(list.len(), seeded.len());
    for (c, s) in list.iter().zip(&seeded) {
        assert_eq!(c["tracking_number"], s.tracking.as_str());
        assert_eq!(
            c["status"],
            if s.withdrawn {
                "withdrawn"
            } else {
                "published"
            }
        );
        assert_eq!(
            c["text"].is_null(),
            s.withdrawn,
            "withdrawn comments have no text"
        );
        assert_eq!(c["decision"].as_str(), s.decision.as_ref().map(|d| d.0));
        assert_eq!(
            c["justification"].as_str(),
            s.decision.as_ref().map(|d| d.2.as_str())
        );
    }
    assert_eq!(list[29]["reply_to"], seeded[0].tracking.as_str());

    // HTML: the same figures, for people.
    for path in [
        format!("/drafts/{draft}/report"),
        format!("/drafts/{draft}/versions/1/report"),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert_inert(&html);
        let doc = scraper::Html::parse_document(&html);
        assert_eq!(
            texts(&doc, "#fig-published"),
            vec![published.len().to_string()]
        );
        assert_eq!(
            texts(&doc, "#fig-answered"),
            vec![answered.len().to_string()]
        );
        assert_eq!(texts(&doc, "#fig-withdrawn"), vec![withdrawn.to_string()]);
        assert_eq!(texts(&doc, "#fig-share"), vec![format!("{share:.1} %")]);
        assert_eq!(
            texts(&doc, "#fig-median"),
            vec![format!("{median_days:.1} days")]
        );
        let counts: Vec<i64> = texts(&doc, "#by-disposition tbody td")
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(counts, by_decision.iter().map(|d| d.1).collect::<Vec<_>>());
        assert_eq!(
            texts(&doc, "#by-disposition tbody th").last().unwrap(),
            "Not yet answered"
        );
        let counts: Vec<i64> = texts(&doc, "#by-provision tbody td")
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(counts, by_provision.iter().map(|p| p.1).collect::<Vec<_>>());
        assert_eq!(texts(&doc, "#report-comments tbody tr").len(), seeded.len());
        let gone = &seeded[9];
        let row = format!("#report-comments tr[data-tracking='{}']", gone.tracking);
        assert_eq!(
            texts(&doc, &format!("{row} .comment-text")),
            vec!["Withdrawn by its author."]
        );
        let answered_one = seeded
            .iter()
            .find(|s| !s.withdrawn && s.decision.is_some())
            .unwrap();
        let row = format!(
            "#report-comments tr[data-tracking='{}']",
            answered_one.tracking
        );
        assert_eq!(
            texts(&doc, &format!("{row} .justification")),
            vec![answered_one.decision.as_ref().unwrap().2.clone()]
        );
    }

    // CSV: one row per comment.
    let res = app.get(&format!("/drafts/{draft}/report.csv")).await;
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), seeded.len());
    for (r, s) in records.iter().zip(&seeded) {
        assert_eq!(&r[col("tracking_number")], s.tracking);
        assert_eq!(&r[col("decision")], s.decision.as_ref().map_or("", |d| d.0));
        assert_eq!(r[col("text")].is_empty(), s.withdrawn);
    }

    // A round nobody has answered yet: share 0, median "—"; unknown rounds are not found.
    let quiet = app.published_draft("Quiet Law", "law", "Ministry", OPEN_DATA, 30);
    let (status, doc) = app.get_html(&format!("/drafts/{quiet}/report")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "#fig-share"), vec!["—"]);
    assert_eq!(texts(&doc, "#fig-median"), vec!["—"]);
    {
        let conn = &mut app.conn();
        let qv = version_id(conn, quiet, 1);
        insert_comment(
            conn,
            quiet,
            qv,
            None,
            author,
            "citizen",
            "Unanswered.",
            "published",
            time::now(),
            None,
        );
    }
    let (_, doc) = app.get_html(&format!("/drafts/{quiet}/report")).await;
    assert_eq!(texts(&doc, "#fig-share"), vec!["0.0 %"]);
    assert_eq!(texts(&doc, "#fig-median"), vec!["—"]);
    let (status, _) = app
        .get_html(&format!("/drafts/{draft}/versions/2/report"))
        .await;
    assert_eq!(status, 404);
}

/// A round larger than several pages of the export: the CSV and the JSON are streamed (no
/// `Content-Length`, chunked), every listed comment is there once in order, the totals at the
/// top of the JSON agree with its rows, replies and duplicates name the right tracking
/// numbers, and the text of hidden, pending or rejected comments is nowhere in them.
#[tokio::test]
async fn a_large_export_is_streamed_whole_and_agrees_with_its_totals() {
    use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};
    use talqy::db::schema::dispositions;
    use talqy::services::report;

    let app = spawn_app().await;
    let draft = app.published_draft("Open Data", "law", "Ministry", OPEN_DATA, 30);
    let author = app.create_user("citizen@example.org", "Asel Citizen", PASSWORD, true, false);
    let v1 = version_id(&mut app.conn(), draft, 1);
    let start = time::now() - Duration::days(20);
    let n = 2 * report::PAGE_ROWS as usize + 345;

    // (tracking, listed status, decision) of each comment, in id order.
    let mut seeded: Vec<(String, &str, Option<&str>)> = Vec::new();
    let mut first_tracking = String::new();
    app.conn()
        .transaction::<_, diesel::result::Error, _>(|conn| {
            let mut first: Option<(i64, String)> = None;
            for i in 0..n {
                let status = match i % 50 {
                    7 => "withdrawn",
                    11 => "hidden",
                    13 => "pending",
                    17 => "rejected",
                    _ => "published",
                };
                let body = match status {
                    "hidden" | "pending" | "rejected" => format!("SECRET-{status}-{i}"),
                    // Quotes, commas and line breaks: the CSV must quote them.
                    _ => format!("Comment {i}, \"quoted\"\nsecond line"),
                };
                let parent = if i % 9 == 5 { first.clone() } else { None };
                let (id, tracking) = insert_comment(
                    conn,
                    draft,
                    v1,
                    KEYS[i % 5],
                    author,
                    TYPES[i % 6],
                    &body,
                    status,
                    start + Duration::minutes(i as i64),
                    parent.map(|(id, _)| (id, format!("{id:012}"))),
                );
                let decision = (status == "published" && i % 3 == 0).then(|| DECISIONS[i % 5]);
                if let Some(d) = decision {
                    insert_disposition(
                        conn,
                        id,
                        d,
                        "A justification long enough.",
                        start + Duration::minutes(i as i64) + Duration::hours(i as i64 % 48 + 1),
                        None,
                    );
                    if d == "duplicate" {
                        let (original, _) = first.clone().unwrap();
                        diesel::update(dispositions::table.filter(dispositions::comment_id.eq(id)))
                            .set(dispositions::duplicate_of.eq(original))
                            .execute(conn)?;
                    }
                }
                if first.is_none() {
                    first = Some((id, tracking.clone()));
                    first_tracking = tracking.clone();
                }
                if matches!(status, "published" | "withdrawn") {
                    seeded.push((tracking, status, decision));
                }
            }
            Ok(())
        })
        .unwrap();
    let published = seeded.iter().filter(|s| s.1 == "published").count();
    let answered = seeded.iter().filter(|s| s.2.is_some()).count();

    // JSON: streamed, complete, totals agreeing with the rows.
    let res = app.get(&format!("/drafts/{draft}/report.json")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.content_length(), None, "a streamed body has no length");
    assert_eq!(res.headers()["transfer-encoding"], "chunked");
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("SECRET"),
        "hidden, pending or rejected text leaked"
    );
    let json: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    let list = json["comments"].as_array().unwrap();
    assert_eq!(list.len(), seeded.len());
    let totals = &json["totals"];
    assert_eq!(totals["comments"], list.len() as i64);
    assert_eq!(totals["published"], published as i64);
    assert_eq!(
        totals["published"].as_i64().unwrap(),
        list.iter().filter(|c| c["status"] == "published").count() as i64
    );
    assert_eq!(totals["answered"], answered as i64);
    assert_eq!(
        totals["answered"].as_i64().unwrap(),
        list.iter().filter(|c| !c["decision"].is_null()).count() as i64
    );
    let by_disposition: i64 = json["by_disposition"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(by_disposition, published as i64);
    for (c, s) in list.iter().zip(&seeded) {
        assert_eq!(c["tracking_number"], s.0.as_str());
        assert_eq!(c["status"], s.1);
        assert_eq!(c["text"].is_null(), s.1 == "withdrawn");
        assert_eq!(c["decision"].as_str(), s.2);
        if s.2 == Some("duplicate") {
            assert_eq!(c["duplicate_of"], first_tracking.as_str());
        }
    }
    assert!(list[5]["reply_to"] == first_tracking.as_str());
    // Byte for byte what pretty-printing the whole report gives (but the time it was made).
    let whole = {
        let conn = &mut app.conn();
        report::report(conn, draft, None).unwrap()
    };
    let mut expected = serde_json::to_string_pretty(&whole).unwrap();
    expected = expected.replace(
        &format!("\"generated_at\": \"{}\"", whole.generated_at),
        &format!("\"generated_at\": {}", json["generated_at"]),
    );
    assert!(
        body == expected,
        "the streamed JSON differs from the pretty-printed report"
    );

    // CSV: streamed, the same rows, header first.
    let res = app
        .get(&format!("/drafts/{draft}/versions/1/report.csv"))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.content_length(), None);
    assert_eq!(res.headers()["transfer-encoding"], "chunked");
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"talqy-draft-{draft}-v1-report.csv\"").as_str()
    );
    let body = res.text().await.unwrap();
    assert!(!body.contains("SECRET"));
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, report::CSV_COLUMNS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), seeded.len());
    for (r, s) in records.iter().zip(&seeded) {
        assert_eq!(&r[0], s.0);
        assert_eq!(&r[9], s.1);
        if s.1 == "published" {
            assert!(r[10].ends_with("\"quoted\"\nsecond line"));
        }
    }

    // Unknown rounds are plain 404s, not broken streams.
    for path in [
        format!("/drafts/{draft}/versions/2/report.csv"),
        format!("/drafts/{draft}/versions/2/report.json"),
        "/drafts/999999/report.csv".to_string(),
    ] {
        assert_eq!(app.get(&path).await.status().as_u16(), 404, "{path}");
    }
}

/// After a burst (the benchmark's triage load), requests whose clients had hung up used to
/// keep the pool busy for seconds, and the export that came next waited past the connection
/// timeout (503). Database work whose caller is gone is now skipped when its turn comes.
#[tokio::test]
async fn database_work_of_a_request_given_up_on_is_not_run() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use talqy::db::DbError;

    let app = spawn_app().await;
    // Every connection of the test pool (4) is busy.
    let held: Vec<_> = (0..4).map(|_| app.conn()).collect();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let work = app.db.run(move |_| {
        flag.store(true, Ordering::SeqCst);
        Ok::<_, DbError>(())
    });
    // The caller gives up (as when a client hangs up and actix drops its request).
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), work)
            .await
            .is_err()
    );
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!ran.load(Ordering::SeqCst), "abandoned work ran");
    // Work someone waits for still runs, and the pool is whole.
    let ok = app.db.run(|_| Ok::<_, DbError>(true)).await.unwrap();
    assert!(ok);
    assert_eq!(
        app.get(&format!("/drafts/{}/report.csv", 999_999))
            .await
            .status()
            .as_u16(),
        404
    );
}
