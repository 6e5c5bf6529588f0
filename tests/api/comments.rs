//! Threaded comments on provisions, with receipts, through the real HTTP app.

use diesel::prelude::*;
use talqy::db::schema::{comment_revisions, comments, consultation_rounds, endorsements};

use crate::helpers::{THREE_CHAPTERS, TestApp, assert_inert, attrs, spawn_app, texts};

const PW: &str = "correct horse battery staple";

pub(crate) async fn participant(app: &TestApp, email: &str, name: &str) -> TestApp {
    app.create_user(email, name, PW, true, false);
    let client = app.new_client();
    client.sign_in(email, PW).await;
    client
}

pub(crate) async fn post(
    client: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let key = uuid::Uuid::new_v4().to_string();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if !fields.iter().any(|(k, _)| *k == "idempotency_key") {
        all.push(("idempotency_key", &key));
    }
    client.post_form(path, &all).await
}

/// Posts a comment and returns its id (from the receipt it redirects to).
pub(crate) async fn comment(client: &TestApp, draft: i64, key: &str, body: &str) -> i64 {
    let res = post(
        client,
        &format!("/drafts/{draft}/provisions/{key}/comments"),
        &[("stance", "object"), ("body", body)],
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    id_from_receipt(client, &res).await
}

pub(crate) async fn reply(client: &TestApp, parent: i64, body: &str) -> i64 {
    let res = post(
        client,
        &format!("/comments/{parent}/replies"),
        &[("body", body)],
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    id_from_receipt(client, &res).await
}

pub(crate) async fn id_from_receipt(client: &TestApp, res: &reqwest::Response) -> i64 {
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/receipts/TLQ-"), "{location}");
    let (_, doc) = client.get_html(&location).await;
    let link = attrs(&doc, "a[href^='/comments/']", "href").remove(0);
    link.trim_start_matches("/comments/").parse().unwrap()
}

fn comment_ids_in_order(doc: &scraper::Html) -> Vec<i64> {
    attrs(doc, "article.comment", "id")
        .into_iter()
        .map(|id| id.trim_start_matches('c').parse().unwrap())
        .collect()
}

#[tokio::test]
async fn a_three_level_tree_comes_back_in_order_with_depths() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let a = comment(&alice, draft, "ch1.art1", "First thread").await;
    let b = comment(&bob, draft, "ch1.art1", "Second thread").await;
    let a1 = reply(&bob, a, "Reply to first").await;
    let a1x = reply(&alice, a1, "Reply to the reply").await;
    let a2 = reply(&bob, a, "Second reply to first").await;
    let b1 = reply(&alice, b, "Reply to second").await;

    let (status, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(comment_ids_in_order(&doc), vec![a, a1, a1x, a2, b, b1]);
    let depths = attrs(&doc, ".replies > li", "class");
    assert_eq!(depths, vec!["depth-1", "depth-2", "depth-1", "depth-1"]);
    assert_eq!(texts(&doc, ".count"), vec!["2 threads"]);
    let reply_to = texts(&doc, &format!("#c{a1x} .comment-meta")).join(" ");
    assert!(reply_to.contains("In reply to Bob"), "{reply_to}");
    // Sorting newest first keeps each thread whole.
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1?sort=newest"))
        .await;
    assert_eq!(comment_ids_in_order(&doc), vec![b, b1, a, a1, a1x, a2]);
    // The draft page counts the comments of each provision and links to them.
    let (_, doc) = app.get_html(&format!("/drafts/{draft}")).await;
    assert_eq!(texts(&doc, "[id='ch1.art1'] .discuss"), vec!["6 comments"]);
    assert_eq!(texts(&doc, "[id='ch2.art3'] .discuss"), vec!["Comment"]);
    assert_eq!(
        attrs(&doc, "[id='ch1.art1'] .discuss", "href"),
        vec![format!(
            "/drafts/{draft}/provisions/ch1.art1#discussion-heading"
        )]
    );
    // The permalink shows the thread the comment belongs to.
    let (status, doc) = app.get_html(&format!("/comments/{a1x}")).await;
    assert_eq!(status, 200);
    assert_eq!(comment_ids_in_order(&doc), vec![a, a1, a1x, a2]);
}

#[tokio::test]
async fn replies_past_the_depth_cap_attach_at_the_deepest_level() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let mut parent = comment(&alice, draft, "ch2.art3", "Root").await;
    let mut chain = vec![parent];
    for i in 0..8 {
        parent = reply(&alice, parent, &format!("Level {}", i + 1)).await;
        chain.push(parent);
    }
    let rows: Vec<(i64, i32, Option<i64>)> = comments::table
        .order(comments::id)
        .select((comments::id, comments::depth, comments::parent_id))
        .load(&mut *app.conn())
        .unwrap();
    let depths: Vec<i32> = rows.iter().map(|r| r.1).collect();
    assert_eq!(depths, vec![0, 1, 2, 3, 4, 5, 5, 5, 5]);
    // The reply to a depth-5 comment became its sibling.
    assert_eq!(rows[6].2, rows[5].2);
    let (_, doc) = app.get_html(&format!("/comments/{}", chain[0])).await;
    assert_eq!(comment_ids_in_order(&doc), chain);
}

/// Alice, who the test will have post through the service directly (many comments, fast),
/// and her target: article 1 of chapter 1.
fn direct_author(
    app: &TestApp,
    draft: i64,
) -> (
    talqy::db::models::UserRow,
    talqy::services::comments::Target,
) {
    let alice = app.create_user("alice@example.org", "Alice", PW, true, false);
    let row = talqy::services::accounts::find(&mut app.conn(), alice)
        .unwrap()
        .unwrap();
    let target = talqy::services::comments::Target {
        draft_id: draft,
        provision_key: Some("ch1.art1".into()),
    };
    (row, target)
}

#[tokio::test]
async fn pagination_keeps_subtrees_whole() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let (alice_row, target) = direct_author(&app, draft);
    let mut roots = Vec::new();
    for i in 0..55 {
        let input = talqy::services::comments::CommentInput {
            stance: "support".into(),
            body: format!("Thread {i}"),
            idempotency_key: format!("k{i}"),
            ..Default::default()
        };
        let p = talqy::services::comments::post(&mut app.conn(), &alice_row, &target, None, &input)
            .unwrap();
        roots.push(p.id);
    }
    // The 50th thread (last on page 1) has three replies.
    let mut replies = Vec::new();
    for j in 0..3 {
        let input = talqy::services::comments::CommentInput {
            body: format!("Reply {j}"),
            idempotency_key: format!("r{j}"),
            ..Default::default()
        };
        let p = talqy::services::comments::post(
            &mut app.conn(),
            &alice_row,
            &target,
            Some(roots[49]),
            &input,
        )
        .unwrap();
        replies.push(p.id);
    }
    let (_, page1) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    let ids = comment_ids_in_order(&page1);
    assert_eq!(ids.len(), 53);
    assert_eq!(&ids[49..], &[roots[49], replies[0], replies[1], replies[2]]);
    assert_eq!(texts(&page1, ".pagination span"), vec!["Page 1 of 2"]);
    let next = attrs(&page1, "a[rel=next]", "href").remove(0);
    let (_, page2) = app.get_html(&next).await;
    assert_eq!(comment_ids_in_order(&page2), roots[50..].to_vec());
}

