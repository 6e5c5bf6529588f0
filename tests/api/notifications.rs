//! Email subscriptions and notifications: each kind of subscription fires on its events and
//! on no other; double opt-in; the same answer for known and unknown addresses; one-click
//! unsubscribe with a bare POST; digests grouped by draft and provision, sent once per
//! period even by concurrent builders; rate limits; and a real SMTP server end to end.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use talqy::db::models::UserRow;
use talqy::db::schema::{
    dispositions, drafts as drafts_table, jobs, notification_events, subscribers, subscriptions,
    users, working_group_members,
};
use talqy::db::{Db, DbConn};
use talqy::domain::{Email, time};
use talqy::email::{SentEmail, SiteLinks};
use talqy::services::comments::{self, CommentInput, Target};
use talqy::services::drafts::{self, DraftInput};
use talqy::services::{notifications, subscriptions as subs};

use crate::helpers::{THREE_CHAPTERS, TestApp, spawn_app, spawn_app_with, texts};

// ---------------------------------------------------------------------------------------
// Helpers

fn site(app: &TestApp) -> SiteLinks {
    app.mailer
        .site()
        .expect("the test mailer has site links")
        .clone()
}

fn user(app: &TestApp, id: i64) -> UserRow {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(&mut *app.conn())
        .unwrap()
}

fn account(app: &TestApp, email: &str, name: &str) -> UserRow {
    let id = app.create_user(email, name, "correct horse battery staple", true, false);
    user(app, id)
}

/// Creates and publishes a draft; `opens_in` delays its round.
fn draft(
    app: &TestApp,
    title: &str,
    kind: &str,
    authority: &str,
    opens_in: Option<Duration>,
    closes_in: Duration,
) -> i64 {
    let conn: &mut DbConn = &mut app.conn();
    let text = drafts::parse_text(THREE_CHAPTERS.as_bytes(), 1 << 20).unwrap();
    let id = drafts::create(
        conn,
        &DraftInput {
            title: title.into(),
            kind: kind.into(),
            authority: authority.into(),
            summary: String::new(),
        },
        Some(&text),
        "test",
    )
    .unwrap();
    let now = time::now();
    drafts::publish(conn, id, opens_in.map(|d| now + d), now + closes_in, "test").unwrap();
    id
}

/// A confirmed subscription of an address without an account (through the services:
/// subscribe, then the confirmation button). Drops the confirmation email.
async fn follow(app: &TestApp, email: &str, kind: &str, target: &str, frequency: &str) -> i64 {
    let site = site(app);
    {
        let conn: &mut DbConn = &mut app.conn();
        let request = subs::parse_request(conn, kind, target, frequency, None).unwrap();
        subs::subscribe_address(conn, &site, &Email::parse(email).unwrap(), &request).unwrap();
        let sid: i64 = subscribers::table
            .filter(subscribers::email.eq(email))
            .select(subscribers::id)
            .first(conn)
            .unwrap();
        subs::confirm(conn, &subs::manage_token(&site, sid)).unwrap();
    }
    let mails = app.take_emails().await;
    assert_eq!(mails.len(), 1, "one confirmation request");
    subscription_id(app, email, kind)
}

/// A subscription of an account holder (direct, no confirmation).
fn follow_as(app: &TestApp, who: &UserRow, kind: &str, target: &str, frequency: &str) -> i64 {
    let site = site(app);
    {
        let conn: &mut DbConn = &mut app.conn();
        let request = subs::parse_request(conn, kind, target, frequency, Some(who)).unwrap();
        assert!(subs::subscribe_account(conn, &site, who, &request).unwrap());
    }
    subscription_id(app, &who.email, kind)
}

