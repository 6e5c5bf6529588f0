//! Accounts administration through the browser, and `talqy create-admin` through the binary,
//! on each backend. Every refusal is followed by a look at what is stored.

use std::process::{Command, Output};

use diesel::prelude::*;
use talqy::db::schema::{audit_log, sessions, users};

use crate::helpers::{TestApp, attrs, spawn_app, texts};

const PASSWORD: &str = "correct horse battery staple";

/// A signed-in admin client and the admin's id.
async fn admin(app: &TestApp) -> (TestApp, i64) {
    let id = app.create_user("root@example.org", "Root Admin", PASSWORD, true, true);
    let client = app.new_client();
    client.sign_in("root@example.org", PASSWORD).await;
    (client, id)
}

fn html(body: String) -> scraper::Html {
    scraper::Html::parse_document(&body)
}

async fn page_of(res: reqwest::Response) -> (u16, scraper::Html) {
    let status = res.status().as_u16();
    (status, html(res.text().await.unwrap()))
}

type AuditRow = (Option<i64>, String, String, String);

fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    audit_log::table
        .order(audit_log::id)
        .select((
            audit_log::actor_id,
            audit_log::action,
            audit_log::subject,
            audit_log::detail,
        ))
        .load(&mut *app.conn())
        .unwrap()
}

fn detail(row: &AuditRow) -> serde_json::Value {
    serde_json::from_str(&row.3).unwrap()
}

type Block = (Option<String>, Option<chrono::NaiveDateTime>, bool);

fn block_state(app: &TestApp, id: i64) -> Block {
    users::table
        .find(id)
        .select((users::blocked_reason, users::blocked_until, users::is_admin))
        .first(&mut *app.conn())
        .unwrap()
}