#[tokio::test]
async fn edits_within_fifteen_minutes_keep_the_earlier_text_on_record() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let id = comment(&alice, draft, "ch1.art1", "Original wording").await;
    // Only the author can edit.
    let res = bob
        .post_form(&format!("/comments/{id}/edit"), &[("body", "Hijacked")])
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let res = alice
        .post_form(
            &format!("/comments/{id}/edit"),
            &[("body", "Improved wording")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = app.get_html(&format!("/comments/{id}")).await;
    let shown = texts(&doc, &format!("#c{id}")).join(" ");
    assert!(
        shown.contains("Improved wording") && shown.contains("edited"),
        "{shown}"
    );
    let revisions: Vec<(String, String)> = comment_revisions::table
        .filter(comment_revisions::comment_id.eq(id))
        .order(comment_revisions::id)
        .select((comment_revisions::body, comment_revisions::content_hash))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0].0, "Original wording");
    assert_ne!(revisions[0].1, revisions[1].1);
    let number: String = comments::table
        .find(id)
        .select(comments::tracking_number)
        .first(&mut *app.conn())
        .unwrap();
    let (_, receipt) = app.get_html(&format!("/receipts/{number}")).await;
    assert_eq!(texts(&receipt, ".revisions li").len(), 2);
    // After the window, editing is refused and nothing changes.
    diesel::update(comments::table.find(id))
        .set(comments::created_at.eq(talqy::domain::time::now() - chrono::Duration::minutes(16)))
        .execute(&mut *app.conn())
        .unwrap();
    let res = alice
        .post_form(&format!("/comments/{id}/edit"), &[("body", "Too late")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("15 minutes"));
    let body: String = comments::table
        .find(id)
        .select(comments::body)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(body, "Improved wording");
}

