//! The participant's own account area: profile, email change, password change, devices,
//! deleting the account, the privacy page; through the real HTTP app on each backend.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use talqy::db::schema::{
    email_tokens, jobs, organization_representatives, organizations, sessions, users,
    working_group_members,
};

use crate::helpers::{TestApp, TestDatabase, assert_inert, attrs, spawn_app, texts};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "violet kettle under moonlight";

type UserSnapshot = (
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn snapshot(app: &TestApp, id: i64) -> UserSnapshot {
    users::table
        .find(id)
        .select((
            users::email,
            users::display_name,
            users::password_hash,
            users::respondent_type,
            users::email_verified_at,
            users::deleted_at,
        ))
        .first(&mut *app.conn())
        .unwrap()
}

fn session_ids(app: &TestApp, user_id: i64) -> Vec<i64> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order(sessions::id)
        .select(sessions::id)
        .load(&mut *app.conn())
        .unwrap()
}

fn token_count(app: &TestApp, user_id: i64) -> i64 {
    email_tokens::table
        .filter(email_tokens::user_id.eq(user_id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn pending_email_jobs(app: &TestApp) -> i64 {
    jobs::table
        .filter(jobs::kind.eq("email"))
        .filter(jobs::done_at.is_null())
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

async fn html(res: reqwest::Response) -> scraper::Html {
    scraper::Html::parse_document(&res.text().await.unwrap())
}

/// Follows a 303 and returns the flash shown on the page it leads to.
async fn flash_after(client: &TestApp, res: reqwest::Response) -> Vec<String> {
    assert_eq!(res.status().as_u16(), 303, "expected a redirect");
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (_, doc) = client.get_html(&to).await;
    texts(&doc, ".flash")
}

/// A browser that sends a user-agent string, as real ones do.
fn browser(app: &TestApp, user_agent: &str) -> TestApp {
    TestApp {
        address: app.address.clone(),
        db: app.db.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .user_agent(user_agent)
            .build()
            .unwrap(),
        _database: TestDatabase::Borrowed,
        mailer: app.mailer.clone(),
        pages: app.pages.clone(),
    }
}

#[tokio::test]
async fn the_account_page_shows_the_details_and_saves_name_and_role() {
    let app = spawn_app().await;
    let id = app.create_user("amina@example.org", "Amina", PASSWORD, true, false);
    app.sign_in("amina@example.org", PASSWORD).await;

    let (status, doc) = app.get_html("/account").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Your account"]);
    let details = texts(&doc, ".account-details dd");
    assert_eq!(details[0], "Amina");
    assert!(details[1].starts_with("amina@example.org"), "{details:?}");
    assert_eq!(details[2], "A citizen");
    assert!(details[3].ends_with("UTC"), "member since: {details:?}");
    for link in [
        "/account/email",
        "/account/password",
        "/account/sessions",
        "/account/delete",
    ] {
        assert!(
            attrs(&doc, "main a", "href").iter().any(|h| h == link),
            "{link}"
        );
    }
    assert_eq!(attrs(&doc, "#f-display_name", "value"), vec!["Amina"]);
    assert_eq!(
        attrs(&doc, "input[name=respondent_type][checked]", "value"),
        vec!["citizen"]
    );

    let res = app
        .post_form(
            "/account",
            &[
                ("display_name", "  Amina   Seitkali "),
                ("respondent_type", "ngo"),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    assert_eq!(
        flash_after(&app, res).await,
        vec!["Your details were saved."]
    );
    let row = snapshot(&app, id);
    assert_eq!((row.1.as_str(), row.3.as_str()), ("Amina Seitkali", "ngo"));
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Amina Seitkali"));

    // Invalid input: both errors shown, what was typed kept, nothing stored.
    let res = app
        .post_form(
            "/account",
            &[("display_name", "A"), ("respondent_type", "astronaut")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = html(res).await;
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-display_name", "#f-respondent_type"]
    );
    assert_eq!(attrs(&doc, "#f-display_name", "value"), vec!["A"]);
    assert_eq!(attrs(&doc, "#f-display_name", "aria-invalid"), vec!["true"]);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("2 to 80 characters")
    );
    assert_eq!(snapshot(&app, id), row, "nothing changed");
}

#[tokio::test]
async fn changing_the_email_address_takes_effect_only_from_the_new_mailbox() {
    let app = spawn_app().await;
    let id = app.create_user("old@example.org", "Olzhas", PASSWORD, true, false);
    app.sign_in("old@example.org", PASSWORD).await;
    let (status, doc) = app.get_html("/account/email").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Change your email address"]);

    // Wrong current password: refused on that field, the new address kept, nothing sent.
    let res = app
        .post_form(
            "/account/email",
            &[
                ("new_email", "New@Example.org"),
                ("current_password", "not my password"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = html(res).await;
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-current_password"]
    );
    assert_eq!(
        attrs(&doc, "#f-current_password", "aria-invalid"),
        vec!["true"]
    );
    assert_eq!(
        attrs(&doc, "#f-new_email", "value"),
        vec!["New@Example.org"]
    );
    assert_eq!(
        attrs(&doc, "#f-current_password", "value"),
        Vec::<String>::new()
    );
    assert!(app.take_emails().await.is_empty());
    assert_eq!(token_count(&app, id), 0);

    let before = snapshot(&app, id);
    let res = app
        .post_form(
            "/account/email",
            &[
                ("new_email", "New@Example.org"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    let flash = flash_after(&app, res).await;
    assert!(flash[0].contains("confirmation link"), "{flash:?}");
    assert_eq!(
        snapshot(&app, id),
        before,
        "nothing changes before the link"
    );

    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    let to_new = emails
        .iter()
        .find(|e| e.to == "new@example.org")
        .expect("link to the new address");
    assert_eq!(to_new.subject, "Confirm your new email address for Talqy");
    let link = to_new.link("/account/email/confirm?token=");
    let to_old = emails
        .iter()
        .find(|e| e.to == "old@example.org")
        .expect("notice to the old address");
    assert_eq!(
        to_old.subject,
        "A change of your Talqy email address was requested"
    );
    assert!(to_old.text.contains("new@example.org"));
    assert!(
        !to_old.text.contains("token="),
        "no link for the old address"
    );

    // The link works from any browser; opening it changes nothing (mail scanners).
    let phone = app.new_client();
    let (status, doc) = phone.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(texts(&doc, "main p").join(" ").contains("new@example.org"));
    assert_eq!(snapshot(&app, id).0, "old@example.org");
    let token = attrs(&doc, "input[name=token]", "value").remove(0);
    let res = phone
        .post_form("/account/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(
        flash_after(&phone, res).await,
        vec!["Your email address is now new@example.org."]
    );
    let after = snapshot(&app, id);
    assert_eq!(after.0, "new@example.org");
    assert!(after.4.is_some(), "the new address is verified");
    assert_eq!(after.2, before.2, "password unchanged");

    // Single use.
    let res = phone
        .post_form("/account/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("already been used"));
    let (status, doc) = phone.get_html(&link).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("already been used")
    );

    // Only the new address signs in now.
    let res = phone
        .post_form(
            "/login",
            &[("email", "old@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    phone.sign_in("new@example.org", PASSWORD).await;
    assert_eq!(phone.signed_in_as().await.as_deref(), Some("Olzhas"));

    // An expired link is refused and changes nothing.
    let res = app
        .post_form(
            "/account/email",
            &[
                ("new_email", "third@example.org"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let link = app
        .take_emails()
        .await
        .into_iter()
        .find(|e| e.to == "third@example.org")
        .unwrap()
        .link("/account/email/confirm?token=");
    diesel::update(email_tokens::table.filter(email_tokens::used_at.is_null()))
        .set(email_tokens::expires_at.eq(talqy::domain::time::now() - chrono::Duration::minutes(1)))
        .execute(&mut *app.conn())
        .unwrap();
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("has expired")
    );
    let token = link.split("token=").nth(1).unwrap().to_string();
    let res = app
        .post_form("/account/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("has expired"));
    assert_eq!(snapshot(&app, id).0, "new@example.org");
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answer_and_nothing_changes() {
    let app = spawn_app().await;
    let me = app.create_user("me@example.org", "Madina", PASSWORD, true, false);
    let other = app.create_user("taken@example.org", "Other Person", PASSWORD, true, false);
    app.sign_in("me@example.org", PASSWORD).await;
    let (me_before, other_before) = (snapshot(&app, me), snapshot(&app, other));

    let taken = app
        .post_form(
            "/account/email",
            &[
                ("new_email", "taken@example.org"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.headers()["location"], "/account");
    let taken_flash = flash_after(&app, taken).await;
    assert_eq!(token_count(&app, me), 0, "no link for a taken address");
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    let to_owner = emails.iter().find(|e| e.to == "taken@example.org").unwrap();
    assert_eq!(
        to_owner.subject,
        "Someone tried to use your email address on Talqy"
    );
    for secret in ["me@example.org", "Madina", "token="] {
        assert!(
            !to_owner.text.contains(secret) && !to_owner.html.contains(secret),
            "the owner learns nothing more: {secret}"
        );
    }
    let to_me = emails.iter().find(|e| e.to == "me@example.org").unwrap();
    assert_eq!(
        to_me.subject,
        "A change of your Talqy email address was requested"
    );
    assert_eq!(snapshot(&app, me), me_before);
    assert_eq!(snapshot(&app, other), other_before);

    // A free address gets the very same answer (and the old address the same notice).
    let free = app
        .post_form(
            "/account/email",
            &[
                ("new_email", "free@example.org"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(free.headers()["location"], "/account");
    assert_eq!(flash_after(&app, free).await, taken_flash);
    let emails = app.take_emails().await;
    let notice = emails.iter().find(|e| e.to == "me@example.org").unwrap();
    assert_eq!(notice.subject, to_me.subject);
    let link = emails
        .iter()
        .find(|e| e.to == "free@example.org")
        .unwrap()
        .link("/account/email/confirm?token=");

    // Someone else takes the address before the link is used: confirmation re-checks.
    app.create_user("free@example.org", "Quick", PASSWORD, true, false);
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("can no longer be used")
    );
    let token = link.split("token=").nth(1).unwrap().to_string();
    let res = app
        .post_form("/account/email/confirm", &[("token", &token)])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("can no longer be used"));
    assert_eq!(snapshot(&app, me), me_before);
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_devices_only() {
    let app = spawn_app().await;
    let id = app.create_user("pw@example.org", "Pavel", PASSWORD, true, false);
    app.sign_in("pw@example.org", PASSWORD).await;
    let laptop = app.new_client();
    laptop.sign_in("pw@example.org", PASSWORD).await;
    let (status, doc) = app.get_html("/account/password").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Change your password"]);
    let before = snapshot(&app, id);

    // Wrong current password and a weak new one: both refused, nothing changes.
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "password1"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = html(res).await;
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-current_password", "#f-new_password"]
    );
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("current password is not right")
    );
    assert_eq!(
        attrs(&doc, "input[type=password]", "value"),
        Vec::<String>::new()
    );
    assert_eq!(snapshot(&app, id), before);
    assert_eq!(laptop.signed_in_as().await.as_deref(), Some("Pavel"));
    assert!(app.take_emails().await.is_empty());

    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.headers()["location"], "/account");
    assert_eq!(
        flash_after(&app, res).await,
        vec!["Your password was changed. Your other devices have been signed out."]
    );
    assert_eq!(
        app.signed_in_as().await.as_deref(),
        Some("Pavel"),
        "this device stays signed in"
    );
    assert_eq!(laptop.signed_in_as().await, None, "the other device is out");
    assert_eq!(session_ids(&app, id).len(), 1);
    let after = snapshot(&app, id);
    assert_ne!(after.2, before.2);
    assert!(after.2.starts_with("$argon2id$"));
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "pw@example.org");
    assert_eq!(emails[0].subject, "Your Talqy password was changed");

    let res = laptop
        .post_form(
            "/login",
            &[("email", "pw@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        res.status().as_u16(),
        422,
        "the old password no longer works"
    );
    laptop.sign_in("pw@example.org", NEW_PASSWORD).await;
}

#[tokio::test]
async fn the_devices_page_lists_sessions_and_signs_one_out() {
    let app = spawn_app().await;
    let id = app.create_user("dev@example.org", "Dev", PASSWORD, true, false);
    let desktop = browser(
        &app,
        "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    );
    desktop.sign_in("dev@example.org", PASSWORD).await;
    let phone = browser(
        &app,
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    );
    phone.sign_in("dev@example.org", PASSWORD).await;

    let (status, doc) = desktop.get_html("/account/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Where you are signed in"]);
    assert_eq!(
        texts(&doc, "tbody .device"),
        vec!["Firefox on Linux", "Chrome on Android"]
    );
    assert_eq!(
        texts(&doc, "tr.current-session .badge"),
        vec!["This device"]
    );
    assert_eq!(
        texts(&doc, "tbody td time").len(),
        4,
        "started and last seen"
    );
    let revoke = attrs(&doc, "form[action$='/revoke']", "action");
    assert_eq!(revoke.len(), 1, "only the other device has a button");
    let phone_id = *session_ids(&app, id)
        .iter()
        .find(|s| revoke[0] == format!("/account/sessions/{s}/revoke"))
        .expect("the button names the phone's session");

    let res = desktop.post_form(&revoke[0], &[]).await;
    assert_eq!(res.headers()["location"], "/account/sessions");
    assert_eq!(
        flash_after(&desktop, res).await,
        vec!["That device has been signed out."]
    );
    assert!(!session_ids(&app, id).contains(&phone_id));
    assert_eq!(phone.signed_in_as().await, None, "out on its next request");
    assert_eq!(desktop.signed_in_as().await.as_deref(), Some("Dev"));
    let (_, doc) = desktop.get_html("/account/sessions").await;
    assert_eq!(texts(&doc, "tbody tr").len(), 1);
    assert!(
        attrs(
            &doc,
            "form[action='/account/sessions/revoke-others']",
            "action"
        )
        .is_empty()
    );

    // Signing out this very device from the list works too.
    let own = session_ids(&app, id)[0];
    let res = desktop
        .post_form(&format!("/account/sessions/{own}/revoke"), &[])
        .await;
    assert_eq!(res.headers()["location"], "/");
    assert_eq!(
        flash_after(&desktop, res).await,
        vec!["You are signed out."]
    );
    assert_eq!(desktop.signed_in_as().await, None);
    assert!(session_ids(&app, id).is_empty());
}

#[tokio::test]
async fn another_users_session_cannot_be_revoked() {
    let app = spawn_app().await;
    app.create_user("mallory@example.org", "Mallory", PASSWORD, true, false);
    let victim = app.create_user("victim@example.org", "Victim", PASSWORD, true, false);
    app.sign_in("mallory@example.org", PASSWORD).await;
    let victim_client = app.new_client();
    victim_client.sign_in("victim@example.org", PASSWORD).await;
    let victim_sessions = session_ids(&app, victim);
    assert_eq!(victim_sessions.len(), 1);
    let all_before: i64 = sessions::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();

    for path in [
        format!("/account/sessions/{}/revoke", victim_sessions[0]),
        "/account/sessions/999999/revoke".to_string(),
        "/account/sessions/not-a-number/revoke".to_string(),
    ] {
        let res = app.post_form(&path, &[]).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    assert_eq!(session_ids(&app, victim), victim_sessions);
    let all_after: i64 = sessions::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(all_after, all_before);
    assert_eq!(
        victim_client.signed_in_as().await.as_deref(),
        Some("Victim")
    );
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Mallory"));
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_device() {
    let app = spawn_app().await;
    let id = app.create_user("many@example.org", "Many", PASSWORD, true, false);
    let other_user = app.create_user("else@example.org", "Else", PASSWORD, true, false);
    app.sign_in("many@example.org", PASSWORD).await;
    let tablet = app.new_client();
    tablet.sign_in("many@example.org", PASSWORD).await;
    let phone = app.new_client();
    phone.sign_in("many@example.org", PASSWORD).await;
    let stranger = app.new_client();
    stranger.sign_in("else@example.org", PASSWORD).await;
    assert_eq!(session_ids(&app, id).len(), 3);

    let (_, doc) = app.get_html("/account/sessions").await;
    assert_eq!(texts(&doc, "tbody tr").len(), 3);
    let res = app.post_form("/account/sessions/revoke-others", &[]).await;
    assert_eq!(res.headers()["location"], "/account/sessions");
    assert_eq!(
        flash_after(&app, res).await,
        vec!["All your other devices have been signed out."]
    );
    assert_eq!(tablet.signed_in_as().await, None);
    assert_eq!(phone.signed_in_as().await, None);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Many"));
    assert_eq!(stranger.signed_in_as().await.as_deref(), Some("Else"));
    assert_eq!(session_ids(&app, id).len(), 1);
    assert_eq!(session_ids(&app, other_user).len(), 1);
    let (_, doc) = app.get_html("/account/sessions").await;
    assert_eq!(
        texts(&doc, "tbody tr .badge"),
        vec!["This device"],
        "the one left is this device"
    );
}

#[tokio::test]
async fn deleting_the_account_erases_personal_data() {
    let app = spawn_app().await;
    let id = app.create_user(
        "leaving@example.org",
        "Leila Leaving",
        PASSWORD,
        true,
        false,
    );
    diesel::update(users::table.find(id))
        .set(users::respondent_type.eq("expert"))
        .execute(&mut *app.conn())
        .unwrap();
    let draft = app.published_draft("Concept", "concept", "Ministry", "# Concept\n\nText.\n", 30);
    let now = talqy::domain::time::now();
    diesel::insert_into(working_group_members::table)
        .values((
            working_group_members::draft_id.eq(draft),
            working_group_members::user_id.eq(id),
            working_group_members::role.eq("member"),
            working_group_members::created_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let org: i64 = diesel::insert_into(organizations::table)
        .values((
            organizations::name.eq("Cyber Association"),
            organizations::kind.eq("ngo"),
            organizations::registration_number.eq("123"),
            organizations::created_at.eq(now),
        ))
        .returning(organizations::id)
        .get_result(&mut *app.conn())
        .unwrap();
    diesel::insert_into(organization_representatives::table)
        .values((
            organization_representatives::organization_id.eq(org),
            organization_representatives::user_id.eq(id),
            organization_representatives::status.eq("approved"),
            organization_representatives::created_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    app.sign_in("leaving@example.org", PASSWORD).await;
    let other_device = app.new_client();
    other_device.sign_in("leaving@example.org", PASSWORD).await;
    // A pending email-change link that must die with the account.
    app.post_form(
        "/account/email",
        &[
            ("new_email", "next@example.org"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    app.take_emails().await;
    assert_eq!(token_count(&app, id), 1);

    let (status, doc) = app.get_html("/account/delete").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Delete your account"]);
    assert!(
        texts(&doc, "main li")
            .join(" ")
            .contains("former participant")
    );
    let before = snapshot(&app, id);

    // Wrong password (box ticked), then right password without the box: refused.
    let res = app
        .post_form(
            "/account/delete",
            &[("current_password", "not my password"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = html(res).await;
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec!["#f-current_password"]
    );
    assert_eq!(attrs(&doc, "#f-confirm[checked]", "value"), vec!["yes"]);
    let res = app
        .post_form("/account/delete", &[("current_password", PASSWORD)])
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = html(res).await;
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-confirm"]);
    assert_eq!(snapshot(&app, id), before, "nothing changed");
    assert_eq!(session_ids(&app, id).len(), 2);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Leila Leaving"));

    let res = app
        .post_form(
            "/account/delete",
            &[("current_password", PASSWORD), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.headers()["location"], "/");
    assert_eq!(
        flash_after(&app, res).await,
        vec!["Your account was deleted."]
    );
    assert_eq!(app.signed_in_as().await, None);
    assert_eq!(other_device.signed_in_as().await, None);

    let (email, name, hash, kind, _, deleted_at) = snapshot(&app, id);
    assert_eq!(email, format!("deleted-{id}@deleted.invalid"));
    assert_eq!(name, "Former participant");
    assert_eq!(hash, "!");
    assert_eq!(kind, "expert", "kept for statistics");
    assert!(deleted_at.is_some());
    assert!(session_ids(&app, id).is_empty());
    assert_eq!(token_count(&app, id), 0);
    let memberships: i64 = working_group_members::table
        .filter(working_group_members::user_id.eq(id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    let representations: i64 = organization_representatives::table
        .filter(organization_representatives::user_id.eq(id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!((memberships, representations), (0, 0));

    // Signing in fails exactly like an unknown account.
    let gone = app
        .post_form(
            "/login",
            &[("email", "leaving@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(gone.status().as_u16(), 422);
    let gone = html(gone).await;
    let unknown = app
        .post_form(
            "/login",
            &[("email", "nobody@example.org"), ("password", PASSWORD)],
        )
        .await;
    let unknown = html(unknown).await;
    assert_eq!(
        texts(&gone, ".error-summary"),
        texts(&unknown, ".error-summary")
    );
    let placeholder = app
        .post_form(
            "/login",
            &[
                ("email", &format!("deleted-{id}@deleted.invalid")),
                ("password", "!"),
            ],
        )
        .await;
    assert_eq!(placeholder.status().as_u16(), 422);
}

#[tokio::test]
async fn account_pages_send_visitors_to_sign_in() {
    let app = spawn_app().await;
    for path in [
        "/account",
        "/account/email",
        "/account/password",
        "/account/sessions",
        "/account/delete",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        let expected = format!("/login?next={}", path.replace('/', "%2F"));
        assert_eq!(res.headers()["location"], expected.as_str(), "{path}");
    }
    // Posting without an account leads to sign-in as well, and changes nothing.
    let id = app.create_user("someone@example.org", "Someone", PASSWORD, true, false);
    let before = snapshot(&app, id);
    for path in [
        "/account",
        "/account/email",
        "/account/password",
        "/account/sessions/revoke-others",
        "/account/sessions/1/revoke",
        "/account/delete",
    ] {
        let res = app
            .post_form(
                path,
                &[
                    ("display_name", "Hacker"),
                    ("current_password", PASSWORD),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), 303, "{path}");
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"),
            "{path}"
        );
    }
    assert_eq!(snapshot(&app, id), before);
}

#[tokio::test]
async fn every_account_form_refuses_a_missing_csrf_token() {
    let app = spawn_app().await;
    let id = app.create_user("csrf@example.org", "Csrf", PASSWORD, true, false);
    app.sign_in("csrf@example.org", PASSWORD).await;
    let other = app.new_client();
    other.sign_in("csrf@example.org", PASSWORD).await;
    // A valid email-change link, to show that its confirmation also needs the form token.
    app.post_form(
        "/account/email",
        &[
            ("new_email", "csrf-new@example.org"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    let link = app
        .take_emails()
        .await
        .into_iter()
        .find(|e| e.to == "csrf-new@example.org")
        .unwrap()
        .link("/account/email/confirm?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let other_session = *session_ids(&app, id).last().unwrap();

    let before = snapshot(&app, id);
    let sessions_before = session_ids(&app, id);
    let revoke_one = format!("/account/sessions/{other_session}/revoke");
    let posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/account",
            vec![("display_name", "Changed"), ("respondent_type", "ngo")],
        ),
        (
            "/account/email",
            vec![
                ("new_email", "elsewhere@example.org"),
                ("current_password", PASSWORD),
            ],
        ),
        ("/account/email/confirm", vec![("token", &token)]),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        ),
        (&revoke_one, vec![]),
        ("/account/sessions/revoke-others", vec![]),
        (
            "/account/delete",
            vec![("current_password", PASSWORD), ("confirm", "yes")],
        ),
    ];
    for (path, fields) in &posts {
        for token in [None, Some("forged")] {
            let res = app.post_raw(path, fields, token).await;
            assert_eq!(res.status().as_u16(), 403, "{path} with {token:?}");
        }
    }
    assert_eq!(snapshot(&app, id), before, "nothing changed");
    assert_eq!(session_ids(&app, id), sessions_before);
    assert_eq!(pending_email_jobs(&app), 0, "no email sent");
    let unused: i64 = email_tokens::table
        .filter(email_tokens::user_id.eq(id))
        .filter(email_tokens::used_at.is_null())
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(unused, 1, "the email-change link is still unused");
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Csrf"));
    assert_eq!(other.signed_in_as().await.as_deref(), Some("Csrf"));
}

#[tokio::test]
async fn the_privacy_page_is_public_and_linked_from_every_page() {
    let app = spawn_app().await;
    let (status, doc) = app.get_html("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        attrs(&doc, "footer a[href='/privacy']", "href"),
        vec!["/privacy"]
    );
    let res = app.get("/privacy").await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let body = res.text().await.unwrap();
    assert_inert(&body);
    let doc = scraper::Html::parse_document(&body);
    assert_eq!(texts(&doc, "h1"), vec!["Privacy"]);
    let text = texts(&doc, "main").join(" ");
    for needle in [
        "never shown",
        "display name and respondent type",
        "Server logs",
        "former participant",
        "12 hours without activity",
        "14 days after you signed in",
        "delete your account",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[tokio::test]
async fn account_pages_are_private_and_inert() {
    let app = spawn_app().await;
    app.create_user(
        "inert@example.org",
        "<script>x</script>",
        PASSWORD,
        true,
        false,
    );
    app.sign_in("inert@example.org", PASSWORD).await;
    for path in [
        "/account",
        "/account/email",
        "/account/password",
        "/account/sessions",
        "/account/delete",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(
            res.headers()["cache-control"],
            "private, no-store",
            "{path}"
        );
        let body = res.text().await.unwrap();
        assert_inert(&body);
        let doc = scraper::Html::parse_document(&body);
        assert_eq!(texts(&doc, "h1").len(), 1, "{path}");
        // Every form control has a label.
        for id in attrs(&doc, "main input:not([type=hidden])", "id") {
            assert_eq!(
                attrs(&doc, &format!("label[for='{id}']"), "for").len(),
                1,
                "{path}: #{id}"
            );
        }
    }
}

#[tokio::test]
async fn a_request_in_flight_cannot_revive_a_revoked_session() {
    use actix_session::storage::{SessionKey, SessionStore};
    use std::collections::HashMap;
    use talqy::auth::session_store::DbSessionStore;

    let app = spawn_app().await;
    let id = app.create_user("race@example.org", "Race", PASSWORD, true, false);
    let store = DbSessionStore::new(app.db.clone());
    let ttl = actix_web::cookie::time::Duration::hours(1);
    let state: HashMap<String, String> = [
        ("uid".to_string(), id.to_string()),
        ("ua".to_string(), "\"Firefox\"".to_string()),
        ("csrf".to_string(), "\"t\"".to_string()),
    ]
    .into_iter()
    .collect();
    let key = store.save(state.clone(), &ttl).await.unwrap();
    let key_text = key.as_ref().to_string();
    assert_eq!(session_ids(&app, id).len(), 1);

    // Signed out from another device while a request of this session was running…
    diesel::delete(sessions::table.filter(sessions::user_id.eq(id)))
        .execute(&mut *app.conn())
        .unwrap();
    // …which then saves its changed state: a new, anonymous session, not the old one.
    let key = SessionKey::try_from(key_text.clone()).unwrap();
    let new_key = store.update(key, state, &ttl).await.unwrap();
    assert_ne!(new_key.as_ref(), key_text);
    let loaded = store.load(&new_key).await.unwrap().unwrap();
    assert!(!loaded.contains_key("uid"), "{loaded:?}");
    assert_eq!(loaded.get("csrf").map(String::as_str), Some("\"t\""));
    assert!(session_ids(&app, id).is_empty());
}
