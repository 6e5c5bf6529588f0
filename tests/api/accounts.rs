//! Registration, verification, sign-in, reset, sessions, CSRF and rate limits, through the
//! real HTTP app on each backend.

use diesel::prelude::*;
use talqy::db::schema::{email_tokens, sessions, users};

use crate::helpers::{TestApp, attrs, spawn_app, texts};

const GOOD_PASSWORD: &str = "correct horse battery staple";

async fn register(app: &TestApp, email: &str, name: &str, password: &str) -> reqwest::Response {
    app.post_form(
        "/register",
        &[
            ("email", email),
            ("display_name", name),
            ("password", password),
            ("respondent_type", "expert"),
        ],
    )
    .await
}

fn user_count(app: &TestApp) -> i64 {
    users::table.count().get_result(&mut *app.conn()).unwrap()
}

#[tokio::test]
async fn register_verify_and_sign_in() {
    let app = spawn_app().await;
    let res = register(
        &app,
        "Aigerim@Example.org",
        "Aigerim Nurlanovna",
        GOOD_PASSWORD,
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(texts(&doc, "h1"), vec!["Check your email"]);

    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "aigerim@example.org");
    assert!(emails[0].html.contains("Confirm my email address"));
    let link = emails[0].link("/verify?token=");

    // Not verified yet: sign-in is refused with a way to get a new link.
    let res = app
        .post_form(
            "/login",
            &[
                ("email", "aigerim@example.org"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("confirm your email address first")
    );
    assert_eq!(
        attrs(&doc, "form[action='/verify/resend'] button", "type"),
        vec!["submit"]
    );

    // The link opens a page with a button; only the POST uses the token.
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&doc, "form[action='/verify'] button"),
        vec!["Confirm my email address"]
    );
    let token = attrs(&doc, "input[name=token]", "value").remove(0);
    let res = app.post_form("/verify", &[("token", &token)]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/login");

    app.sign_in("aigerim@example.org", GOOD_PASSWORD).await;
    assert_eq!(
        app.signed_in_as().await.as_deref(),
        Some("Aigerim Nurlanovna")
    );
    let row: (String, String) = users::table
        .select((users::respondent_type, users::password_hash))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(row.0, "expert");
    assert!(row.1.starts_with("$argon2id$v=19$"), "{}", row.1);
    let params = row.1.split('$').nth(3).unwrap();
    let value = |k: &str| -> u32 {
        params
            .split(',')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        value("m") >= 19456 && value("t") >= 2 && value("p") >= 1,
        "{params}"
    );

    // Sign out ends the session.
    let res = app.post_form("/logout", &[]).await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, doc) = app.get_html("/").await;
    assert_eq!(texts(&doc, ".flash"), vec!["You are signed out."]);
    assert_eq!(app.signed_in_as().await, None);
}

#[tokio::test]
async fn verification_links_are_single_use_and_expire() {
    let app = spawn_app().await;
    register(&app, "dana@example.org", "Dana", GOOD_PASSWORD).await;
    let link = app.take_emails().await[0].link("/verify?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert_eq!(
        app.post_form("/verify", &[("token", &token)])
            .await
            .status()
            .as_u16(),
        303
    );
    // Reused.
    let res = app.post_form("/verify", &[("token", &token)]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("already been used"));
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("already been used")
    );

    // Expired: a second account whose token is past its expiry.
    register(&app, "erlan@example.org", "Erlan", GOOD_PASSWORD).await;
    let link = app.take_emails().await[0].link("/verify?token=");
    let token = link.split("token=").nth(1).unwrap().to_string();
    diesel::update(email_tokens::table.filter(email_tokens::used_at.is_null()))
        .set(email_tokens::expires_at.eq(talqy::domain::time::now() - chrono::Duration::minutes(1)))
        .execute(&mut *app.conn())
        .unwrap();
    let res = app.post_form("/verify", &[("token", &token)]).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.unwrap().contains("has expired"));
    let verified: Option<chrono::NaiveDateTime> = users::table
        .filter(users::email.eq("erlan@example.org"))
        .select(users::email_verified_at)
        .first(&mut *app.conn())
        .unwrap();
    assert!(verified.is_none());
    let res = app.post_form("/verify", &[("token", "not-a-token")]).await;
    assert!(res.text().await.unwrap().contains("not valid"));
}