#[tokio::test]
async fn withdrawal_leaves_a_placeholder_and_keeps_replies() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let id = comment(&alice, draft, "ch1.art1", "Something I regret").await;
    let r = reply(&bob, id, "A reply that stays").await;
    assert_eq!(
        bob.post_form(&format!("/comments/{id}/withdraw"), &[])
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        alice
            .post_form(&format!("/comments/{id}/withdraw"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    let html = doc.html();
    assert!(!html.contains("Something I regret"));
    assert_eq!(
        texts(&doc, &format!("#c{id} .placeholder")),
        vec!["Withdrawn by the author."]
    );
    assert!(
        texts(&doc, &format!("#c{r}"))
            .join(" ")
            .contains("A reply that stays")
    );
    // A withdrawn comment takes no new replies.
    let res = post(
        &bob,
        &format!("/comments/{id}/replies"),
        &[("body", "Late reply")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
}

#[tokio::test]
async fn endorsing_twice_counts_once() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let id = comment(&alice, draft, "ch1.art1", "Endorse me").await;
    for _ in 0..2 {
        assert_eq!(
            bob.post_form(&format!("/comments/{id}/endorse"), &[])
                .await
                .status()
                .as_u16(),
            303
        );
    }
    // Authors cannot endorse themselves.
    alice
        .post_form(&format!("/comments/{id}/endorse"), &[])
        .await;
    let (count, rows): (i32, i64) = (
        comments::table
            .find(id)
            .select(comments::endorsement_count)
            .first(&mut *app.conn())
            .unwrap(),
        endorsements::table
            .count()
            .get_result(&mut *app.conn())
            .unwrap(),
    );
    assert_eq!((count, rows), (1, 1));
    let (_, doc) = bob.get_html(&format!("/comments/{id}")).await;
    assert_eq!(
        texts(&doc, &format!("#c{id} .endorsements")),
        vec!["1 endorsement"]
    );
    assert_eq!(
        texts(&doc, &format!("#c{id} form[action$='/endorse'] button")),
        vec!["Endorsed"]
    );
    // Anonymous visitors are sent to sign in.
    let visitor = app.new_client();
    let token = visitor.csrf().await;
    let res = visitor
        .post_raw(&format!("/comments/{id}/endorse"), &[], Some(&token))
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn a_double_submit_creates_one_comment_and_one_receipt() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let (_, doc) = alice
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    let key = attrs(&doc, "input[name=idempotency_key]", "value").remove(0);
    let fields = [
        ("stance", "support"),
        ("body", "Clicked twice"),
        ("idempotency_key", key.as_str()),
    ];
    let path = format!("/drafts/{draft}/provisions/ch1.art1/comments");
    let first = alice.post_form(&path, &fields).await;
    let second = alice.post_form(&path, &fields).await;
    assert_eq!(first.status().as_u16(), 303);
    assert_eq!(second.status().as_u16(), 303);
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn posting_after_the_round_closed_is_refused_with_the_closing_time() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let closed_at = talqy::domain::time::parse_datetime("2026-01-15T12:00", false).unwrap();
    diesel::update(consultation_rounds::table)
        .set((
            consultation_rounds::opens_at.eq(closed_at - chrono::Duration::days(30)),
            consultation_rounds::closes_at.eq(closed_at),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[("stance", "object"), ("body", "Too late")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    let notice = texts(&doc, ".discussion .notice").join(" ");
    assert!(
        notice.contains("Comments are closed: the consultation ended on 2026-01-15 12:00 UTC"),
        "{notice}"
    );
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 0);
    // The page says so instead of offering the form.
    let (_, doc) = alice
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert!(attrs(&doc, "textarea[name=body]", "id").is_empty());
    assert!(
        texts(&doc, ".discussion .notice")
            .join(" ")
            .contains("Comments are closed")
    );
}

#[tokio::test]
async fn bad_comments_are_explained_and_keep_what_was_typed() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let long = "x".repeat(10_001);
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[
            ("body", &long),
            ("quote", "words not in the text"),
            ("proposed_wording", "Kept wording"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-stance", "#f-body"]
    );
    assert_eq!(texts(&doc, "#f-proposed_wording"), vec!["Kept wording"]);
    // A quote must come from the provision.
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[
            ("stance", "object"),
            ("body", "ok"),
            ("quote", "words not in the text"),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("must be copied from the provision")
    );
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
        &[
            ("stance", "object"),
            ("body", "ok"),
            ("quote", "regulates   DIGITAL public"),
        ],
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        303,
        "a real span, spacing and case aside"
    );
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1);
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(
        texts(&doc, "blockquote.quote"),
        vec!["regulates DIGITAL public"]
    );
}

#[tokio::test]
async fn the_organization_is_shown_only_for_verified_representatives() {
    use talqy::db::schema::{organization_representatives as reps, organizations};
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let alice_id: i64 =
        talqy::services::accounts::find_by_email(&mut app.conn(), "alice@example.org")
            .unwrap()
            .unwrap()
            .id;
    let now = talqy::domain::time::now();
    let org: i64 = diesel::insert_into(organizations::table)
        .values((
            organizations::name.eq("Cyber Association"),
            organizations::kind.eq("ngo"),
            organizations::registration_number.eq("A-1"),
            organizations::created_at.eq(now),
        ))
        .returning(organizations::id)
        .get_result(&mut *app.conn())
        .unwrap();
    diesel::insert_into(reps::table)
        .values((
            reps::organization_id.eq(org),
            reps::user_id.eq(alice_id),
            reps::status.eq("pending"),
            reps::created_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let org_s = org.to_string();
    let path = format!("/drafts/{draft}/provisions/ch1.art1/comments");
    let res = post(
        &alice,
        &path,
        &[
            ("stance", "object"),
            ("body", "On behalf"),
            ("organization_id", &org_s),
        ],
    )
    .await;
    assert_eq!(
        res.status().as_u16(),
        422,
        "a pending representative cannot speak for it"
    );
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("verified that you represent it")
    );
    diesel::update(reps::table)
        .set(reps::status.eq("verified"))
        .execute(&mut *app.conn())
        .unwrap();
    let (_, doc) = alice
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(
        texts(&doc, "#f-organization_id option"),
        vec!["Myself", "Cyber Association"]
    );
    let id = comment(&alice, draft, "ch1.art1", "As myself").await;
    let res = post(
        &alice,
        &path,
        &[
            ("stance", "object"),
            ("body", "On behalf"),
            ("organization_id", &org_s),
        ],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    let orgs = attrs(&doc, ".comment-author a", "href");
    assert_eq!(
        orgs,
        vec![format!("/organizations/{org}")],
        "only the comment made for it shows it"
    );
    assert!(
        !texts(&doc, &format!("#c{id} .comment-author"))
            .join(" ")
            .contains("Cyber")
    );
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1?orgs=1"))
        .await;
    assert_eq!(comment_ids_in_order(&doc).len(), 1);
}

#[tokio::test]
async fn receipts_can_be_checked_by_anyone() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law on Receipts", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let res = post(
        &alice,
        &format!("/drafts/{draft}/provisions/ch2.art3/comments"),
        &[("stance", "support"), ("body", "Receipt please")],
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let number = location
        .trim_start_matches("/receipts/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(
        number.starts_with("TLQ-2026-") || number.starts_with("TLQ-20"),
        "{number}"
    );
    let (status, doc) = alice.get_html(&location).await;
    assert_eq!(status, 200);
    assert!(texts(&doc, ".flash").join(" ").contains("published"));
    let (row_hash, created): (String, chrono::NaiveDateTime) = comments::table
        .select((comments::content_hash, comments::created_at))
        .first(&mut *app.conn())
        .unwrap();
    let visitor = app.new_client();
    let (status, doc) = visitor.get_html(&format!("/receipts/{number}")).await;
    assert_eq!(status, 200);
    let dl = texts(&doc, "dl.receipt dd").join(" | ");
    assert!(dl.contains(&row_hash) && row_hash.len() == 64, "{dl}");
    assert!(
        dl.contains("Law on Receipts") && dl.contains("ch2.art3"),
        "{dl}"
    );
    assert!(dl.contains(&talqy::domain::time::display(created)), "{dl}");
    let (status, doc) = visitor.get_html("/receipts/TLQ-2026-99999999").await;
    assert_eq!(status, 404);
    assert_eq!(texts(&doc, "h1"), vec!["Page not found"]);
}

#[tokio::test]
async fn comments_need_a_signed_in_verified_participant() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let visitor = app.new_client();
    let (_, doc) = visitor
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(
        attrs(&doc, ".discussion .notice a", "href"),
        vec![format!(
            "/login?next=%2Fdrafts%2F{draft}%2Fprovisions%2Fch1.art1"
        )]
    );
    let token = visitor.csrf().await;
    let res = visitor
        .post_raw(
            &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
            &[
                ("stance", "object"),
                ("body", "x"),
                ("idempotency_key", "k"),
            ],
            Some(&token),
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    // An unverified account is refused by the service even if it had a session.
    let id = app.create_user("new@example.org", "New", PW, false, false);
    let user = talqy::services::accounts::find(&mut app.conn(), id)
        .unwrap()
        .unwrap();
    let err = talqy::services::comments::post(
        &mut app.conn(),
        &user,
        &talqy::services::comments::Target {
            draft_id: draft,
            provision_key: None,
        },
        None,
        &talqy::services::comments::CommentInput {
            stance: "object".into(),
            body: "x".into(),
            idempotency_key: "k".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, talqy::error::AppError::Forbidden(_)));
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 0);
}

/// Known XSS vectors: script tags, event handlers, javascript:/data: URLs, SVG, broken
/// markup and Markdown link tricks.
const PAYLOADS: [&str; 32] = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](data:text/html,<script>alert(1)</script>)",
    "[click]( javascript:alert(1) )",
    "![img](javascript:alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\"><script>alert(1)</script><a title=\"",
];

#[tokio::test]
async fn thirty_known_xss_payloads_are_rendered_inert() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let mut first = None;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        // The payload is the display name, the body and the proposed wording at once.
        let email = format!("x{i}@example.org");
        let name = format!("N{i} {payload}");
        let name = name.chars().take(80).collect::<String>();
        app.create_user(&email, &name, PW, true, false);
        let client = app.new_client();
        client.sign_in(&email, PW).await;
        let res = post(
            &client,
            &format!("/drafts/{draft}/provisions/ch1.art1/comments"),
            &[
                ("stance", "object"),
                ("body", payload),
                ("proposed_wording", payload),
            ],
        )
        .await;
        assert_eq!(
            res.status().as_u16(),
            303,
            "payload {i} was refused: {payload}"
        );
        let id = id_from_receipt(&client, &res).await;
        first.get_or_insert(id);
    }
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, PAYLOADS.len() as i64);
    for path in [
        format!("/drafts/{draft}/provisions/ch1.art1"),
        format!("/comments/{}", first.unwrap()),
    ] {
        let html = app.get(&path).await.text().await.unwrap();
        assert!(html.contains("N0 "), "the comments are on the page");
        assert_inert(&html);
    }
}

