//! Anti-abuse on posting (hourly limits per account and per address, links from new
//! accounts, the same text flooded), the honeypot on public forms, and the commenter's
//! choice to be shown as "Participant".

use chrono::Duration;
use diesel::prelude::*;
use talqy::db::schema::{comments, subscribers, users};

use crate::comments::{comment, participant, post};
use crate::helpers::{THREE_CHAPTERS, TestApp, attrs, spawn_app, spawn_app_with, texts};

const HONEYPOT_FILLED: (&str, &str) = ("homepage", "http://spam.example");

fn comment_count(app: &TestApp) -> i64 {
    comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

async fn post_on(client: &TestApp, draft: i64, key: &str, body: &str) -> reqwest::Response {
    post(
        client,
        &format!("/drafts/{draft}/provisions/{key}/comments"),
        &[("stance", "object"), ("body", body)],
    )
    .await
}

/// The form page that answers a refused post: 422, the message, and the text kept.
async fn assert_refused_keeping(res: reqwest::Response, message: &str, body: &str) {
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    let summary = texts(&doc, ".error-summary").join(" ");
    assert!(summary.contains(message), "{summary}");
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-body"]);
    assert_eq!(texts(&doc, "#f-body"), vec![body.to_string()]);
}

#[tokio::test]
async fn posting_is_limited_per_account_and_per_address_without_losing_the_text() {
    let app = spawn_app_with(|c| {
        c.comments_per_hour_per_account = 2;
        c.comments_per_hour_per_ip = 3;
    })
    .await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    comment(&alice, draft, "ch1.art1", "First point.").await;
    comment(&alice, draft, "ch1.art2", "Second point.").await;
    let third = "A third point that must not be lost.";
    assert_refused_keeping(
        post_on(&alice, draft, "ch2.art3", third).await,
        "as many comments as allowed in one hour",
        third,
    )
    .await;
    // Replies count too.
    let res = post(
        &alice,
        &format!("/comments/{}/replies", 1),
        &[("body", "A reply")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(comment_count(&app), 2);

    // Another account from the same address: one more, then the address is spent.
    comment(&bob, draft, "ch1.art1", "Bob's point.").await;
    assert_refused_keeping(
        post_on(&bob, draft, "ch1.art2", "Bob again.").await,
        "as many comments as allowed",
        "Bob again.",
    )
    .await;
    assert_eq!(comment_count(&app), 3);
}

#[tokio::test]
async fn new_accounts_may_post_only_a_few_links() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let newcomer = participant(&app, "new@example.org", "Newcomer").await;
    let links = "See https://a.example/x, [this](https://b.example/y) and www.c.example.";
    assert_refused_keeping(
        post_on(&newcomer, draft, "ch1.art1", links).await,
        "at most 2 links",
        links,
    )
    .await;
    assert_eq!(comment_count(&app), 0);
    comment(
        &newcomer,
        draft,
        "ch1.art1",
        "Only https://a.example/x and www.c.example.",
    )
    .await;

    // The same links from an account that has been here for a month are fine.
    let veteran = participant(&app, "old@example.org", "Veteran").await;
    diesel::update(users::table.filter(users::email.eq("old@example.org")))
        .set(users::created_at.eq(talqy::domain::time::now() - Duration::days(30)))
        .execute(&mut *app.conn())
        .unwrap();
    comment(&veteran, draft, "ch1.art1", links).await;
    assert_eq!(comment_count(&app), 2);
}

#[tokio::test]
async fn one_account_cannot_flood_the_same_text() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let text = "Delete this article: it gives the ministry powers no court can review.";
    for key in ["ch1.art1", "ch1.art2", "ch2.art3"] {
        comment(&alice, draft, key, text).await;
    }
    // Case, punctuation and spacing do not make a copy new.
    let copy = "DELETE this article -- it gives the ministry powers no court can review";
    assert_refused_keeping(
        post_on(&alice, draft, "ch1.art1", copy).await,
        "already posted this text 3 times",
        copy,
    )
    .await;
    assert_eq!(comment_count(&app), 3);
    // A different text is fine, and so is the same text from someone else.
    comment(&alice, draft, "ch1.art1", "A genuinely different concern.").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    comment(&bob, draft, "ch1.art1", text).await;
    assert_eq!(comment_count(&app), 5);
}

#[tokio::test]
async fn public_forms_carry_a_honeypot_that_refuses_robots() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    for path in [
        "/register".to_string(),
        "/password/forgot".to_string(),
        format!("/subscribe?kind=draft&target={draft}"),
    ] {
        let (_, doc) = app.get_html(&path).await;
        assert_eq!(
            attrs(
                &doc,
                ".hp[aria-hidden=true] input[name=homepage]",
                "tabindex"
            ),
            vec!["-1"],
            "{path}"
        );
    }
    let users_before: i64 = users::table.count().get_result(&mut *app.conn()).unwrap();
    let res = app
        .post_form(
            "/register",
            &[
                ("email", "bot@example.org"),
                ("display_name", "Bot"),
                ("password", "correct horse battery staple"),
                ("respondent_type", "citizen"),
                HONEYPOT_FILLED,
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("meant to stay empty"));
    let users_after: i64 = users::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(users_before, users_after);
    assert!(app.take_emails().await.is_empty());

    let res = app
        .post_form(
            "/subscribe",
            &[
                ("kind", "draft"),
                ("target", &draft.to_string()),
                ("email", "bot@example.org"),
                ("frequency", "immediate"),
                HONEYPOT_FILLED,
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 400);
    let n: i64 = subscribers::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 0);

    let alice = participant(&app, "alice@example.org", "Alice").await;
    let (_, doc) = alice
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(texts(&doc, "#comment-form .hp label").len(), 1);
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[("stance", "object"), ("body", "Buy now"), HONEYPOT_FILLED],
    )
    .await;
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(comment_count(&app), 0);
    // An empty honeypot is what people send.
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[
            ("stance", "object"),
            ("body", "A real point"),
            ("homepage", ""),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn a_commenter_can_be_shown_as_participant_and_the_text_stays() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice Alimova").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[
            ("stance", "object"),
            ("body", "Article 1 is too vague."),
            ("show_as_participant", "1"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let hidden = crate::comments::id_from_receipt(&alice, &res).await;
    let named = comment(&alice, draft, "ch1.art2", "Article 2 is fine.").await;

    let provision = format!("/drafts/{draft}/provisions/ch1.art1");
    let (_, doc) = app.new_client().get_html(&provision).await;
    assert_eq!(
        texts(&doc, &format!("#c{hidden} .comment-author strong")),
        vec!["Participant"]
    );
    assert!(texts(&doc, &format!("#c{hidden} .comment-body"))[0].contains("too vague"));
    let page = doc.html();
    assert!(
        !page.contains("Alice Alimova"),
        "the name is nowhere on the page"
    );
    let (_, doc) = app
        .new_client()
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art2"))
        .await;
    assert_eq!(
        texts(&doc, &format!("#c{named} .comment-author strong")),
        vec!["Alice Alimova"]
    );

    // Nobody else can change it.
    let res = bob
        .post_form(&format!("/comments/{hidden}/name"), &[("show", "name")])
        .await;
    assert_eq!(res.status().as_u16(), 403);

    // The author asks afterwards for the other comment, then changes their mind on the first.
    let res = alice
        .post_form(
            &format!("/comments/{named}/name"),
            &[("show", "participant")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let res = alice
        .post_form(&format!("/comments/{hidden}/name"), &[("show", "name")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = app
        .new_client()
        .get_html(&format!("/comments/{named}"))
        .await;
    assert_eq!(
        texts(&doc, &format!("#c{named} .comment-author strong")),
        vec!["Participant"]
    );
    assert!(!doc.html().contains("Alice Alimova"));
    let (_, doc) = app
        .new_client()
        .get_html(&format!("/comments/{hidden}"))
        .await;
    assert_eq!(
        texts(&doc, &format!("#c{hidden} .comment-author strong")),
        vec!["Alice Alimova"]
    );

    // The exported report follows the choice; the public record still verifies.
    let json: serde_json::Value = app
        .get(&format!("/drafts/{draft}/report.json"))
        .await
        .json()
        .await
        .unwrap();
    let authors: Vec<String> = json["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(authors.contains(&"Participant".to_string()), "{authors:?}");
    let verified = talqy::services::chain::verify(&mut app.conn()).unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}