#[tokio::test]
async fn bad_registration_keeps_what_was_typed_and_stores_nothing() {
    let app = spawn_app().await;
    let res = register(&app, "not-an-email", "Zh", "password").await;
    assert_eq!(res.status().as_u16(), 422);
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    let summary = attrs(&doc, ".error-summary a", "href");
    assert_eq!(summary, vec!["#f-email", "#f-password"]);
    assert_eq!(attrs(&doc, "#f-email", "value"), vec!["not-an-email"]);
    assert_eq!(attrs(&doc, "#f-display_name", "value"), vec!["Zh"]);
    assert_eq!(
        attrs(&doc, "#f-password", "value"),
        Vec::<String>::new(),
        "passwords are never echoed"
    );
    assert_eq!(attrs(&doc, "#f-email", "aria-invalid"), vec!["true"]);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("too common")
    );
    assert_eq!(user_count(&app), 0);
    assert!(app.take_emails().await.is_empty());
}

#[tokio::test]
async fn registering_a_taken_address_answers_alike_and_tells_the_owner() {
    let app = spawn_app().await;
    app.create_user("owner@example.org", "Owner", GOOD_PASSWORD, true, false);
    let first = register(&app, "owner@example.org", "Intruder", GOOD_PASSWORD).await;
    let first_doc = scraper::Html::parse_document(&first.text().await.unwrap());
    let fresh = register(&app, "new@example.org", "Newcomer", GOOD_PASSWORD).await;
    let fresh_doc = scraper::Html::parse_document(&fresh.text().await.unwrap());
    assert_eq!(texts(&first_doc, "main"), texts(&fresh_doc, "main"));
    assert_eq!(user_count(&app), 2);
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0].to, "owner@example.org");
    assert_eq!(emails[0].subject, "You already have a Talqy account");
    let name: String = users::table
        .filter(users::email.eq("owner@example.org"))
        .select(users::display_name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(name, "Owner");
}