fn subscription_id(app: &TestApp, email: &str, kind: &str) -> i64 {
    subscriptions::table
        .inner_join(subscribers::table)
        .filter(subscribers::email.eq(email))
        .filter(subscriptions::kind.eq(kind))
        .select(subscriptions::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn subscription_count(app: &TestApp, email: &str) -> i64 {
    subscriptions::table
        .inner_join(subscribers::table)
        .filter(subscribers::email.eq(email))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn confirmed(app: &TestApp, email: &str) -> Vec<bool> {
    subscriptions::table
        .inner_join(subscribers::table)
        .filter(subscribers::email.eq(email))
        .order(subscriptions::id)
        .select(subscriptions::confirmed_at.is_not_null())
        .load(&mut *app.conn())
        .unwrap()
}

fn comment(
    app: &TestApp,
    author: &UserRow,
    draft_id: i64,
    key: Option<&str>,
    parent: Option<i64>,
    body: &str,
) -> i64 {
    comments::post(
        &mut app.conn(),
        author,
        &Target {
            draft_id,
            provision_key: key.map(str::to_string),
        },
        parent,
        &CommentInput {
            stance: "support".into(),
            body: body.into(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            ..CommentInput::default()
        },
    )
    .unwrap()
    .id
}

fn decide(app: &TestApp, comment_id: i64, decision: &str) {
    let now = time::now();
    diesel::insert_into(dispositions::table)
        .values((
            dispositions::comment_id.eq(comment_id),
            dispositions::decision.eq(decision),
            dispositions::justification.eq("The working group agrees with this point."),
            dispositions::decided_at.eq(now),
            dispositions::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    notifications::disposition(&mut app.conn(), comment_id).unwrap();
}

fn join_group(app: &TestApp, draft_id: i64, user_id: i64) {
    diesel::insert_into(working_group_members::table)
        .values((
            working_group_members::draft_id.eq(draft_id),
            working_group_members::user_id.eq(user_id),
            working_group_members::role.eq("member"),
            working_group_members::created_at.eq(time::now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
}

/// Runs the worker and returns the messages sent since `seen` (which it advances).
async fn delivered(app: &TestApp, seen: &mut usize) -> Vec<SentEmail> {
    app.run_pending_jobs().await;
    let all = app.emails();
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn recipients(mails: &[SentEmail]) -> BTreeSet<String> {
    mails.iter().map(|m| m.to.clone()).collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Email jobs not yet sent.
fn email_jobs(conn: &mut DbConn) -> Vec<serde_json::Value> {
    jobs::table
        .filter(jobs::kind.eq("email"))
        .filter(jobs::done_at.is_null())
        .order(jobs::id)
        .select(jobs::payload)
        .load::<String>(conn)
        .unwrap()
        .into_iter()
        .map(|p| serde_json::from_str(&p).unwrap())
        .collect()
}

/// The https link of a `List-Unsubscribe` header, as a local path.
fn unsubscribe_path(m: &SentEmail) -> String {
    let header = m.header("List-Unsubscribe").expect("List-Unsubscribe");
    let https = header
        .split(',')
        .map(|p| p.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|p| p.starts_with("http"))
        .expect("an http(s) address");
    let at = https.find("/subscriptions/unsubscribe").unwrap();
    https[at..].to_string()
}

/// The first link in the text part that contains `path_prefix`, from there on.
fn link(m: &SentEmail, path_prefix: &str) -> String {
    m.text
        .split_whitespace()
        .find_map(|w| w.find(path_prefix).map(|i| w[i..].to_string()))
        .unwrap_or_else(|| panic!("no {path_prefix} link in {}", m.text))
}

/// A client with no cookies at all, as a mail program's one-click POST.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn one_click(app: &TestApp, path: &str) -> reqwest::Response {
    bare_client()
        .post(format!("{}{path}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Each kind fires on its events and on no other

#[tokio::test]
async fn each_subscription_kind_fires_on_its_events_and_on_no_other() {
    let app = spawn_app().await;
    let site = site(&app);
    // Drafts that exist before anyone subscribes.
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let d4 = draft(
        &app,
        "Concept of Cyber Shield",
        "concept",
        "Ministry A",
        Some(Duration::hours(1)),
        Duration::days(4),
    );
    let commenter = account(&app, "commenter@example.org", "Commenter");
    let r = account(&app, "replies@example.org", "Reply Follower");
    let s = account(&app, "decisions@example.org", "Decision Follower");
    let q = account(&app, "queue@example.org", "Queue Member");
    let c = account(&app, "campaigns@example.org", "Campaign Member");
    join_group(&app, d, q.id);
    join_group(&app, d, c.id);
    let cr = comment(&app, &r, d, Some("ch1.art1"), None, "R's own comment.");
    let cs = comment(&app, &s, d, Some("ch1.art1"), None, "S's own comment.");

    // An authority must have a published draft to be followed.
    draft(
        &app,
        "Earlier B draft",
        "order",
        "Ministry B",
        None,
        Duration::days(30),
    );
    // One subscriber per kind.
    follow(&app, "all@example.org", "all_drafts", "", "immediate").await;
    follow(
        &app,
        "authority@example.org",
        "authority",
        "Ministry B",
        "immediate",
    )
    .await;
    follow(&app, "kind@example.org", "kind", "decree", "immediate").await;
    follow(
        &app,
        "draft@example.org",
        "draft",
        &d4.to_string(),
        "immediate",
    )
    .await;
    follow(
        &app,
        "provision@example.org",
        "provision",
        &format!("{d}:ch1.art1"),
        "immediate",
    )
    .await;
    follow_as(&app, &r, "my_replies", "", "immediate");
    follow_as(&app, &s, "my_dispositions", "", "immediate");
    follow_as(&app, &q, "wg_queue", &d.to_string(), "immediate");
    follow_as(&app, &c, "wg_campaigns", &d.to_string(), "immediate");
    // Wrong-kind subscriptions of the same people never turn one event into another.
    let mut seen = app.emails().len();
    assert!(delivered(&app, &mut seen).await.is_empty());

    let now = time::now();
    // (event, trigger, who hears about it, how many messages in all)
    type Event<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a [&'a str], usize);
    let events: Vec<Event> = vec![
        (
            "a draft of authority B, kind decree, is published",
            Box::new(|| {
                draft(
                    &app,
                    "Decree on Open Data",
                    "decree",
                    "Ministry B",
                    None,
                    Duration::days(20),
                );
            }),
            &[
                "all@example.org",
                "authority@example.org",
                "kind@example.org",
            ],
            3,
        ),
        (
            "a draft of another authority and kind is published",
            Box::new(|| {
                draft(
                    &app,
                    "Rules on Archives",
                    "rules",
                    "Ministry C",
                    None,
                    Duration::days(20),
                );
            }),
            &["all@example.org"],
            1,
        ),
        (
            "the round of the followed draft opens",
            Box::new(|| {
                let n =
                    notifications::check_rounds(&mut app.conn(), now + Duration::hours(2)).unwrap();
                assert_eq!(n, 1);
            }),
            &["draft@example.org"],
            1,
        ),
        (
            "three days before the followed draft closes",
            Box::new(|| {
                let later = now + Duration::days(1) + Duration::hours(2);
                assert_eq!(
                    notifications::check_rounds(&mut app.conn(), later).unwrap(),
                    1
                );
                // Once per round.
                assert_eq!(
                    notifications::check_rounds(&mut app.conn(), later).unwrap(),
                    0
                );
            }),
            &["draft@example.org"],
            1,
        ),
        (
            "a new comment on the followed provision",
            Box::new(|| {
                comment(&app, &commenter, d, Some("ch1.art1"), None, "A new point.");
            }),
            &["provision@example.org", "queue@example.org"],
            2,
        ),
        (
            "replies to R's and S's comments",
            Box::new(|| {
                comment(&app, &commenter, d, None, Some(cr), "Answer to R.");
                comment(&app, &commenter, d, None, Some(cs), "Answer to S.");
            }),
            &[
                "provision@example.org",
                "queue@example.org",
                "replies@example.org",
            ],
            5,
        ),
        (
            "decisions on R's and S's comments",
            Box::new(|| {
                decide(&app, cr, "accepted");
                decide(&app, cs, "partially_accepted");
            }),
            &["decisions@example.org"],
            1,
        ),
        (
            "a campaign is detected",
            Box::new(|| {
                notifications::campaign_detected(
                    &mut app.conn(),
                    d,
                    "42 comments with the same text on Article 1.",
                )
                .unwrap();
            }),
            &["campaigns@example.org"],
            1,
        ),
        (
            "a new version of the followed draft",
            Box::new(|| {
                notifications::new_version(&mut app.conn(), d4, 2).unwrap();
            }),
            &["draft@example.org"],
            1,
        ),
        (
            "the followed draft's consultation is closed",
            Box::new(|| {
                drafts::transition(
                    &mut app.conn(),
                    d4,
                    talqy::domain::DraftStatus::Closed,
                    "test",
                    None,
                )
                .unwrap();
            }),
            &["draft@example.org"],
            1,
        ),
        (
            "the followed draft's report is published",
            Box::new(|| {
                notifications::report_published(&mut app.conn(), d4).unwrap();
            }),
            &["draft@example.org"],
            1,
        ),
        (
            "events on drafts nobody follows that way",
            Box::new(|| {
                notifications::new_version(&mut app.conn(), d, 2).unwrap();
                notifications::report_published(&mut app.conn(), d).unwrap();
                comment(&app, &commenter, d, Some("ch2.art3"), None, "Elsewhere.");
            }),
            // Only the working group's queue hears about a comment on another provision.
            &["queue@example.org"],
            1,
        ),
    ];
    for (name, trigger, expected, messages) in events {
        trigger();
        let mails = delivered(&app, &mut seen).await;
        assert_eq!(recipients(&mails), set(expected), "{name}");
        assert_eq!(
            mails.len(),
            messages,
            "one message per event and address: {name}"
        );
        for m in &mails {
            // Every message can be left in one click and managed without signing in.
            assert!(m.header("List-Unsubscribe").is_some(), "{name}");
            assert_eq!(
                m.header("List-Unsubscribe-Post").as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
            assert!(
                m.text.contains(&site.url("/subscriptions/manage?token=")),
                "{name}"
            );
        }
    }
    let reply = app
        .emails()
        .into_iter()
        .find(|m| m.to == "replies@example.org")
        .unwrap();
    assert!(
        reply.subject.contains("Commenter replied to your comment"),
        "{}",
        reply.subject
    );
    assert!(reply.text.contains("Answer to R."), "{}", reply.text);
    assert!(!reply.text.contains("Answer to S."), "{}", reply.text);
}

#[tokio::test]
async fn the_author_is_never_notified_about_their_own_comment() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let author = account(&app, "author@example.org", "Author");
    let other = account(&app, "other@example.org", "Other");
    join_group(&app, d, author.id);
    follow_as(
        &app,
        &author,
        "provision",
        &format!("{d}:ch1.art1"),
        "immediate",
    );
    follow_as(&app, &author, "my_replies", "", "immediate");
    follow_as(&app, &author, "wg_queue", &d.to_string(), "immediate");
    let mut seen = 0;
    let own = comment(&app, &author, d, Some("ch1.art1"), None, "My point.");
    comment(&app, &author, d, None, Some(own), "And a reply to myself.");
    assert!(delivered(&app, &mut seen).await.is_empty());
    // Someone else's reply reaches them once, however many subscriptions it matches.
    comment(
        &app,
        &other,
        d,
        None,
        Some(own),
        "A reply from someone else.",
    );
    let mails = delivered(&app, &mut seen).await;
    assert_eq!(recipients(&mails), set(&["author@example.org"]));
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("replied to your comment"));
}

// ---------------------------------------------------------------------------------------
// Double opt-in, and the same answer for every address

#[tokio::test]
async fn double_opt_in_confirms_only_with_the_button_and_sends_nothing_before() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    // The draft page offers the form.
    let (status, doc) = app.get_html(&format!("/drafts/{d}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::helpers::attrs(&doc, "form[action='/subscribe'] input[name=kind]", "value"),
        vec!["draft"]
    );
    let (status, doc) = app
        .get_html(&format!("/subscribe?kind=draft&target={d}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "label[for=f-email]").len(), 1);

    let res = app
        .post_form(
            "/subscribe",
            &[
                ("kind", "draft"),
                ("target", &d.to_string()),
                ("email", "Reader@Example.org"),
                ("frequency", "immediate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let mails = app.take_emails().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "reader@example.org");
    assert!(
        mails[0].text.contains("Law on Digital Services"),
        "{}",
        mails[0].text
    );
    let link = mails[0].link("/subscriptions/confirm?token=");
    assert_eq!(confirmed(&app, "reader@example.org"), vec![false]);

    // Unconfirmed: the events pass it by.
    let mut seen = 0;
    notifications::new_version(&mut app.conn(), d, 2).unwrap();
    assert!(delivered(&app, &mut seen).await.is_empty());
    let waiting: i64 = notification_events::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(waiting, 0, "nothing is kept for an unconfirmed address");

    // A mail scanner opening the link confirms nothing.
    let (status, doc) = app.new_client().get_html(&link).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&doc, "main li"),
        vec!["Updates on “Law on Digital Services”"]
    );
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert_eq!(confirmed(&app, "reader@example.org"), vec![false]);
    // A forged token confirms nothing either.
    let res = app
        .post_form(
            "/subscriptions/confirm",
            &[("token", "m1-0000000000000000")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 404);
    // Without the CSRF token, the button does nothing.
    let res = app
        .post_raw("/subscriptions/confirm", &[("token", &token)], None)
        .await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(confirmed(&app, "reader@example.org"), vec![false]);

    let res = app
        .post_form("/subscriptions/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(confirmed(&app, "reader@example.org"), vec![true]);
    notifications::new_version(&mut app.conn(), d, 3).unwrap();
    let mails = delivered(&app, &mut seen).await;
    assert_eq!(recipients(&mails), set(&["reader@example.org"]));
    assert!(
        mails[0].subject.contains("Version 3"),
        "{}",
        mails[0].subject
    );
}

#[tokio::test]
async fn subscribing_a_known_address_answers_exactly_like_a_new_one() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let target = d.to_string();
    follow(&app, "known@example.org", "draft", &target, "immediate").await;

    let mut answers = Vec::new();
    for email in ["new@example.org", "new@example.org", "known@example.org"] {
        let res = app
            .post_form(
                "/subscribe",
                &[
                    ("kind", "draft"),
                    ("target", &target),
                    ("email", email),
                    ("frequency", "immediate"),
                ],
            )
            .await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        let doc = scraper::Html::parse_document(&body);
        answers.push((status, texts(&doc, "main")));
    }
    assert_eq!(answers[0].0, 200);
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");

    // Only the mailbox learns the difference.
    let mails = app.take_emails().await;
    assert_eq!(mails.len(), 3);
    assert!(mails[0].text.contains("/subscriptions/confirm?token="));
    assert!(mails[1].text.contains("/subscriptions/confirm?token="));
    assert_eq!(mails[2].to, "known@example.org");
    assert!(!mails[2].text.contains("/subscriptions/confirm?token="));
    assert!(
        mails[2].text.contains("already follows"),
        "{}",
        mails[2].text
    );
    assert_eq!(subscription_count(&app, "new@example.org"), 1);
    assert_eq!(confirmed(&app, "known@example.org"), vec![true]);
}

#[tokio::test]
async fn a_confirmed_address_must_confirm_each_new_subscription_asked_for_anonymously() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    follow(
        &app,
        "reader@example.org",
        "draft",
        &d.to_string(),
        "immediate",
    )
    .await;
    // Someone else types the same address to add "all new drafts".
    let res = app
        .new_client()
        .post_form(
            "/subscribe",
            &[
                ("kind", "all_drafts"),
                ("email", "reader@example.org"),
                ("frequency", "immediate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(confirmed(&app, "reader@example.org"), vec![true, false]);
    let mails = app.take_emails().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("All new drafts"));
    let mut seen = 0;
    draft(
        &app,
        "Decree on Open Data",
        "decree",
        "Ministry B",
        None,
        Duration::days(20),
    );
    assert!(delivered(&app, &mut seen).await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Leaving

#[tokio::test]
async fn one_click_unsubscribe_works_with_a_bare_post() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    follow(
        &app,
        "leaver@example.org",
        "draft",
        &d.to_string(),
        "immediate",
    )
    .await;
    follow(&app, "leaver@example.org", "all_drafts", "", "immediate").await;
    let mut seen = 0;
    notifications::new_version(&mut app.conn(), d, 2).unwrap();
    let mails = delivered(&app, &mut seen).await;
    assert_eq!(mails.len(), 1);
    let path = unsubscribe_path(&mails[0]);
    let header = mails[0].header("List-Unsubscribe").unwrap();
    assert!(header.contains("<mailto:unsubscribe+"), "{header}");
    assert!(mails[0].html.contains("/subscriptions/unsubscribe?token="));

    // GET shows a page with a button and removes nothing (link scanners).
    let res = bare_client()
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(
        crate::helpers::attrs(&doc, "main form[method=post]", "action"),
        vec![path.clone()]
    );
    assert_eq!(subscription_count(&app, "leaver@example.org"), 2);

    // A tampered token removes nothing.
    let last = if path.ends_with('0') { "1" } else { "0" };
    let forged = format!("{}{last}", &path[..path.len() - 1]);
    assert_eq!(one_click(&app, &forged).await.status().as_u16(), 404);
    assert_eq!(subscription_count(&app, "leaver@example.org"), 2);

    // The mail program's POST: no cookie, no CSRF token.
    let res = one_click(&app, &path).await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("set-cookie").is_none());
    // Only the subscription the message was about.
    assert_eq!(subscription_count(&app, "leaver@example.org"), 1);
    assert_eq!(
        subscriptions::table
            .select(subscriptions::kind)
            .load::<String>(&mut *app.conn())
            .unwrap(),
        vec!["all_drafts"]
    );
    // Again: harmless.
    assert_eq!(one_click(&app, &path).await.status().as_u16(), 200);
    notifications::new_version(&mut app.conn(), d, 3).unwrap();
    assert!(delivered(&app, &mut seen).await.is_empty());
}

#[tokio::test]
async fn the_preferences_page_manages_subscriptions_without_signing_in() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    follow(
        &app,
        "reader@example.org",
        "draft",
        &d.to_string(),
        "immediate",
    )
    .await;
    let prov = follow(
        &app,
        "reader@example.org",
        "provision",
        &format!("{d}:ch1.art1"),
        "immediate",
    )
    .await;
    let mut seen = 0;
    notifications::new_version(&mut app.conn(), d, 2).unwrap();
    let mails = delivered(&app, &mut seen).await;
    let manage = link(&mails[0], "/subscriptions/manage?token=");

    let client = app.new_client();
    let (status, doc) = client.get_html(&manage).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&doc, "ul.subscriptions strong"),
        vec![
            "Updates on “Law on Digital Services”",
            "New comments on Article 1 Purpose of “Law on Digital Services”"
        ]
    );
    assert!(
        client
            .get_html("/subscriptions/manage?token=m1-nope")
            .await
            .0
            == 404
    );

    let res = client
        .post_form(
            &manage,
            &[
                ("action", "frequency"),
                ("subscription_id", &prov.to_string()),
                ("frequency", "weekly"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let frequency: String = subscriptions::table
        .find(prov)
        .select(subscriptions::frequency)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(frequency, "weekly");
    let res = client
        .post_form(
            &manage,
            &[("action", "remove"), ("subscription_id", &prov.to_string())],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(subscription_count(&app, "reader@example.org"), 1);
    // Someone else's subscription cannot be touched through this page.
    let other = follow(&app, "other@example.org", "all_drafts", "", "immediate").await;
    let res = client
        .post_form(
            &manage,
            &[
                ("action", "remove"),
                ("subscription_id", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(subscription_count(&app, "other@example.org"), 1);
    let res = client.post_form(&manage, &[("action", "remove_all")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(subscription_count(&app, "reader@example.org"), 0);
}

#[tokio::test]
async fn account_holders_subscribe_directly_and_manage_their_subscriptions() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let me = account(&app, "member@example.org", "Member");
    join_group(&app, d, me.id);
    app.sign_in("member@example.org", "correct horse battery staple")
        .await;
    let (status, doc) = app
        .get_html(&format!("/subscribe?kind=provision&target={d}:ch2.art3"))
        .await;
    assert_eq!(status, 200);
    assert!(
        texts(&doc, "label[for=f-email]").is_empty(),
        "no address to type"
    );
    let res = app
        .post_form(
            "/subscribe",
            &[
                ("kind", "provision"),
                ("target", &format!("{d}:ch2.art3")),
                ("frequency", "daily"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(app.take_emails().await.is_empty(), "no confirmation needed");
    assert_eq!(confirmed(&app, "member@example.org"), vec![true]);

    let (status, doc) = app.get_html("/account/subscriptions").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "ul.subscriptions li p strong").len(), 1 + 4);
    let res = app
        .post_form(
            "/account/subscriptions",
            &[
                ("action", "add"),
                ("kind", "wg_queue"),
                ("target", &d.to_string()),
                ("frequency", "immediate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // Not a member of another draft's group: refused.
    let d2 = draft(
        &app,
        "Rules on Archives",
        "rules",
        "Ministry C",
        None,
        Duration::days(20),
    );
    let res = app
        .post_form(
            "/account/subscriptions",
            &[
                ("action", "add"),
                ("kind", "wg_queue"),
                ("target", &d2.to_string()),
                ("frequency", "immediate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(subscription_count(&app, "member@example.org"), 2);
    // Personal kinds need an account.
    let res = app
        .new_client()
        .post_form(
            "/subscribe",
            &[
                ("kind", "my_replies"),
                ("email", "x@example.org"),
                ("frequency", "immediate"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
}

// ---------------------------------------------------------------------------------------
// Digests

#[tokio::test]
async fn a_digest_gathers_the_events_in_one_email_grouped_by_draft_and_provision() {
    let app = spawn_app().await;
    let site = site(&app);
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let d2 = draft(
        &app,
        "Rules on Archives",
        "rules",
        "Ministry C",
        None,
        Duration::days(30),
    );
    let author = account(&app, "author@example.org", "Author");
    let daily = "daily@example.org";
    follow(&app, daily, "draft", &d.to_string(), "daily").await;
    follow(&app, daily, "provision", &format!("{d}:ch1.art1"), "daily").await;
    follow(&app, daily, "provision", &format!("{d}:ch2.art3"), "daily").await;
    follow(&app, daily, "provision", &format!("{d2}:ch1.art1"), "daily").await;
    follow(
        &app,
        "weekly@example.org",
        "provision",
        &format!("{d}:ch1.art1"),
        "weekly",
    )
    .await;

    comment(
        &app,
        &author,
        d,
        Some("ch1.art1"),
        None,
        "First point on purpose.",
    );
    comment(
        &app,
        &author,
        d,
        Some("ch2.art3"),
        None,
        "A point on access.",
    );
    comment(
        &app,
        &author,
        d,
        Some("ch1.art1"),
        None,
        "Second point on purpose.",
    );
    comment(
        &app,
        &author,
        d2,
        Some("ch1.art1"),
        None,
        "A point on archives.",
    );
    notifications::new_version(&mut app.conn(), d, 2).unwrap();
    let mut seen = 0;
    assert!(
        delivered(&app, &mut seen).await.is_empty(),
        "nothing immediately"
    );

    let now = time::now();
    // Not before the day is over.
    assert_eq!(
        notifications::build_due_digests(&mut app.conn(), &site, now).unwrap(),
        0
    );
    let tomorrow = now + Duration::days(1);
    // (Tomorrow may start a new week: then the weekly digest is due too.)
    let weekly_due_tomorrow = notifications::due_period(talqy::domain::Frequency::Weekly, tomorrow)
        .unwrap()
        .1
        > now;
    assert_eq!(
        notifications::build_due_digests(&mut app.conn(), &site, tomorrow).unwrap(),
        1 + usize::from(weekly_due_tomorrow)
    );
    assert_eq!(
        notifications::build_due_digests(&mut app.conn(), &site, tomorrow).unwrap(),
        0,
        "never twice"
    );
    let mails = delivered(&app, &mut seen).await;
    let (mails, early_weekly): (Vec<SentEmail>, Vec<SentEmail>) =
        mails.into_iter().partition(|m| m.to == daily);
    assert_eq!(mails.len(), 1);
    assert_eq!(early_weekly.len(), usize::from(weekly_due_tomorrow));
    let m = &mails[0];
    assert_eq!(m.subject, "Your daily Talqy digest: 5 updates");
    let t = &m.text;
    assert_eq!(t.matches("== Law on Digital Services ==").count(), 1, "{t}");
    assert_eq!(t.matches("== Rules on Archives ==").count(), 1, "{t}");
    assert_eq!(t.matches("-- Article 1 Purpose --").count(), 2, "{t}");
    assert_eq!(t.matches("-- Article 3 Access --").count(), 1, "{t}");
    let pos = |s: &str| t.find(s).unwrap_or_else(|| panic!("{s} in {t}"));
    // Draft first, then its provisions, each with its items in order; then the other draft.
    assert!(pos("Version 2 of the draft") < pos("-- Article 1 Purpose --"));
    assert!(pos("First point on purpose.") < pos("Second point on purpose."));
    assert!(pos("Second point on purpose.") < pos("-- Article 3 Access --"));
    assert!(pos("A point on access.") < pos("== Rules on Archives =="));
    assert!(pos("== Rules on Archives ==") < pos("A point on archives."));
    assert!(m.html.contains("<h2"), "{}", m.html);
    // Its unsubscribe link removes the subscriptions it carried.
    let path = unsubscribe_path(m);
    assert_eq!(one_click(&app, &path).await.status().as_u16(), 200);
    assert_eq!(subscription_count(&app, daily), 0);

    // The weekly subscriber gets one weekly digest, once.
    let next_week = now + Duration::days(8);
    let mut weekly = usize::from(weekly_due_tomorrow);
    for at in [tomorrow, next_week, next_week] {
        weekly += notifications::build_due_digests(&mut app.conn(), &site, at).unwrap();
    }
    assert_eq!(weekly, 1);
    let mut mails = delivered(&app, &mut seen).await;
    mails.extend(early_weekly);
    assert_eq!(recipients(&mails), set(&["weekly@example.org"]));
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Your weekly Talqy digest: 2 updates");
}

#[tokio::test]
async fn two_digest_builders_on_two_pools_never_send_the_same_digest() {
    let app = spawn_app().await;
    let site = site(&app);
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let author = account(&app, "author@example.org", "Author");
    let count = 8;
    for i in 0..count {
        follow(
            &app,
            &format!("reader{i}@example.org"),
            "provision",
            &format!("{d}:ch1.art1"),
            "daily",
        )
        .await;
    }
    comment(&app, &author, d, Some("ch1.art1"), None, "One point.");
    comment(&app, &author, d, Some("ch1.art1"), None, "Another point.");
    let later: NaiveDateTime = time::now() + Duration::days(1);

    let url = app._database.url();
    let barrier = Arc::new(Barrier::new(2));
    let mut handles = Vec::new();
    for _ in 0..2 {
        let (url, site, barrier) = (url.clone(), site.clone(), barrier.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            // A pool of its own: another instance of the app.
            let db = Db::connect(&url, 2).unwrap();
            let mut conn = db.conn().unwrap();
            barrier.wait();
            notifications::build_due_digests(&mut conn, &site, later).unwrap()
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, count);
    let queued = email_jobs(&mut app.conn());
    let to: BTreeSet<String> = queued
        .iter()
        .map(|j| j["to"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(queued.len(), count, "one digest per subscriber");
    assert_eq!(to.len(), count);
    // After a "restart", the same period again: nothing.
    let db = Db::connect(&url, 2).unwrap();
    assert_eq!(
        notifications::build_due_digests(&mut db.conn().unwrap(), &site, later).unwrap(),
        0
    );
    // Two workers delivering: each digest once.
    let (a, b) = tokio::join!(
        talqy::jobs::run_pending(&app.db, &app.mailer, "worker-a"),
        talqy::jobs::run_pending(&db, &app.mailer, "worker-b"),
    );
    assert_eq!(a + b, count);
    let sent = app.emails();
    assert_eq!(sent.len(), count);
    assert_eq!(recipients(&sent).len(), count);
}

// ---------------------------------------------------------------------------------------
// Rounds

#[tokio::test]
async fn round_notices_and_closing_are_sent_once_per_round() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(2),
    );
    follow(
        &app,
        "draft@example.org",
        "draft",
        &d.to_string(),
        "immediate",
    )
    .await;
    let now = time::now();
    let mut seen = 0;
    // Opened at publication: no separate notice; closing within three days: one notice.
    assert_eq!(
        notifications::check_rounds(&mut app.conn(), now).unwrap(),
        1
    );
    assert_eq!(
        notifications::check_rounds(&mut app.conn(), now).unwrap(),
        0
    );
    let mails = delivered(&app, &mut seen).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.starts_with("Three days left"),
        "{}",
        mails[0].subject
    );
    // The round ends: the periodic close tells the followers once.
    {
        use talqy::db::schema::consultation_rounds as r;
        diesel::update(r::table)
            .set((
                r::opens_at.eq(now - Duration::minutes(2)),
                r::closes_at.eq(now - Duration::minutes(1)),
            ))
            .execute(&mut *app.conn())
            .unwrap();
    }
    assert_eq!(drafts::close_expired_rounds(&mut app.conn()).unwrap(), 1);
    assert_eq!(drafts::close_expired_rounds(&mut app.conn()).unwrap(), 0);
    let mails = delivered(&app, &mut seen).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("has closed"),
        "{}",
        mails[0].subject
    );
    let status: String = drafts_table::table
        .find(d)
        .select(drafts_table::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "closed");
}

// ---------------------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn subscribing_is_rate_limited_per_address_and_per_ip() {
    let app = spawn_app().await;
    let post = |email: String| {
        let app = &app;
        async move {
            app.post_form(
                "/subscribe",
                &[
                    ("kind", "all_drafts"),
                    ("email", &email),
                    ("frequency", "immediate"),
                ],
            )
            .await
            .status()
            .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(post("target@example.org".into()).await, 200);
    }
    assert_eq!(post("target@example.org".into()).await, 429);
    assert_eq!(app.take_emails().await.len(), 5);
    // Per IP: 20 requests an hour whatever the addresses.
    for i in 0..14 {
        assert_eq!(post(format!("a{i}@example.org")).await, 200);
    }
    assert_eq!(post("one-more@example.org".into()).await, 429);
    assert_eq!(app.take_emails().await.len(), 14);
    assert_eq!(subscription_count(&app, "one-more@example.org"), 0);
}

#[tokio::test]
async fn the_home_and_provision_pages_offer_follow_forms() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    let (status, doc) = app.get_html("/").await;
    assert_eq!(status, 200);
    let scopes =
        crate::helpers::attrs(&doc, "form[action='/subscribe'] input[name=scope]", "value");
    assert_eq!(scopes, vec!["all_drafts", "authority", "kind"]);
    let (status, doc) = app
        .get_html("/subscribe?scope=authority&authority=Ministry+A&draft_kind=law")
        .await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "p.lead"), vec!["New drafts by Ministry A"]);
    let (status, _) = app
        .get_html("/subscribe?scope=authority&authority=Nobody")
        .await;
    assert_eq!(status, 422);
    let (status, doc) = app
        .get_html(&format!("/drafts/{d}/provisions/ch1.art1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::helpers::attrs(
            &doc,
            "form[action='/subscribe'] input[name=target]",
            "value"
        ),
        vec![format!("{d}:ch1.art1")]
    );
    crate::helpers::assert_inert(&doc.html());
}

// ---------------------------------------------------------------------------------------
// A real SMTP server

/// A Python interpreter with aiosmtpd (Debian's python3-aiosmtpd), if installed.
fn aiosmtpd_python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The SMTP server process, stopped when dropped.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_aiosmtpd(python: &str) -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(python)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir.path().join("Maildir"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let server = SmtpServer {
        child,
        port,
        maildir,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not start listening on port {port}");
}

/// The messages the server wrote to its maildir.
fn received(server: &SmtpServer) -> Vec<String> {
    let new = server.maildir.path().join("Maildir").join("new");
    let Ok(entries) = std::fs::read_dir(new) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// A header of a raw message (unfolded), case-insensitive.
fn raw_header(raw: &str, name: &str) -> Option<String> {
    let head = raw.replace("\r\n", "\n");
    let head = head.split("\n\n").next().unwrap_or_default().to_string();
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            let mut value = v.trim().to_string();
            while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            }
            return Some(value);
        }
    }
    None
}

/// The decoded body of the MIME part with this content type.
fn mime_part(raw: &str, content_type: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let top = raw_header(&raw, "Content-Type").unwrap();
    let boundary = top
        .split("boundary=")
        .nth(1)
        .expect("a multipart message")
        .trim_matches('"')
        .to_string();
    let part = raw
        .split(&format!("--{boundary}"))
        .find(|p| p.contains(&format!("Content-Type: {content_type}")))
        .unwrap_or_else(|| panic!("no {content_type} part in {raw}"));
    let (headers, body) = part.trim_start_matches('\n').split_once("\n\n").unwrap();
    let body = body.strip_suffix('\n').unwrap_or(body);
    let bytes = if headers.contains("quoted-printable") {
        quoted_printable(body)
    } else if headers.contains("base64") {
        base64(body)
    } else {
        body.as_bytes().to_vec()
    };
    String::from_utf8(bytes).expect("UTF-8 body")
}

fn quoted_printable(body: &str) -> Vec<u8> {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn base64(body: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in body.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn notifications_go_out_through_a_real_smtp_server() {
    let Some(python) = aiosmtpd_python() else {
        assert!(
            std::env::var("CI").is_err(),
            "python3-aiosmtpd is required in CI (apt-get install python3-aiosmtpd)"
        );
        eprintln!("SMTP end-to-end test skipped: python3-aiosmtpd is not installed");
        return;
    };
    let server = start_aiosmtpd(python).await;
    let port = server.port;
    let app = spawn_app_with(|c| {
        c.base_url = "https://talqy.test".parse().unwrap();
        c.mail.transport = talqy::config::MailTransport::Smtp;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = port;
        c.mail.smtp_tls = talqy::config::SmtpTls::None;
        c.mail.from = "Talqy Notifications <notify@talqy.test>".parse().unwrap();
        c.mail.reply_to = Some("Secretariat <secretariat@talqy.test>".parse().unwrap());
    })
    .await;
    let d = draft(
        &app,
        "Law on Digital Services",
        "law",
        "Ministry A",
        None,
        Duration::days(30),
    );
    follow(
        &app,
        "reader@example.org",
        "draft",
        &d.to_string(),
        "immediate",
    )
    .await;
    notifications::new_version(&mut app.conn(), d, 2).unwrap();
    assert_eq!(
        app.run_pending_jobs().await,
        2,
        "the notify job, then its email"
    );

    let mut messages = Vec::new();
    for _ in 0..50 {
        messages = received(&server);
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(messages.len(), 1, "one message received");
    let raw = &messages[0];
    let header = |name: &str| raw_header(raw, name).unwrap_or_else(|| panic!("no {name}: {raw}"));
    assert_eq!(header("To"), "reader@example.org");
    assert_eq!(
        header("From"),
        "\"Talqy Notifications\" <notify@talqy.test>"
    );
    assert_eq!(header("Reply-To"), "Secretariat <secretariat@talqy.test>");
    let date = chrono::DateTime::parse_from_rfc2822(&header("Date")).expect("an RFC 2822 date");
    assert!(
        (chrono::Utc::now() - date.with_timezone(&chrono::Utc))
            .num_minutes()
            .abs()
            < 5
    );
    let id = header("Message-ID");
    assert!(id.starts_with('<') && id.ends_with("@talqy.test>"), "{id}");
    assert!(!header("Subject").is_empty());
    let list = header("List-Unsubscribe");
    let parts: Vec<&str> = list.split(',').map(str::trim).collect();
    assert_eq!(parts.len(), 2, "{list}");
    assert!(
        parts[0].starts_with("<https://talqy.test/subscriptions/unsubscribe?token="),
        "{list}"
    );
    assert!(parts[1].starts_with("<mailto:unsubscribe+"), "{list}");
    assert!(parts[1].ends_with("@talqy.test>"), "{list}");
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(header("Content-Type").starts_with("multipart/alternative"));

    let text = mime_part(raw, "text/plain");
    let html = mime_part(raw, "text/html");
    assert!(
        text.contains("Version 2 of the draft is published."),
        "{text}"
    );
    assert!(
        text.contains("https://talqy.test/subscriptions/manage?token="),
        "{text}"
    );
    assert!(
        html.contains("<a href=\"https://talqy.test/drafts/"),
        "{html}"
    );
    assert!(html.contains("/subscriptions/manage?token="), "{html}");

    // The link from the received message works with a bare POST.
    let url = parts[0].trim_start_matches('<').trim_end_matches('>');
    let path = &url["https://talqy.test".len()..];
    assert_eq!(subscription_count(&app, "reader@example.org"), 1);
    let res = one_click(&app, path).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(subscription_count(&app, "reader@example.org"), 0);
    drop(server);
}

#[tokio::test]
async fn a_campaign_found_on_an_open_draft_is_reported_to_its_working_group_once() {
    let app = spawn_app().await;
    let d = draft(
        &app,
        "Campaign draft",
        "law",
        "Ministry of Digital Affairs",
        None,
        Duration::days(30),
    );
    let member = account(&app, "member@example.org", "Group Member");
    join_group(&app, d, member.id);
    follow_as(&app, &member, "wg_campaigns", &d.to_string(), "immediate");
    let (threshold, min_size) = (
        talqy::services::campaigns::DEFAULT_THRESHOLD,
        talqy::services::campaigns::DEFAULT_MIN_SIZE,
    );
    let letter = "We the undersigned residents ask the ministry to keep strong encryption \
                  lawful for everyone and to drop the mandatory key escrow rule from this \
                  concept entirely, because it weakens the security of every citizen.";
    let other = "Small businesses cannot afford a certified security officer; please let \
                 companies below fifty employees share one officer through their chamber \
                 of commerce, as the neighbouring countries already allow.";
    let mut signers = Vec::new();
    for i in 0..min_size + 2 {
        signers.push(account(
            &app,
            &format!("signer{i}@example.org"),
            &format!("Signer {i}"),
        ));
    }
    let mut seen_mail = 0;
    let mut seen = std::collections::HashMap::new();
    let check = |seen: &mut std::collections::HashMap<i64, i64>| {
        notifications::check_campaigns(&mut app.conn(), threshold, min_size, seen, time::now())
            .unwrap()
    };

    // One copy short of a campaign: nothing to report.
    for s in &signers[..min_size - 1] {
        comment(
            &app,
            s,
            d,
            Some("ch1.art1"),
            None,
            &format!("{letter} Signed, {}.", s.display_name),
        );
    }
    assert_eq!(check(&mut seen), 0);
    assert!(delivered(&app, &mut seen_mail).await.is_empty());

    comment(
        &app,
        &signers[min_size - 1],
        d,
        Some("ch1.art1"),
        None,
        letter,
    );
    assert_eq!(
        check(&mut seen),
        1,
        "the campaign is reported when it forms"
    );
    let mails = delivered(&app, &mut seen_mail).await;
    assert_eq!(recipients(&mails), set(&["member@example.org"]));
    assert!(
        mails[0].subject.contains("Possible campaign"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0]
            .text
            .contains(&format!("{min_size} comments with nearly the same text")),
        "{}",
        mails[0].text
    );
    assert!(
        mails[0]
            .text
            .contains(&format!("/drafts/{d}/triage/campaigns"))
    );

    // Nothing new: not reported again, neither by this instance nor by a fresh one.
    assert_eq!(check(&mut seen), 0);
    assert_eq!(check(&mut std::collections::HashMap::new()), 0);
    // The campaign grows: still the same campaign.
    comment(&app, &signers[min_size], d, Some("ch1.art1"), None, letter);
    assert_eq!(check(&mut seen), 0);
    assert!(delivered(&app, &mut seen_mail).await.is_empty());

    // A second, different campaign is reported on its own.
    for s in &signers[..min_size] {
        comment(&app, s, d, Some("ch1.art2"), None, other);
    }
    assert_eq!(check(&mut seen), 1);
    let mails = delivered(&app, &mut seen_mail).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("chamber"), "{}", mails[0].text);
}
