//! Moderation: reports (once, verified participants, not one's own), auto-hide after
//! distinct verified reporters, the queue and each action with its permissions, hidden text
//! kept out of public pages, reports and emails but shown to moderators, pre-moderation,
//! and moderation actions on the public record (`talqy audit verify`).

use std::process::{Command, Output};

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::models::UserRow;
use talqy::db::schema::{
    audit_log, comment_reports, comments, drafts, moderation_actions, record_chain, users,
};
use talqy::domain::DraftStatus;
use talqy::error::AppError;
use talqy::services::comments::{self as comment_service, CommentInput, Target};
use talqy::services::moderation::{self, Action, ReportInput};
use talqy::services::{subscriptions as subs, working_groups};

use crate::helpers::{THREE_CHAPTERS, TestApp, attrs, spawn_app, spawn_app_with, texts};

const PW: &str = "correct horse battery staple";
const SECRET: &str = "Call my neighbour Ivan at 555-0199 about this";
const KEY: &str = "ch1.art1";

struct Fx {
    app: TestApp,
    draft: i64,
    admin: TestApp,
    member: TestApp,
    member_id: i64,
    outsider: TestApp,
    participant: TestApp,
    participant_id: i64,
    author: TestApp,
    author_id: i64,
}

fn user(app: &TestApp, id: i64) -> UserRow {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(&mut *app.conn())
        .unwrap()
}

async fn signed_in(app: &TestApp, email: &str, name: &str, admin: bool) -> (TestApp, i64) {
    let id = app.create_user(email, name, PW, true, admin);
    let client = app.new_client();
    client.sign_in(email, PW).await;
    (client, id)
}

async fn fixture_with(threshold: i64) -> Fx {
    let app = spawn_app_with(|c| c.moderation_auto_hide_reports = threshold).await;
    let draft = app.published_draft("Cyber Shield", "concept", "Ministry", THREE_CHAPTERS, 30);
    let other = app.published_draft("Other Law", "law", "Ministry", THREE_CHAPTERS, 30);
    let (admin, _) = signed_in(&app, "admin@example.org", "Ada Admin", true).await;
    let (member, member_id) = signed_in(&app, "member@example.org", "Marat Member", false).await;
    let (outsider, _) = signed_in(&app, "o@example.org", "Oleg Outsider", false).await;
    let (participant, participant_id) =
        signed_in(&app, "p@example.org", "Pat Participant", false).await;
    let (author, author_id) = signed_in(&app, "author@example.org", "Aigerim Author", false).await;
    {
        let conn: &mut DbConn = &mut app.conn();
        working_groups::add(conn, None, draft, "member@example.org", "member").unwrap();
        working_groups::add(conn, None, other, "o@example.org", "member").unwrap();
    }
    Fx {
        app,
        draft,
        admin,
        member,
        member_id,
        outsider,
        participant,
        participant_id,
        author,
        author_id,
    }
}

fn post(app: &TestApp, author: i64, draft: i64, parent: Option<i64>, body: &str) -> i64 {
    let conn: &mut DbConn = &mut app.conn();
    let row = users::table
        .find(author)
        .select(UserRow::as_select())
        .first(conn)
        .unwrap();
    comment_service::post(
        conn,
        &row,
        &Target {
            draft_id: draft,
            provision_key: Some(KEY.into()),
        },
        parent,
        &CommentInput {
            stance: "object".into(),
            body: body.into(),
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            ..CommentInput::default()
        },
    )
    .unwrap()
    .id
}

fn status(app: &TestApp, id: i64) -> (String, Option<String>) {
    comments::table
        .find(id)
        .select((comments::status, comments::hidden_reason))
        .first(&mut *app.conn())
        .unwrap()
}

