//! Organizations and their representatives: requests, the admin's decisions, what the public
//! sees, on each backend.

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::schema::{audit_log, organization_representatives as reps, organizations, users};
use talqy::services::organizations as orgs;

use crate::helpers::{TestApp, assert_inert, attrs, spawn_app, texts};

const PASSWORD: &str = "correct horse battery staple";

/// An app with an admin and a participant, both signed in (separate browsers).
async fn setup() -> (TestApp, TestApp, TestApp, i64) {
    let app = spawn_app().await;
    let uid = app.create_user(
        "aliya@example.org",
        "Aliya Serikovna",
        PASSWORD,
        true,
        false,
    );
    app.create_user("admin@example.org", "Admin", PASSWORD, true, true);
    let participant = app.new_client();
    participant.sign_in("aliya@example.org", PASSWORD).await;
    let admin = app.new_client();
    admin.sign_in("admin@example.org", PASSWORD).await;
    (app, participant, admin, uid)
}

async fn ask_new(
    client: &TestApp,
    name: &str,
    kind: &str,
    number: &str,
    website: &str,
    position: &str,
) -> reqwest::Response {
    client
        .post_form(
            "/account/organizations",
            &[
                ("organization_id", "new"),
                ("name", name),
                ("kind", kind),
                ("registration_number", number),
                ("website", website),
                ("position", position),
            ],
        )
        .await
}

async fn html(res: reqwest::Response) -> (u16, scraper::Html, String) {
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (status, scraper::Html::parse_document(&body), body)
}