#[tokio::test]
async fn a_comment_on_a_provision_that_does_not_exist_is_refused() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    for quote in ["", "regulates"] {
        let res = post(
            &alice,
            &format!("/drafts/{draft}/provisions/ch9.art99/comments"),
            &[("stance", "object"), ("body", "Lost"), ("quote", quote)],
        )
        .await;
        assert_eq!(res.status().as_u16(), 404, "quote {quote:?}");
    }
    let n: i64 = comments::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_long_thread_shows_its_first_replies_and_links_to_the_whole_thread() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = participant(&app, "alice@example.org", "Alice").await;
    let bob = participant(&app, "bob@example.org", "Bob").await;
    let root = comment(&alice, draft, "ch1.art1", "Opening a long thread").await;
    let mut replies = Vec::new();
    for n in 0..12 {
        let who = if n % 2 == 0 { &bob } else { &alice };
        replies.push(reply(who, root, &format!("Reply number {n}")).await);
    }
    let other = comment(&bob, draft, "ch1.art1", "A short thread").await;

    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    let mut expected = vec![root];
    expected.extend(&replies[..5]);
    expected.push(other);
    assert_eq!(comment_ids_in_order(&doc), expected);
    assert_eq!(
        texts(&doc, ".more-replies a"),
        vec!["Show the whole thread (7 more replies)"]
    );
    assert_eq!(
        attrs(&doc, ".more-replies a", "href"),
        vec![format!("/comments/{root}")]
    );
    // The thread's own page has every reply.
    let (_, doc) = app.get_html(&format!("/comments/{root}")).await;
    let mut whole = vec![root];
    whole.extend(&replies);
    assert_eq!(comment_ids_in_order(&doc), whole);
    assert!(texts(&doc, ".more-replies a").is_empty());
}