fn report_count(app: &TestApp, id: i64) -> i64 {
    comment_reports::table
        .filter(comment_reports::comment_id.eq(id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn actions(app: &TestApp, id: i64) -> Vec<(String, Option<i64>, String)> {
    moderation_actions::table
        .filter(moderation_actions::comment_id.eq(id))
        .order(moderation_actions::id)
        .select((
            moderation_actions::action,
            moderation_actions::actor_id,
            moderation_actions::reason,
        ))
        .load(&mut *app.conn())
        .unwrap()
}

fn audit_actions(app: &TestApp, id: i64) -> Vec<String> {
    audit_log::table
        .filter(audit_log::subject.eq(format!("comment:{id}")))
        .order(audit_log::id)
        .select(audit_log::action)
        .load(&mut *app.conn())
        .unwrap()
}

async fn body_of(client: &TestApp, path: &str) -> (u16, String) {
    let res = client.get(path).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// Runs the job worker and returns the messages it sent.
async fn deliver(app: &TestApp) -> Vec<talqy::email::SentEmail> {
    let before = app.emails().len();
    app.run_pending_jobs().await;
    app.emails()[before..].to_vec()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_string()
}

async fn act(client: &TestApp, draft: i64, id: i64, action: &str, reason: &str) -> u16 {
    client
        .post_form(
            &format!("/drafts/{draft}/moderation/comments/{id}"),
            &[("action", action), ("reason", reason)],
        )
        .await
        .status()
        .as_u16()
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn reports_are_checked_and_auto_hide_counts_distinct_verified_reporters() {
    let fx = fixture_with(2).await;
    let app = &fx.app;
    let c = post(app, fx.author_id, fx.draft, None, SECRET);
    let reply = post(
        app,
        fx.participant_id,
        fx.draft,
        Some(c),
        "A reply that stays",
    );
    app.take_emails().await;

    // Every published comment offers a report link to others, not to its author.
    let (_, doc) = fx.participant.get_html(&format!("/comments/{c}")).await;
    assert_eq!(
        crate::helpers::attrs(&doc, &format!("#c{c} a.report-link"), "href"),
        vec![format!("/comments/{c}/report")]
    );
    let (_, doc) = fx.author.get_html(&format!("/comments/{c}")).await;
    assert!(texts(&doc, &format!("#c{c} a.report-link")).is_empty());

    // Visitors are sent to sign in.
    let anon = app.new_client();
    let res = anon.get(&format!("/comments/{c}/report")).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(location(&res).starts_with("/login"));

    // The form: a reason is required, "other" needs an explanation; input is kept.
    let (code, doc) = fx
        .participant
        .get_html(&format!("/comments/{c}/report"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        crate::helpers::attrs(&doc, "input[name=reason]", "value"),
        vec!["spam", "abuse", "off_topic", "personal_data", "other"]
    );
    let path = format!("/comments/{c}/report");
    let res = fx
        .participant
        .post_form(&path, &[("reason", ""), ("details", "kept text")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(
        texts(&doc, "#f-reason-error"),
        vec!["Choose why you report this comment"]
    );
    assert_eq!(texts(&doc, "#f-details"), vec!["kept text"]);
    let res = fx
        .participant
        .post_form(&path, &[("reason", "other"), ("details", "")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(report_count(app, c), 0);

    // The author cannot report their own comment.
    let res = fx
        .author
        .post_form(&path, &[("reason", "spam"), ("details", "")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(report_count(app, c), 0);

    // A first report: the comment stays published; the moderators hear of it once.
    let res = fx
        .participant
        .post_form(
            &path,
            &[("reason", "personal_data"), ("details", "A phone number")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(status(app, c).0, "published");
    let mails = deliver(app).await;
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, vec!["admin@example.org", "member@example.org"]);
    for m in &mails {
        assert!(m.text.contains("/drafts/"), "{}", m.text);
        assert!(!m.text.contains("555-0199") && !m.html.contains("555-0199"));
    }

    // The same reporter again: refused, and it does not count twice.
    let res = fx
        .participant
        .post_form(&path, &[("reason", "spam"), ("details", "")])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You have already reported this comment")
    );
    assert_eq!(report_count(app, c), 1);
    assert_eq!(status(app, c).0, "published");

    // An unverified account cannot report at all.
    let unverified = app.create_user("u@example.org", "Una Unverified", PW, false, false);
    let err = moderation::report(
        &mut app.conn(),
        &user(app, unverified),
        c,
        &ReportInput {
            reason: "spam".into(),
            details: String::new(),
        },
        2,
    )
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)));
    assert_eq!(report_count(app, c), 1);
    assert_eq!(status(app, c).0, "published");
    // A second report while one is open sends no new alert.
    assert!(deliver(app).await.is_empty());

    // A second distinct verified reporter reaches the threshold: hidden, pending review.
    let res = fx
        .outsider
        .post_form(&path, &[("reason", "abuse"), ("details", "")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (st, reason) = status(app, c);
    assert_eq!(st, "hidden");
    assert_eq!(reason.as_deref(), Some(moderation::AUTO_HIDE_REASON));
    assert_eq!(
        actions(app, c),
        vec![(
            "auto_hide".to_string(),
            None,
            moderation::AUTO_HIDE_REASON.to_string()
        )]
    );
    assert!(audit_actions(app, c).contains(&"moderation.auto_hide".to_string()));

    // The thread keeps a placeholder with the reason, and the reply.
    let (_, html) = body_of(&anon, &format!("/comments/{c}")).await;
    assert!(!html.contains("555-0199"));
    let doc = scraper::Html::parse_document(&html);
    assert_eq!(
        texts(&doc, &format!("#c{c} .moderation-notice")),
        vec![format!(
            "Hidden by the moderators: {}",
            moderation::AUTO_HIDE_REASON
        )]
    );
    assert_eq!(
        texts(&doc, &format!("#c{reply} .comment-body")),
        vec!["A reply that stays"]
    );

    // It waits in the queue as auto-hidden with both reports.
    let (status_code, doc) = fx
        .member
        .get_html(&format!("/drafts/{}/moderation", fx.draft))
        .await;
    assert_eq!(status_code, 200);
    assert_eq!(
        texts(&doc, ".moderation-summary")[0],
        "0 awaiting approval, 0 reported, 1 hidden automatically pending review. The oldest has waited 0 minutes."
    );
    assert_eq!(
        texts(&doc, &format!("#m{c} .moderation-reports li")).len(),
        2
    );
    assert!(texts(&doc, &format!("#m{c} .moderated-text"))[0].contains("555-0199"));
}

#[tokio::test]
async fn each_action_needs_a_moderator_and_hidden_text_reaches_only_moderators() {
    let fx = fixture_with(3).await;
    let app = &fx.app;
    let draft = fx.draft;
    let c = post(app, fx.author_id, draft, None, SECRET);
    let other = post(app, fx.author_id, draft, None, "An ordinary opinion");
    let queue = format!("/drafts/{draft}/moderation");

    // Who may open the queue.
    let anon = app.new_client();
    let res = anon.get(&queue).await;
    assert_eq!(res.status().as_u16(), 303);
    for client in [&fx.participant, &fx.outsider, &fx.author] {
        assert_eq!(client.get(&queue).await.status().as_u16(), 403);
    }
    for client in [&fx.member, &fx.admin] {
        assert_eq!(client.get(&queue).await.status().as_u16(), 200);
    }

    // Who may act: nobody but the working group and admins, and nothing changes otherwise.
    for client in [&fx.participant, &fx.outsider, &fx.author] {
        assert_eq!(act(client, draft, c, "hide", "Personal data").await, 403);
    }
    let res = anon
        .post_raw(
            &format!("/drafts/{draft}/moderation/comments/{c}"),
            &[("action", "hide"), ("reason", "x")],
            None,
        )
        .await;
    assert_eq!(res.status().as_u16(), 303, "visitors are sent to sign in");
    assert_eq!(status(app, c).0, "published");
    assert!(actions(app, c).is_empty());

    // Hiding needs a public reason; the error shows next to the item, keeping input.
    let res = fx
        .member
        .post_form(
            &format!("/drafts/{draft}/moderation/comments/{c}"),
            &[("action", "hide"), ("reason", " ")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec![format!("#f-reason-{c}")],
        "the summary links to the item's reason field"
    );
    assert_eq!(status(app, c).0, "published");

    // A member hides it.
    assert_eq!(
        act(
            &fx.member,
            draft,
            c,
            "hide",
            "Personal data of a third person"
        )
        .await,
        303
    );
    assert_eq!(
        status(app, c),
        (
            "hidden".to_string(),
            Some("Personal data of a third person".to_string())
        )
    );
    assert_eq!(
        actions(app, c),
        vec![(
            "hide".to_string(),
            Some(fx.member_id),
            "Personal data of a third person".to_string()
        )]
    );
    assert_eq!(audit_actions(app, c), vec!["moderation.hide"]);

    // The public: the reason, never the text, on every page that lists comments.
    for path in [
        format!("/comments/{c}"),
        format!("/drafts/{draft}/provisions/{KEY}"),
        format!("/drafts/{draft}"),
    ] {
        for client in [&anon, &fx.participant, &fx.author] {
            let (code, html) = body_of(client, &path).await;
            assert_eq!(code, 200, "{path}");
            assert!(!html.contains("555-0199"), "{path} shows the hidden text");
        }
    }
    let (_, doc) = anon.get_html(&format!("/comments/{c}")).await;
    assert_eq!(
        texts(&doc, &format!("#c{c} .moderation-notice")),
        vec!["Hidden by the moderators: Personal data of a third person"]
    );
    // A hidden comment can no longer be reported.
    let res = fx
        .participant
        .post_form(
            &format!("/comments/{c}/report"),
            &[("reason", "spam"), ("details", "")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(report_count(app, c), 0);

    // Moderators see the text, marked, in the thread and in the queue.
    for client in [&fx.member, &fx.admin] {
        let (_, doc) = client.get_html(&format!("/comments/{c}")).await;
        assert_eq!(texts(&doc, &format!("#c{c} .moderator-only")).len(), 1);
        assert!(texts(&doc, &format!("#c{c} .comment-body"))[0].contains("555-0199"));
        let (_, doc) = client.get_html(&queue).await;
        assert!(texts(&doc, &format!("#m{c} .moderated-text"))[0].contains("555-0199"));
    }
    // Only admins get the block form for the author, which goes to the admin block route.
    let (_, doc) = fx.admin.get_html(&queue).await;
    assert_eq!(
        crate::helpers::attrs(&doc, &format!("#m{c} .moderation-block form"), "action"),
        vec![format!("/admin/users/{}/block", fx.author_id)]
    );
    let (_, doc) = fx.member.get_html(&queue).await;
    assert!(texts(&doc, &format!("#m{c} .moderation-block")).is_empty());
    let res = fx
        .admin
        .post_form(
            &format!("/admin/users/{}/block", fx.author_id),
            &[("reason", "Repeated doxxing"), ("until", "2099-01-01")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(user(app, fx.author_id).is_blocked(talqy::domain::time::now()));
    let (_, doc) = fx.admin.get_html(&queue).await;
    assert_eq!(texts(&doc, &format!("#m{c} .badge")).len(), 2);

    // Restoring: admin only acts on hidden comments; the text is public again.
    assert_eq!(act(&fx.admin, draft, other, "restore", "").await, 422);
    assert_eq!(
        act(&fx.admin, draft, c, "restore", "Consent given").await,
        303
    );
    assert_eq!(status(app, c), ("published".to_string(), None));
    let (_, html) = body_of(&anon, &format!("/comments/{c}")).await;
    assert!(html.contains("555-0199"));

    // Reports dismissed: the comment stays, the queue empties.
    moderation::report(
        &mut app.conn(),
        &user(app, fx.participant_id),
        other,
        &ReportInput {
            reason: "off_topic".into(),
            details: String::new(),
        },
        3,
    )
    .unwrap();
    let (_, doc) = fx.member.get_html(&queue).await;
    assert_eq!(
        texts(&doc, ".moderation-summary")[0],
        "0 awaiting approval, 1 reported, 0 hidden automatically pending review. The oldest has waited 0 minutes."
    );
    assert_eq!(
        act(&fx.participant, draft, other, "dismiss_reports", "").await,
        403
    );
    assert_eq!(
        act(&fx.member, draft, other, "dismiss_reports", "").await,
        303
    );
    assert_eq!(status(app, other).0, "published");
    let (_, doc) = fx.member.get_html(&queue).await;
    assert_eq!(texts(&doc, "#waiting-heading ~ .empty").len(), 1);
    let resolved: Vec<Option<String>> = comment_reports::table
        .filter(comment_reports::comment_id.eq(other))
        .select(comment_reports::resolution)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(resolved, vec![Some("dismiss_reports".to_string())]);

    // A member of another draft's group cannot act here through the service either.
    let outsider = users::table
        .filter(users::email.eq("o@example.org"))
        .select(UserRow::as_select())
        .first(&mut *app.conn())
        .unwrap();
    let err =
        moderation::act(&mut app.conn(), &outsider, draft, c, Action::Hide, "Nope").unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)));

    // The log lists every action.
    let (_, doc) = fx.member.get_html(&queue).await;
    assert_eq!(texts(&doc, ".moderation-log tbody tr").len(), 3);
}

#[tokio::test]
async fn hidden_text_is_absent_from_notifications_and_the_report() {
    let fx = fixture_with(3).await;
    let app = &fx.app;
    let draft = fx.draft;
    let site = app.mailer.site().unwrap().clone();
    // A participant follows the provision, immediately.
    {
        let conn: &mut DbConn = &mut app.conn();
        let who = user(app, fx.participant_id);
        let request = subs::parse_request(
            conn,
            "provision",
            &format!("{draft}:{KEY}"),
            "immediate",
            Some(&who),
        )
        .unwrap();
        assert!(subs::subscribe_account(conn, &site, &who, &request).unwrap());
    }
    app.take_emails().await;
    let c = post(app, fx.author_id, draft, None, SECRET);
    let kept = post(app, fx.author_id, draft, None, "A visible opinion");
    let member = user(app, fx.member_id);
    moderation::act(
        &mut app.conn(),
        &member,
        draft,
        c,
        Action::Hide,
        "Personal data",
    )
    .unwrap();
    let mails = deliver(app).await;
    assert!(
        mails.iter().any(|m| m.text.contains("A visible opinion")),
        "the other comment is announced"
    );
    for m in &mails {
        assert!(!m.text.contains("555-0199") && !m.html.contains("555-0199"));
    }

    // The report, once the round is closed, in every format.
    talqy::services::drafts::transition(&mut app.conn(), draft, DraftStatus::Closed, "test", None)
        .unwrap();
    for path in [
        format!("/drafts/{draft}/report"),
        format!("/drafts/{draft}/report.csv"),
        format!("/drafts/{draft}/report.json"),
    ] {
        let (code, body) = body_of(&app.new_client(), &path).await;
        assert_eq!(code, 200, "{path}");
        assert!(!body.contains("555-0199"), "{path}");
        assert!(body.contains("A visible opinion"), "{path}");
    }
    let _ = kept;
}

#[tokio::test]
async fn premoderated_comments_stay_invisible_until_approved() {
    let fx = fixture_with(3).await;
    let app = &fx.app;
    let draft = fx.draft;
    let site = app.mailer.site().unwrap().clone();
    {
        let conn: &mut DbConn = &mut app.conn();
        let who = user(app, fx.participant_id);
        let request = subs::parse_request(
            conn,
            "provision",
            &format!("{draft}:{KEY}"),
            "immediate",
            Some(&who),
        )
        .unwrap();
        assert!(subs::subscribe_account(conn, &site, &who, &request).unwrap());
    }
    let toggle = format!("/drafts/{draft}/moderation/premoderation");

    // Only moderators turn it on.
    let res = fx
        .participant
        .post_form(&toggle, &[("premoderation", "on")])
        .await;
    assert_eq!(res.status().as_u16(), 403);
    let res = fx
        .member
        .post_form(&toggle, &[("premoderation", "on")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let on: bool = drafts::table
        .find(draft)
        .select(drafts::premoderation)
        .first(&mut *app.conn())
        .unwrap();
    assert!(on);
    app.take_emails().await;

    // The author posts through the form: the receipt says it awaits moderation.
    let (_, doc) = fx
        .author
        .get_html(&format!("/drafts/{draft}/provisions/{KEY}"))
        .await;
    let key = crate::helpers::attrs(&doc, "input[name=idempotency_key]", "value")[0].clone();
    let res = fx
        .author
        .post_form(
            &format!("/drafts/{draft}/provisions/{KEY}/comments"),
            &[
                ("stance", "object"),
                ("body", "Waiting words for approval"),
                ("idempotency_key", &key),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let receipt = location(&res);
    let (_, doc) = fx.author.get_html(&receipt).await;
    assert!(
        texts(&doc, ".flash")[0]
            .starts_with("Your comment was received. It is awaiting moderation")
    );
    let c: i64 = comments::table
        .filter(comments::author_id.eq(fx.author_id))
        .select(comments::id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status(app, c).0, "pending");
    // It is on the public record from its submission (the receipt shows its entry).
    assert_eq!(texts(&doc, ".chain-seq").len(), 1);

    // Invisible to everyone else, visible to the author (marked) and the moderators.
    let anon = app.new_client();
    for client in [&anon, &fx.participant, &fx.outsider] {
        let (_, html) = body_of(client, &format!("/drafts/{draft}/provisions/{KEY}")).await;
        assert!(!html.contains("Waiting words"));
        assert_eq!(
            client
                .get(&format!("/comments/{c}"))
                .await
                .status()
                .as_u16(),
            404
        );
    }
    let (_, doc) = fx
        .author
        .get_html(&format!("/drafts/{draft}/provisions/{KEY}"))
        .await;
    assert!(
        texts(&doc, &format!("#c{c} .moderation-notice"))[0].starts_with("Awaiting moderation")
    );
    assert_eq!(
        texts(&doc, &format!("#c{c} .comment-body")),
        vec!["Waiting words for approval"]
    );
    let (_, doc) = fx.member.get_html(&format!("/comments/{c}")).await;
    assert_eq!(
        texts(&doc, &format!("#c{c} .comment-body")),
        vec!["Waiting words for approval"]
    );
    // Not in triage until approved.
    assert_eq!(
        fx.member
            .get(&format!("/drafts/{draft}/triage/comments/{c}"))
            .await
            .status()
            .as_u16(),
        404
    );

    // Moderators are told (without the text); subscribers hear nothing yet.
    let mails = deliver(app).await;
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, vec!["admin@example.org", "member@example.org"]);
    assert!(mails.iter().all(|m| !m.text.contains("Waiting words")));
    let (_, doc) = fx
        .member
        .get_html(&format!("/drafts/{draft}/moderation"))
        .await;
    assert!(texts(&doc, ".moderation-summary")[0].starts_with("1 awaiting approval, 0 reported"));

    // Others cannot approve; a member approves: public now, and subscribers hear of it.
    assert_eq!(act(&fx.participant, draft, c, "approve", "").await, 403);
    assert_eq!(act(&fx.outsider, draft, c, "approve", "").await, 403);
    assert_eq!(act(&fx.member, draft, c, "approve", "").await, 303);
    assert_eq!(status(app, c).0, "published");
    let (_, html) = body_of(&anon, &format!("/comments/{c}")).await;
    assert!(html.contains("Waiting words for approval"));
    let mails = deliver(app).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to == "p@example.org" && m.text.contains("Waiting words"))
    );
    assert!(mails.iter().any(|m| m.to.contains("author@example.org")
        && m.subject == "Your comment on \u{201c}Cyber Shield\u{201d} is published"));

    // A rejected comment: never public; its author sees the reason.
    let r = post(app, fx.author_id, draft, None, "Buy cheap watches here");
    assert_eq!(status(app, r).0, "pending");
    assert_eq!(act(&fx.admin, draft, r, "reject", "").await, 422);
    assert_eq!(act(&fx.admin, draft, r, "reject", "Advertising").await, 303);
    assert_eq!(
        status(app, r),
        ("rejected".into(), Some("Advertising".into()))
    );
    let told: Vec<_> = deliver(app)
        .await
        .into_iter()
        .filter(|m| m.to.contains("author@example.org"))
        .collect();
    assert_eq!(told.len(), 1);
    assert!(told[0].subject.ends_with("was not published"));
    assert!(told[0].text.contains("Advertising"));
    assert!(!told[0].text.contains("cheap watches"));
    assert_eq!(
        anon.get(&format!("/comments/{r}")).await.status().as_u16(),
        404
    );
    assert_eq!(
        fx.member
            .get(&format!("/comments/{r}"))
            .await
            .status()
            .as_u16(),
        404
    );
    let (_, doc) = fx.author.get_html(&format!("/comments/{r}")).await;
    assert_eq!(
        texts(&doc, &format!("#c{r} .moderation-notice")),
        vec!["Not published by the moderators: Advertising"]
    );
    assert!(
        deliver(app)
            .await
            .iter()
            .all(|m| !m.text.contains("cheap watches"))
    );

    // The working group's own comments are not held back.
    let own = post(app, fx.member_id, draft, None, "The group explains");
    assert_eq!(status(app, own).0, "published");

    // Turning it off publishes new comments at once again.
    let res = fx
        .member
        .post_form(&toggle, &[("premoderation", "off")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let later = post(app, fx.participant_id, draft, None, "Straight through");
    assert_eq!(status(app, later).0, "published");
    let toggles: i64 = audit_log::table
        .filter(audit_log::action.eq("moderation.premoderation"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(toggles, 2);
}

fn verify(app: &TestApp) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_talqy"))
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("TALQY_DATABASE_URL", app._database.url_string())
        .env("TALQY_LOG", "warn")
        .output()
        .expect("run talqy")
}

#[tokio::test]
async fn moderation_actions_are_on_the_record_and_verify_names_tampering() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let alice = app.create_user("alice@example.org", "Alice", PW, true, false);
    let admin = app.create_user("admin@example.org", "Ada", PW, true, true);
    let admin_row = user(&app, admin);
    let c = post(&app, alice, draft, None, SECRET);
    moderation::act(
        &mut app.conn(),
        &admin_row,
        draft,
        c,
        Action::Hide,
        "Personal data",
    )
    .unwrap();
    let kinds: Vec<(String, i64)> = record_chain::table
        .order(record_chain::seq)
        .select((record_chain::kind, record_chain::subject_id))
        .load(&mut *app.conn())
        .unwrap();
    let hide_id: i64 = moderation_actions::table
        .select(moderation_actions::id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        kinds.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
        vec!["version", "comment", "moderation"]
    );
    assert_eq!(kinds[2].1, hide_id);

    // Hidden comments keep their entries: the chain verifies.
    let out = verify(&app);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok: 3 entries"), "{text}");

    // A changed reason in the stored action is named.
    diesel::update(moderation_actions::table.find(hide_id))
        .set(moderation_actions::reason.eq("Spam"))
        .execute(&mut *app.conn())
        .unwrap();
    let out = verify(&app);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.starts_with(&format!("mismatch at entry 3 (moderation {hide_id}): ")),
        "{text}"
    );
    diesel::update(moderation_actions::table.find(hide_id))
        .set(moderation_actions::reason.eq("Personal data"))
        .execute(&mut *app.conn())
        .unwrap();
    assert!(verify(&app).status.success());

    // Un-hiding the comment behind the moderators' backs is named too.
    diesel::update(comments::table.find(c))
        .set((
            comments::status.eq("published"),
            comments::hidden_reason.eq(None::<String>),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let out = verify(&app);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.starts_with(&format!("mismatch at entry 3 (moderation {hide_id}): ")),
        "{text}"
    );
    diesel::update(comments::table.find(c))
        .set((
            comments::status.eq("hidden"),
            comments::hidden_reason.eq(Some("Personal data")),
        ))
        .execute(&mut *app.conn())
        .unwrap();

    // Restore appends again, and the whole chain still verifies.
    moderation::act(&mut app.conn(), &admin_row, draft, c, Action::Restore, "").unwrap();
    let out = verify(&app);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("ok: 4 entries"), "{text}");
}

#[tokio::test]
async fn authors_are_told_what_the_moderators_decided_without_their_text() {
    let fx = fixture_with(3).await;
    let app = &fx.app;
    let draft = fx.draft;
    let c = post(app, fx.author_id, draft, None, SECRET);
    let tracking: String = comments::table
        .find(c)
        .select(comments::tracking_number)
        .first(&mut *app.conn())
        .unwrap();
    app.take_emails().await;
    let to_author = |mails: Vec<talqy::email::SentEmail>| -> Vec<talqy::email::SentEmail> {
        for m in &mails {
            assert!(!m.text.contains("555-0199") && !m.html.contains("555-0199"));
        }
        mails
            .into_iter()
            .filter(|m| m.to.contains("author@example.org"))
            .collect()
    };

    assert_eq!(
        act(&fx.member, draft, c, "hide", "Personal data of a neighbour").await,
        303
    );
    let mails = to_author(deliver(app).await);
    assert_eq!(mails.len(), 1, "one message to the author");
    assert_eq!(
        mails[0].subject,
        "Your comment on \u{201c}Cyber Shield\u{201d} has been hidden"
    );
    assert!(mails[0].text.contains("Personal data of a neighbour"));
    assert!(mails[0].text.contains(&tracking));
    assert!(mails[0].text.contains(&format!("/receipts/{tracking}")));

    assert_eq!(act(&fx.member, draft, c, "restore", "").await, 303);
    let mails = to_author(deliver(app).await);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.ends_with("is shown again"),
        "{}",
        mails[0].subject
    );

    // Dismissing reports changes nothing the author sees: no message.
    let (reporter, _) = signed_in(app, "r@example.org", "Rita Reporter", false).await;
    let res = reporter
        .post_form(
            &format!("/comments/{c}/report"),
            &[("reason", "spam"), ("details", "")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    app.take_emails().await;
    assert_eq!(act(&fx.member, draft, c, "dismiss_reports", "").await, 303);
    assert!(to_author(deliver(app).await).is_empty());
}