fn org_count(app: &TestApp) -> i64 {
    organizations::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn rep_count(app: &TestApp) -> i64 {
    reps::table.count().get_result(&mut *app.conn()).unwrap()
}

fn org_id(app: &TestApp, number: &str) -> i64 {
    organizations::table
        .filter(organizations::registration_number.eq(number))
        .select(organizations::id)
        .first(&mut *app.conn())
        .unwrap()
}

/// (request id, status, reason) of `user_id`'s request for `org`.
fn request_of(app: &TestApp, user_id: i64, org: i64) -> (i64, String, Option<String>) {
    reps::table
        .filter(reps::user_id.eq(user_id))
        .filter(reps::organization_id.eq(org))
        .select((reps::id, reps::status, reps::decision_reason))
        .first(&mut *app.conn())
        .unwrap()
}

fn audit_actions(app: &TestApp, subject: &str) -> Vec<String> {
    audit_log::table
        .filter(audit_log::subject.eq(subject))
        .order(audit_log::id)
        .select(audit_log::action)
        .load(&mut *app.conn())
        .unwrap()
}

async fn decide(admin: &TestApp, request: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    admin
        .post_form(&format!("/admin/organizations/requests/{request}"), fields)
        .await
}

#[tokio::test]
async fn a_request_stays_unpublished_until_an_admin_verifies_it() {
    let (app, participant, admin, uid) = setup().await;

    let (status, doc) = participant.get_html("/account/organizations").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["My organizations"]);
    assert_eq!(
        attrs(&doc, "form[action='/account/organizations'] button", "type"),
        vec!["submit", "submit"]
    );

    let res = ask_new(
        &participant,
        "Kazakh IT Association",
        "business_association",
        " 123456-ab ",
        "https://kazit.example.org",
        "Chair of the board",
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/account/organizations");
    let (_, doc) = participant.get_html("/account/organizations").await;
    assert!(texts(&doc, ".flash")[0].contains("request to represent Kazakh IT Association"));
    assert_eq!(
        texts(&doc, "tr.rep-pending .status"),
        vec!["Waiting for a decision"]
    );

    // Stored normalised, pending, and audited.
    let org = org_id(&app, "123456-AB");
    let (request, status, _) = request_of(&app, uid, org);
    assert_eq!(status, "pending");
    assert_eq!(
        audit_actions(&app, &format!("organization_request:{request}")),
        vec!["organization.request"]
    );

    // Not public: neither the page nor the list shows it, not even to its requester.
    let visitor = app.new_client();
    for client in [&visitor, &participant] {
        let (status, _) = client.get_html(&format!("/organizations/{org}")).await;
        assert_eq!(status, 404);
        let (status, doc) = client.get_html("/organizations").await;
        assert_eq!(status, 200);
        assert!(!doc.html().contains("Kazakh IT Association"));
    }
    assert!(!orgs::is_verified_representative(&mut app.conn(), uid, org).unwrap());
    assert!(app.take_emails().await.is_empty());

    // The admin's queue shows it with its age.
    let (status, doc) = admin.get_html("/admin").await;
    assert_eq!(status, 200);
    assert_eq!(
        attrs(&doc, "a[href='/admin/organizations']", "href").len(),
        1
    );
    let (status, doc) = admin.get_html("/admin/organizations").await;
    assert_eq!(status, 200);
    let row = texts(&doc, "table.pending-requests tbody tr").join(" ");
    assert!(row.contains("Kazakh IT Association"), "{row}");
    assert!(row.contains("aliya@example.org"), "{row}");
    assert!(row.contains("Chair of the board"), "{row}");
    assert!(row.contains("less than a day"), "{row}");
    let (status, doc) = admin
        .get_html(&format!("/admin/organizations/requests/{request}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, ".position"), vec!["Chair of the board"]);

    let res = decide(&admin, request, &[("decision", "verify"), ("note", "")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(request_of(&app, uid, org).1, "verified");
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "aliya@example.org");
    assert_eq!(
        emails[0].subject,
        "You now represent Kazakh IT Association on Talqy"
    );
    assert!(emails[0].text.contains("/account/organizations"));
    assert!(orgs::is_verified_representative(&mut app.conn(), uid, org).unwrap());
    let mine = orgs::verified_organizations_of(&mut app.conn(), uid).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, org);
    assert_eq!(
        audit_actions(&app, &format!("organization_request:{request}")),
        vec!["organization.request", "organization.verify"]
    );

    // Public now: name, kind, number, website (nofollow), a count and no personal data.
    let res = visitor.get(&format!("/organizations/{org}")).await;
    let (status, doc, body) = html(res).await;
    assert_eq!(status, 200);
    assert_inert(&body);
    assert_eq!(texts(&doc, "h1"), vec!["Kazakh IT Association"]);
    assert_eq!(texts(&doc, ".org-kind"), vec!["Business association"]);
    assert_eq!(texts(&doc, ".org-registration-number"), vec!["123456-AB"]);
    assert_eq!(texts(&doc, ".org-representatives"), vec!["1 person"]);
    assert_eq!(
        attrs(&doc, ".org-website a", "href"),
        vec!["https://kazit.example.org/"]
    );
    assert_eq!(
        attrs(&doc, ".org-website a", "rel"),
        vec!["nofollow noopener"]
    );
    assert!(!body.contains("Aliya") && !body.contains("aliya@example.org"));
    assert!(!body.contains("Chair of the board"));

    let (_, doc) = visitor.get_html("/organizations").await;
    assert_eq!(
        attrs(&doc, "table.organizations a", "href"),
        vec![format!("/organizations/{org}")]
    );
    let (_, doc) = visitor.get_html("/organizations?q=kazakh+it").await;
    assert_eq!(
        texts(&doc, "table.organizations a"),
        vec!["Kazakh IT Association"]
    );
    let (_, doc) = visitor.get_html("/organizations?q=nothing+like+it").await;
    assert!(texts(&doc, "table.organizations a").is_empty());
    assert_eq!(texts(&doc, ".count"), vec!["No organization matches."]);

    // The requester's page shows the decision and links to the public page.
    let (_, doc) = participant.get_html("/account/organizations").await;
    assert_eq!(texts(&doc, "tr.rep-verified .status"), vec!["Verified"]);
    assert_eq!(
        attrs(&doc, "tr.rep-verified a", "href"),
        vec![format!("/organizations/{org}")]
    );

    // Decided: the queue is empty and the history lists it.
    let (_, doc) = admin.get_html("/admin/organizations").await;
    assert!(texts(&doc, "table.pending-requests").is_empty());
    assert!(
        texts(&doc, "table.decided-requests")
            .join(" ")
            .contains("Kazakh IT Association")
    );
}

#[tokio::test]
async fn declining_needs_a_reason_which_is_mailed_and_the_person_may_ask_again() {
    let (app, participant, admin, uid) = setup().await;
    ask_new(
        &participant,
        "Almaty Lawyers Union",
        "ngo",
        "990440001234",
        "",
        "Member",
    )
    .await;
    let org = org_id(&app, "990440001234");
    let (request, _, _) = request_of(&app, uid, org);

    for reason in ["", "  ", "no"] {
        let res = decide(
            &admin,
            request,
            &[("decision", "decline"), ("reason", reason)],
        )
        .await;
        let (status, doc, _) = html(res).await;
        assert_eq!(status, 422, "reason {reason:?}");
        assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-reason"]);
        assert_eq!(attrs(&doc, "#f-reason", "aria-invalid"), vec!["true"]);
    }
    assert_eq!(
        request_of(&app, uid, org),
        (request, "pending".into(), None)
    );
    assert!(app.take_emails().await.is_empty());
    assert_eq!(
        audit_actions(&app, &format!("organization_request:{request}")),
        vec!["organization.request"]
    );

    let reason = "A member cannot speak for the union. Ask the chair to write to us.";
    let res = decide(
        &admin,
        request,
        &[("decision", "decline"), ("reason", reason)],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        request_of(&app, uid, org),
        (request, "declined".into(), Some(reason.into()))
    );
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "aliya@example.org");
    assert_eq!(
        emails[0].subject,
        "Your request to represent Almaty Lawyers Union was declined"
    );
    assert!(emails[0].text.contains(reason));

    // Declining again (a second admin's stale page) changes nothing.
    let res = decide(
        &admin,
        request,
        &[("decision", "decline"), ("reason", "again")],
    )
    .await;
    let (status, doc, _) = html(res).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("declined now")
    );
    assert!(app.take_emails().await.is_empty());

    let (_, doc) = participant.get_html("/account/organizations").await;
    assert_eq!(texts(&doc, "tr.rep-declined .status"), vec!["Declined"]);
    assert!(texts(&doc, "tr.rep-declined .reason")[0].contains(reason));

    // Asking again (the organization is offered although it is not public): the same
    // request waits anew, without the old reason.
    let (_, doc) = participant.get_html("/account/organizations").await;
    assert_eq!(
        attrs(&doc, "#f-organization_id option", "value"),
        vec!["new".to_string(), org.to_string()]
    );
    let res = participant
        .post_form(
            "/account/organizations",
            &[("organization_id", &org.to_string()), ("position", "Chair")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        request_of(&app, uid, org),
        (request, "pending".into(), None)
    );
    assert_eq!(rep_count(&app), 1);
    // While it waits, a third request is refused.
    let res = ask_new(
        &participant,
        "Almaty Lawyers Union",
        "ngo",
        "990440001234",
        "",
        "Chair",
    )
    .await;
    let (status, doc, _) = html(res).await;
    assert_eq!(status, 422);
    assert!(
        texts(&doc, ".error-summary")
            .join(" ")
            .contains("already asked to represent Almaty Lawyers Union")
    );
}

#[tokio::test]
async fn the_same_kind_and_registration_number_attach_to_the_known_organization() {
    let (app, participant, _admin, uid) = setup().await;
    let other_id = app.create_user("bolat@example.org", "Bolat", PASSWORD, true, false);
    let other = app.new_client();
    other.sign_in("bolat@example.org", PASSWORD).await;

    ask_new(
        &participant,
        "Ассоциация финтеха",
        "business_association",
        "БИН 0405-77",
        "fintech.example.kz",
        "Executive director",
    )
    .await;
    assert_eq!(org_count(&app), 1);
    // Typed differently, with another name: the same organization.
    let res = ask_new(
        &other,
        "Fintech Association of Kazakhstan",
        "business_association",
        "  бин 0405-77",
        "",
        "Board member",
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(org_count(&app), 1);
    let org = org_id(&app, "БИН 0405-77");
    assert_eq!(request_of(&app, uid, org).1, "pending");
    assert_eq!(request_of(&app, other_id, org).1, "pending");
    let (_, doc) = other.get_html("/account/organizations").await;
    let flash = texts(&doc, ".flash").join(" ");
    assert!(
        flash.contains("already known as Ассоциация финтеха"),
        "{flash}"
    );
    let name: String = organizations::table
        .find(org)
        .select(organizations::name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(name, "Ассоциация финтеха");

    // The same number for another kind of organization is another organization.
    ask_new(
        &other,
        "Fintech Union",
        "trade_union",
        "БИН 0405-77",
        "",
        "Secretary",
    )
    .await;
    assert_eq!(org_count(&app), 2);
}

#[tokio::test]
async fn invalid_input_is_refused_with_the_fields_named_and_kept() {
    let (app, participant, _admin, _uid) = setup().await;
    for (website, number) in [
        ("javascript:alert(1)", "12;34"),
        ("ftp://files.example.org", "<b>1</b>"),
        ("https://", ""),
    ] {
        let res = ask_new(
            &participant,
            "Green Steppe",
            "ngo",
            number,
            website,
            "Chair of the board",
        )
        .await;
        let (status, doc, body) = html(res).await;
        assert_eq!(status, 422, "{website} {number}");
        assert_eq!(
            attrs(&doc, ".error-summary a", "href"),
            vec!["#f-registration_number", "#f-website"]
        );
        assert_eq!(attrs(&doc, "#f-website", "aria-invalid"), vec!["true"]);
        assert_eq!(
            attrs(&doc, "#f-registration_number", "aria-invalid"),
            vec!["true"]
        );
        // What was typed is kept (escaped), and nothing executable is served.
        assert_eq!(attrs(&doc, "#f-name", "value"), vec!["Green Steppe"]);
        assert_eq!(attrs(&doc, "#f-website", "value"), vec![website]);
        assert_eq!(attrs(&doc, "#f-registration_number", "value"), vec![number]);
        assert_eq!(
            attrs(&doc, "#f-position", "value"),
            vec!["Chair of the board"]
        );
        assert_eq!(
            attrs(&doc, "#f-kind option[selected]", "value"),
            vec!["ngo"]
        );
        assert!(!body.contains("<b>1</b>"));
    }
    // Missing everything: each field is named, in the order of the form.
    let res = participant
        .post_form("/account/organizations", &[("organization_id", "new")])
        .await;
    let (status, doc, _) = html(res).await;
    assert_eq!(status, 422);
    assert_eq!(
        attrs(&doc, ".error-summary a", "href"),
        vec![
            "#f-name",
            "#f-kind",
            "#f-registration_number",
            "#f-position"
        ]
    );
    assert_eq!(org_count(&app), 0);
    assert_eq!(rep_count(&app), 0);
}

#[tokio::test]
async fn an_unconfirmed_account_cannot_ask() {
    let (app, participant, _admin, uid) = setup().await;
    // The address is no longer confirmed (e.g. changed) while the session lives on.
    diesel::update(users::table.find(uid))
        .set(users::email_verified_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut *app.conn())
        .unwrap();
    let (status, doc) = participant.get_html("/account/organizations").await;
    assert_eq!(status, 200);
    assert!(
        texts(&doc, "#unverified")
            .join(" ")
            .contains("Only accounts with a confirmed email address")
    );
    assert!(texts(&doc, "form[method=post][action='/account/organizations']").is_empty());

    let res = ask_new(
        &participant,
        "Green Steppe",
        "ngo",
        "1234",
        "",
        "Chair of the board",
    )
    .await;
    let (status, doc, _) = html(res).await;
    assert_eq!(status, 403);
    assert!(
        doc.html()
            .contains("Confirm your email address before asking to represent an organization")
    );
    assert_eq!(org_count(&app), 0);
    assert_eq!(rep_count(&app), 0);

    // The service refuses too, whoever calls it.
    let user = talqy::services::accounts::find(&mut app.conn(), uid)
        .unwrap()
        .unwrap();
    let input = orgs::RequestInput {
        name: "Green Steppe".into(),
        kind: "ngo".into(),
        registration_number: "1234".into(),
        position: "Chair".into(),
        ..Default::default()
    };
    let err = orgs::request(&mut app.conn(), &user, &input.validate().unwrap()).unwrap_err();
    assert!(matches!(err, talqy::error::AppError::Forbidden(_)));

    // Anonymous visitors are sent to sign in.
    let visitor = app.new_client();
    let res = visitor.get("/account/organizations").await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
}

#[tokio::test]
async fn participants_cannot_decide() {
    let (app, participant, _admin, uid) = setup().await;
    ask_new(&participant, "Green Steppe", "ngo", "1234", "", "Chair").await;
    let org = org_id(&app, "1234");
    let (request, _, _) = request_of(&app, uid, org);
    let (status, _) = participant.get_html("/admin/organizations").await;
    assert_eq!(status, 403);
    let (status, _) = participant
        .get_html(&format!("/admin/organizations/requests/{request}"))
        .await;
    assert_eq!(status, 403);
    let res = decide(&participant, request, &[("decision", "verify")]).await;
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(request_of(&app, uid, org).1, "pending");
    assert!(app.take_emails().await.is_empty());
}

#[tokio::test]
async fn revoking_ends_the_representation() {
    let (app, participant, admin, uid) = setup().await;
    ask_new(
        &participant,
        "Eurasian University",
        "university",
        "UNI-42",
        "http://eu.example.edu/",
        "Rector",
    )
    .await;
    let org = org_id(&app, "UNI-42");
    let (request, _, _) = request_of(&app, uid, org);
    decide(
        &admin,
        request,
        &[("decision", "verify"), ("note", "Checked with the office.")],
    )
    .await;
    let emails = app.take_emails().await;
    assert!(emails[0].text.contains("Checked with the office."));
    assert_eq!(
        orgs::verified_organizations_of(&mut app.conn(), uid)
            .unwrap()
            .len(),
        1
    );

    // A verified representation can no longer be declined, only revoked, with a reason.
    let res = decide(
        &admin,
        request,
        &[("decision", "decline"), ("reason", "Not any more")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    let res = decide(&admin, request, &[("decision", "revoke"), ("reason", "")]).await;
    let (status, doc, _) = html(res).await;
    assert_eq!(status, 422);
    assert_eq!(attrs(&doc, ".error-summary a", "href"), vec!["#f-reason"]);
    assert_eq!(request_of(&app, uid, org).1, "verified");

    let reason = "The university told us the rector has changed.";
    let res = decide(
        &admin,
        request,
        &[("decision", "revoke"), ("reason", reason)],
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(
        request_of(&app, uid, org),
        (request, "revoked".into(), Some(reason.into()))
    );
    assert!(
        orgs::verified_organizations_of(&mut app.conn(), uid)
            .unwrap()
            .is_empty()
    );
    assert!(!orgs::is_verified_representative(&mut app.conn(), uid, org).unwrap());
    let emails = app.take_emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(
        emails[0].subject,
        "You no longer represent Eurasian University on Talqy"
    );
    assert!(emails[0].text.contains(reason));
    // No verified representative is left: the organization is no longer public.
    let (status, _) = app.get_html(&format!("/organizations/{org}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        audit_actions(&app, &format!("organization_request:{request}")),
        vec![
            "organization.request",
            "organization.verify",
            "organization.revoke"
        ]
    );
    let (_, doc) = admin
        .get_html(&format!("/admin/organizations/requests/{request}"))
        .await;
    assert_eq!(texts(&doc, "table.history tbody tr").len(), 3);
    assert!(texts(&doc, "form.decision-revoke").is_empty());

    // A revoked person cannot simply ask again.
    let res = ask_new(
        &participant,
        "Eurasian University",
        "university",
        "uni-42",
        "",
        "Rector",
    )
    .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(request_of(&app, uid, org).1, "revoked");
}

#[tokio::test]
async fn an_existing_public_organization_can_be_chosen_from_the_list() {
    let (app, participant, admin, uid) = setup().await;
    ask_new(&participant, "Green Steppe", "ngo", "1234", "", "Chair").await;
    let org = org_id(&app, "1234");
    let (request, _, _) = request_of(&app, uid, org);
    // Another organization that nobody has been verified for yet.
    let other_id = app.create_user("bolat@example.org", "Bolat", PASSWORD, true, false);
    let other = app.new_client();
    other.sign_in("bolat@example.org", PASSWORD).await;
    ask_new(&participant, "Hidden Claim", "ngo", "5678", "", "Chair").await;
    let hidden = org_id(&app, "5678");

    // Unverified claims are not offered, verified organizations are.
    let (_, doc) = other.get_html("/account/organizations").await;
    assert_eq!(
        attrs(&doc, "#f-organization_id option", "value"),
        vec!["new"]
    );
    decide(&admin, request, &[("decision", "verify")]).await;
    let (_, doc) = other.get_html("/account/organizations?q=steppe").await;
    assert_eq!(
        attrs(&doc, "#f-organization_id option", "value"),
        vec!["new".to_string(), org.to_string()]
    );
    // The link on the public page preselects it.
    let (_, doc) = app.get_html(&format!("/organizations/{org}")).await;
    let link = attrs(&doc, "a[href^='/account/organizations']", "href").remove(0);
    let (_, doc) = other.get_html(&link).await;
    assert_eq!(
        attrs(&doc, "#f-organization_id option[selected]", "value"),
        vec![org.to_string()]
    );

    // Choosing it needs only the position.
    let res = other
        .post_form(
            "/account/organizations",
            &[
                ("organization_id", &org.to_string()),
                ("position", "Treasurer"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(request_of(&app, other_id, org).1, "pending");
    assert_eq!(org_count(&app), 2);

    // An id that is not public (or does not exist) cannot be chosen.
    for id in [hidden.to_string(), "999999".into(), "abc".into()] {
        let res = other
            .post_form(
                "/account/organizations",
                &[("organization_id", &id), ("position", "Treasurer")],
            )
            .await;
        let (status, doc, _) = html(res).await;
        assert_eq!(status, 422, "{id}");
        assert_eq!(
            attrs(&doc, ".error-summary a", "href"),
            vec!["#f-organization_id"]
        );
        assert_eq!(
            texts(&doc, ".error-summary a"),
            vec!["Choose an organization from the list, or a new organization"]
        );
    }
    // The public page counts verified representatives only.
    let (_, doc) = app.get_html(&format!("/organizations/{org}")).await;
    assert_eq!(texts(&doc, ".org-representatives"), vec!["1 person"]);
    let conn: &mut DbConn = &mut app.conn();
    assert_eq!(
        orgs::public_list(conn, "", 1, 20).unwrap().total,
        1,
        "only the verified organization is public"
    );
}