fn session_count(app: &TestApp, id: i64) -> i64 {
    sessions::table
        .filter(sessions::user_id.eq(id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

/// Adds accounts straight to the database (no password hashing), for lists.
fn add_plain_user(app: &TestApp, email: &str, name: &str, verified: bool) -> i64 {
    let now = talqy::domain::time::now();
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::display_name.eq(name),
            users::password_hash.eq("!"),
            users::respondent_type.eq("expert"),
            users::email_verified_at.eq(verified.then_some(now)),
            users::is_admin.eq(false),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(&mut *app.conn())
        .unwrap()
}

#[tokio::test]
async fn search_finds_accounts_by_part_of_the_email_or_the_name() {
    let app = spawn_app().await;
    let (root, _) = admin(&app).await;
    add_plain_user(&app, "aigerim.n@gov.example", "Aigerim Nurlanovna", true);
    add_plain_user(&app, "bob@example.org", "Robert Smith", false);
    add_plain_user(&app, "percent@example.org", "Fifty Percent", true);

    let names = |doc: &scraper::Html| texts(doc, "#users td.user-name");
    let (status, doc) = root.get_html("/admin/users?q=GOV.EX").await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&doc),
        vec!["Aigerim Nurlanovna"],
        "partial email, any case"
    );
    let (_, doc) = root.get_html("/admin/users?q=smi").await;
    assert_eq!(names(&doc), vec!["Robert Smith"], "partial name");
    assert_eq!(texts(&doc, "#users td.user-email"), vec!["bob@example.org"]);
    assert_eq!(texts(&doc, "#users td.user-verified"), vec!["No"]);
    assert_eq!(texts(&doc, "#users td.user-admin"), vec!["No"]);
    assert_eq!(texts(&doc, "#users td.user-blocked"), vec!["No"]);
    assert_eq!(
        attrs(&doc, "input#f-q", "value"),
        vec!["smi"],
        "the query stays in the box"
    );
    let (_, doc) = root.get_html("/admin/users?q=NURLAN").await;
    assert_eq!(names(&doc), vec!["Aigerim Nurlanovna"]);
    // LIKE wildcards are taken literally.
    let (_, doc) = root.get_html("/admin/users?q=%25").await;
    assert!(names(&doc).is_empty());
    assert!(texts(&doc, "p.count")[0].contains(": 0"));
    let (_, doc) = root.get_html("/admin/users").await;
    assert_eq!(names(&doc).len(), 4, "everyone without a query");

    // 50 a page.
    for i in 0..55 {
        add_plain_user(
            &app,
            &format!("member{i:02}@list.example"),
            &format!("List Member {i:02}"),
            true,
        );
    }
    let (_, doc) = root.get_html("/admin/users?q=list.example").await;
    assert_eq!(names(&doc).len(), 50);
    let next = attrs(&doc, "a[rel=next]", "href").remove(0);
    assert_eq!(next, "/admin/users?q=list.example&page=2");
    let (_, doc) = root.get_html(&next).await;
    assert_eq!(names(&doc).len(), 5);
    assert!(attrs(&doc, "a[rel=next]", "href").is_empty());
}

#[tokio::test]
async fn a_block_ends_the_running_session_and_refuses_sign_in_until_lifted() {
    let app = spawn_app().await;
    let (root, root_id) = admin(&app).await;
    let id = app.create_user(
        "dana@example.org",
        "Dana Participant",
        PASSWORD,
        true,
        false,
    );
    let dana = app.new_client();
    dana.sign_in("dana@example.org", PASSWORD).await;
    assert_eq!(
        dana.signed_in_as().await.as_deref(),
        Some("Dana Participant")
    );
    assert_eq!(session_count(&app, id), 1);

    let res = root
        .post_form(
            &format!("/admin/users/{id}/block"),
            &[("reason", "Spam in comments"), ("until", "2099-01-15")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/admin/users/{id}").as_str()
    );
    let (_, doc) = root.get_html(&format!("/admin/users/{id}")).await;
    assert_eq!(
        texts(&doc, ".flash"),
        vec!["The account is blocked and its sessions have ended."]
    );
    assert_eq!(
        texts(&doc, "#user-blocked"),
        vec!["Until 2099-01-15 23:59 UTC: Spam in comments"]
    );

    // Dana's open session ended at once; signing in again is refused with the reason.
    assert_eq!(session_count(&app, id), 0);
    assert_eq!(dana.signed_in_as().await, None);
    let (status, doc) = page_of(
        dana.post_form(
            "/login",
            &[("email", "dana@example.org"), ("password", PASSWORD)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("blocked until 2099-01-15 23:59 UTC: Spam in comments")
    );
    // The list shows it too.
    let (_, doc) = root.get_html("/admin/users?q=dana").await;
    assert_eq!(
        texts(&doc, "#users td.user-blocked"),
        vec!["Until 2099-01-15 23:59 UTC: Spam in comments"]
    );

    let rows = audit_rows(&app);
    let last = rows.last().unwrap();
    assert_eq!(
        (last.0, last.1.as_str(), last.2.as_str()),
        (Some(root_id), "user.block", format!("user:{id}").as_str())
    );
    let d = detail(last);
    assert_eq!(d["before"]["blocked_reason"], serde_json::Value::Null);
    assert_eq!(d["after"]["blocked_reason"], "Spam in comments");
    assert_eq!(d["after"]["blocked_until"], "2099-01-15T23:59:59Z");
    assert_eq!(d["sessions_ended"], 1);

    // Lifting the block lets Dana back in.
    let res = root
        .post_form(&format!("/admin/users/{id}/unblock"), &[])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(block_state(&app, id), (None, None, false));
    dana.sign_in("dana@example.org", PASSWORD).await;
    let last = audit_rows(&app).pop().unwrap();
    assert_eq!(last.1, "user.unblock");
    assert_eq!(
        detail(&last)["before"]["blocked_reason"],
        "Spam in comments"
    );
    assert_eq!(
        detail(&last)["after"]["blocked_reason"],
        serde_json::Value::Null
    );

    // A block without an end lasts until lifted.
    let res = root
        .post_form(
            &format!("/admin/users/{id}/block"),
            &[("reason", "Repeated abuse"), ("until", "")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        block_state(&app, id),
        (Some("Repeated abuse".into()), None, false)
    );
    assert_eq!(dana.signed_in_as().await, None);
}

#[tokio::test]
async fn a_block_without_a_reason_or_with_a_past_end_changes_nothing() {
    let app = spawn_app().await;
    let (root, _) = admin(&app).await;
    let id = app.create_user("erlan@example.org", "Erlan", PASSWORD, true, false);
    let erlan = app.new_client();
    erlan.sign_in("erlan@example.org", PASSWORD).await;
    let audit_before = audit_rows(&app).len();

    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/users/{id}/block"),
            &[("reason", "  "), ("until", "2099-03-01")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-reason"]);
    assert_eq!(attrs(&doc, "#f-reason", "aria-invalid"), vec!["true"]);
    assert_eq!(
        attrs(&doc, "#f-until", "value"),
        vec!["2099-03-01"],
        "what was typed is kept"
    );

    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/users/{id}/block"),
            &[("reason", "Spam"), ("until", "2001-01-01")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-until"]);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("in the future")
    );
    assert_eq!(texts(&doc, "#f-reason"), vec!["Spam"]);

    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/users/{id}/block"),
            &[("reason", &"x".repeat(501)), ("until", "someday")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-reason", "#f-until"]
    );

    assert_eq!(block_state(&app, id), (None, None, false));
    assert_eq!(session_count(&app, id), 1);
    assert_eq!(erlan.signed_in_as().await.as_deref(), Some("Erlan"));
    assert_eq!(audit_rows(&app).len(), audit_before);
}

#[tokio::test]
async fn an_admin_cannot_block_or_demote_themselves() {
    let app = spawn_app().await;
    let (root, root_id) = admin(&app).await;

    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/users/{root_id}/block"),
            &[("reason", "Testing the limits"), ("until", "")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-reason"]);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("cannot block your own account")
    );

    let (status, doc) = page_of(
        root.post_form(
            &format!("/admin/users/{root_id}/admin"),
            &[("admin", "revoke")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-admin"]);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("cannot remove your own administrator role")
    );

    assert_eq!(block_state(&app, root_id), (None, None, true));
    assert_eq!(root.get("/admin").await.status().as_u16(), 200);
    assert!(audit_rows(&app).is_empty());
}

#[tokio::test]
async fn granting_the_admin_role_opens_the_administration_at_once() {
    let app = spawn_app().await;
    let (root, root_id) = admin(&app).await;
    let id = app.create_user("farida@example.org", "Farida", PASSWORD, true, false);
    let farida = app.new_client();
    farida.sign_in("farida@example.org", PASSWORD).await;
    assert_eq!(farida.get("/admin").await.status().as_u16(), 403);

    let res = root
        .post_form(&format!("/admin/users/{id}/admin"), &[("admin", "grant")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let (status, doc) = farida.get_html("/admin").await;
    assert_eq!(status, 200, "the same session now reaches /admin");
    assert_eq!(texts(&doc, "h1"), vec!["Administration"]);

    // An admin can remove another admin's role (never their own).
    let res = root
        .post_form(&format!("/admin/users/{id}/admin"), &[("admin", "revoke")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(farida.get("/admin").await.status().as_u16(), 403);

    let rows = audit_rows(&app);
    let actions: Vec<(Option<i64>, &str, &str)> = rows
        .iter()
        .map(|r| (r.0, r.1.as_str(), r.2.as_str()))
        .collect();
    let subject = format!("user:{id}");
    assert_eq!(
        actions,
        vec![
            (Some(root_id), "user.grant_admin", subject.as_str()),
            (Some(root_id), "user.revoke_admin", subject.as_str()),
        ]
    );
    assert_eq!(detail(&rows[0])["before"]["is_admin"], false);
    assert_eq!(detail(&rows[0])["after"]["is_admin"], true);
}

#[tokio::test]
async fn the_dashboard_counts_accounts_and_drafts_and_links_the_areas() {
    let app = spawn_app().await;
    let (root, _) = admin(&app).await;
    add_plain_user(&app, "u1@example.org", "Unverified One", false);
    add_plain_user(&app, "u2@example.org", "Verified Two", true);
    let blocked = add_plain_user(&app, "b@example.org", "Blocked Three", true);
    root.post_form(
        &format!("/admin/users/{blocked}/block"),
        &[("reason", "Abuse"), ("until", "")],
    )
    .await;
    app.published_draft(
        "Open Law",
        "law",
        "Ministry",
        crate::helpers::THREE_CHAPTERS,
        10,
    );

    let (status, doc) = root.get_html("/admin").await;
    assert_eq!(status, 200);
    assert_eq!(
        attrs(&doc, ".admin-links a", "href"),
        vec![
            "/admin/users",
            "/admin/drafts",
            "/admin/organizations",
            "/admin/jobs"
        ]
    );
    let figure = |which: &str| texts(&doc, &format!("[data-count={which}] dd"))[0].clone();
    assert_eq!(figure("users"), "4");
    assert_eq!(figure("unverified"), "1");
    assert_eq!(figure("blocked"), "1");
    assert_eq!(figure("admins"), "1");
    assert_eq!(figure("open"), "1");
    assert_eq!(figure("draft"), "0");
}

// -----------------------------------------------------------------------------------------
// talqy create-admin

fn talqy(database_url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_talqy"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("TALQY_DATABASE_URL", database_url)
        .env("TALQY_BIND", "127.0.0.1:0")
        .env("TALQY_LOG", "warn")
        .output()
        .expect("run talqy")
}

async fn talqy_async(database_url: String, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        talqy(&database_url, &args)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn create_admin_prints_a_password_link_that_leads_into_the_administration() {
    let app = spawn_app().await;
    let url = app._database.url_string();

    let out = talqy_async(
        url.clone(),
        &[
            "create-admin",
            "Boss@Ministry.example",
            "--name",
            "Head of Unit",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("created administrator account"), "{stdout}");
    let link = stdout
        .split_whitespace()
        .find_map(|w| w.find("/password/reset?token=").map(|i| w[i..].to_string()))
        .unwrap_or_else(|| panic!("no link in {stdout}"));

    let (id, hash, verified, is_admin): (i64, String, bool, bool) = users::table
        .filter(users::email.eq("boss@ministry.example"))
        .select((
            users::id,
            users::password_hash,
            users::email_verified_at.is_not_null(),
            users::is_admin,
        ))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((hash.as_str(), verified, is_admin), ("!", true, true));
    let rows = audit_rows(&app);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0, rows[0].1.as_str(), rows[0].2.as_str()),
        (None, "admin.create", format!("user:{id}").as_str())
    );
    assert_eq!(detail(&rows[0])["created"], true);

    // No password works before one is chosen.
    let boss = app.new_client();
    let res = boss
        .post_form(
            "/login",
            &[("email", "boss@ministry.example"), ("password", "!")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);

    // The link sets the password; then the account signs in and reaches /admin.
    let (status, doc) = boss.get_html(&link).await;
    assert_eq!(status, 200);
    let token = attrs(&doc, "input[name=token]", "value").remove(0);
    let res = boss
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    boss.sign_in("boss@ministry.example", PASSWORD).await;
    assert_eq!(boss.signed_in_as().await.as_deref(), Some("Head of Unit"));
    let (status, doc) = boss.get_html("/admin").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Administration"]);

    // An existing, unconfirmed account is promoted and confirmed; no link, no password change.
    let other = app.create_user("clerk@example.org", "Clerk", PASSWORD, false, false);
    let out = talqy_async(url.clone(), &["create-admin", "clerk@example.org"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success());
    assert_eq!(
        stdout.trim(),
        format!("account {other} is now an administrator")
    );
    let (verified, is_admin): (bool, bool) = users::table
        .find(other)
        .select((users::email_verified_at.is_not_null(), users::is_admin))
        .first(&mut *app.conn())
        .unwrap();
    assert!(verified && is_admin);
    let clerk = app.new_client();
    clerk.sign_in("clerk@example.org", PASSWORD).await;
    assert_eq!(clerk.get("/admin").await.status().as_u16(), 200);
    let last = audit_rows(&app).pop().unwrap();
    assert_eq!((last.0, last.1.as_str()), (None, "admin.create"));
    assert_eq!(detail(&last)["before"]["is_admin"], false);
    assert_eq!(detail(&last)["after"]["verified"], true);

    // A bad address is one line naming the field, and nothing changes.
    let count = audit_rows(&app).len();
    let out = talqy_async(url, &["create-admin", "not-an-address"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("email"), "{err}");
    assert_eq!(audit_rows(&app).len(), count);
}