#[tokio::test]
async fn sign_in_failures_do_not_reveal_whether_the_account_exists() {
    let app = spawn_app().await;
    app.create_user("known@example.org", "Known", GOOD_PASSWORD, true, false);
    let wrong = app
        .post_form(
            "/login",
            &[
                ("email", "known@example.org"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 422);
    let wrong = scraper::Html::parse_document(&wrong.text().await.unwrap());
    let unknown = app
        .post_form(
            "/login",
            &[
                ("email", "nobody@example.org"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    assert_eq!(unknown.status().as_u16(), 422);
    let unknown = scraper::Html::parse_document(&unknown.text().await.unwrap());
    assert_eq!(
        texts(&wrong, ".error-summary"),
        texts(&unknown, ".error-summary")
    );
    assert_eq!(
        texts(&wrong, ".error-summary"),
        vec!["There is a problem The email address or password is not right."]
    );
    // The typed email is kept, the password is not.
    assert_eq!(
        attrs(&unknown, "#f-email", "value"),
        vec!["nobody@example.org"]
    );
    assert_eq!(
        attrs(&unknown, "#f-password", "value"),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn password_reset_sets_a_new_password_and_ends_every_session() {
    let app = spawn_app().await;
    app.create_user("reset@example.org", "Resetter", GOOD_PASSWORD, true, false);
    let other_device = app.new_client();
    other_device
        .sign_in("reset@example.org", GOOD_PASSWORD)
        .await;
    assert!(other_device.signed_in_as().await.is_some());

    let known = app
        .post_form("/password/forgot", &[("email", "reset@example.org")])
        .await;
    let known = scraper::Html::parse_document(&known.text().await.unwrap());
    let unknown = app
        .post_form("/password/forgot", &[("email", "ghost@example.org")])
        .await;
    let unknown = scraper::Html::parse_document(&unknown.text().await.unwrap());
    assert_eq!(
        texts(&known, "main"),
        texts(&unknown, "main"),
        "same answer either way"
    );
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1, "only the real account gets a link");
    let link = emails[0].link("/password/reset?token=");
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 200);
    let token = attrs(&doc, "input[name=token]", "value").remove(0);

    let res = app
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "123456789")],
        )
        .await;
    assert_eq!(
        res.status().as_u16(),
        422,
        "weak password refused, token kept"
    );
    let res = app
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        other_device.signed_in_as().await,
        None,
        "other sessions ended"
    );
    let res = app
        .post_form(
            "/password/reset",
            &[("token", &token), ("password", "yet another passphrase")],
        )
        .await;
    assert!(res.text().await.unwrap().contains("already been used"));

    let res = app
        .post_form(
            "/login",
            &[("email", "reset@example.org"), ("password", GOOD_PASSWORD)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422, "old password no longer works");
    app.sign_in("reset@example.org", "a brand new passphrase")
        .await;

    // An expired reset link is refused.
    app.post_form("/password/forgot", &[("email", "reset@example.org")])
        .await;
    let link = app.take_emails().await[0].link("/password/reset?token=");
    diesel::update(email_tokens::table.filter(email_tokens::used_at.is_null()))
        .set(email_tokens::expires_at.eq(talqy::domain::time::now() - chrono::Duration::seconds(1)))
        .execute(&mut *app.conn())
        .unwrap();
    let (status, doc) = app.get_html(&link).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("has expired")
    );
}

#[tokio::test]
async fn a_blocked_user_cannot_sign_in_and_is_signed_out() {
    let app = spawn_app().await;
    let id = app.create_user("blocked@example.org", "Blocked", GOOD_PASSWORD, true, false);
    app.sign_in("blocked@example.org", GOOD_PASSWORD).await;
    let until = talqy::domain::time::now() + chrono::Duration::days(7);
    diesel::update(users::table.find(id))
        .set((
            users::blocked_reason.eq("spam"),
            users::blocked_until.eq(until),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(app.signed_in_as().await, None, "the running session ends");
    let res = app
        .post_form(
            "/login",
            &[
                ("email", "blocked@example.org"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("This account is blocked until") && body.contains("spam"),
        "{body}"
    );
    // An expired block no longer applies.
    diesel::update(users::table.find(id))
        .set(users::blocked_until.eq(talqy::domain::time::now() - chrono::Duration::minutes(1)))
        .execute(&mut *app.conn())
        .unwrap();
    app.sign_in("blocked@example.org", GOOD_PASSWORD).await;
}

#[tokio::test]
async fn a_revoked_session_stops_working_on_its_next_request() {
    let app = spawn_app().await;
    let id = app.create_user("rev@example.org", "Rev", GOOD_PASSWORD, true, false);
    app.sign_in("rev@example.org", GOOD_PASSWORD).await;
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Rev"));
    let n = diesel::delete(sessions::table.filter(sessions::user_id.eq(id)))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(n, 1, "one server-side session, stored with its user");
    assert_eq!(app.signed_in_as().await, None);
}

#[tokio::test]
async fn sessions_are_stored_hashed_and_renewed_at_sign_in() {
    let app = spawn_app().await;
    app.create_user("s@example.org", "S", GOOD_PASSWORD, true, false);
    app.get("/login").await;
    let before: Vec<String> = sessions::table
        .select(sessions::key_hash)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        before.len(),
        1,
        "the anonymous session holding the form token"
    );
    let res = app
        .post_form(
            "/login",
            &[("email", "s@example.org"), ("password", GOOD_PASSWORD)],
        )
        .await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("talqy_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let after: Vec<String> = sessions::table
        .select(sessions::key_hash)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "a new session key at sign-in");
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("talqy_session=");
    assert!(
        !after[0].contains(value) && after[0].len() == 64,
        "only a hash is stored"
    );
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.create_user("c@example.org", "C", GOOD_PASSWORD, true, false);
    app.get("/register").await;
    let fields = [
        ("email", "x@example.org"),
        ("display_name", "X"),
        ("password", GOOD_PASSWORD),
        ("respondent_type", "citizen"),
    ];
    for token in [None, Some("forged")] {
        let res = app.post_raw("/register", &fields, token).await;
        assert_eq!(res.status().as_u16(), 403);
        let doc = scraper::Html::parse_document(&res.text().await.unwrap());
        assert_eq!(texts(&doc, "h1"), vec!["Not allowed"]);
        let res = app
            .post_raw(
                "/login",
                &[("email", "c@example.org"), ("password", GOOD_PASSWORD)],
                token,
            )
            .await;
        assert_eq!(res.status().as_u16(), 403);
    }
    assert_eq!(user_count(&app), 1);
    assert_eq!(app.signed_in_as().await, None);
    // A token from another session does not work either.
    let other = app.new_client();
    let foreign = other.csrf().await;
    let res = app
        .post_raw(
            "/login",
            &[("email", "c@example.org"), ("password", GOOD_PASSWORD)],
            Some(&foreign),
        )
        .await;
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn repeated_failed_sign_ins_hit_the_rate_limit() {
    let app = spawn_app().await;
    app.create_user("target@example.org", "Target", GOOD_PASSWORD, true, false);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let res = app
            .post_form(
                "/login",
                &[
                    ("email", "target@example.org"),
                    ("password", "not the password"),
                ],
            )
            .await;
        statuses.push(res.status().as_u16());
        if res.status().as_u16() == 429 {
            assert!(res.headers().contains_key("retry-after"));
            let doc = scraper::Html::parse_document(&res.text().await.unwrap());
            assert_eq!(texts(&doc, "h1"), vec!["Too many attempts"]);
            assert!(
                texts(&doc, ".error-detail")
                    .join(" ")
                    .contains("Please wait")
            );
        }
    }
    assert_eq!(&statuses[..8], &[422; 8]);
    assert_eq!(&statuses[8..], &[429, 429]);
    // The right password does not get through either while the account is locked out.
    let res = app
        .post_form(
            "/login",
            &[("email", "target@example.org"), ("password", GOOD_PASSWORD)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 429);
}