#[tokio::test]
async fn a_page_shows_at_most_fifty_replies_and_links_the_threads_past_that() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let (alice_row, target) = direct_author(&app, draft);
    let post = |parent: Option<i64>, key: String| {
        let input = talqy::services::comments::CommentInput {
            stance: "support".into(),
            body: format!("Text {key}"),
            idempotency_key: key,
            ..Default::default()
        };
        talqy::services::comments::post(&mut app.conn(), &alice_row, &target, parent, &input)
            .unwrap()
            .id
    };
    // Twelve threads of five replies each: sixty replies in all.
    let mut roots = Vec::new();
    for t in 0..12 {
        let root = post(None, format!("t{t}"));
        for r in 0..5 {
            post(Some(root), format!("t{t}r{r}"));
        }
        roots.push(root);
    }
    let (_, doc) = app
        .get_html(&format!("/drafts/{draft}/provisions/ch1.art1"))
        .await;
    assert_eq!(comment_ids_in_order(&doc).len(), 12 + 50);
    assert_eq!(
        texts(&doc, ".more-replies a"),
        vec!["Show the whole thread (5 more replies)"; 2]
    );
    assert_eq!(
        attrs(&doc, ".more-replies a", "href"),
        vec![
            format!("/comments/{}", roots[10]),
            format!("/comments/{}", roots[11])
        ]
    );
}
