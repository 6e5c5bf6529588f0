//! Following by email: the subscribe form (reached from the home, draft and provision
//! pages), the double opt-in confirmation, the preferences page opened from any message
//! (no sign-in), one-click unsubscribe (RFC 8058: a bare POST, no session, cookie or CSRF
//! token), and the signed-in account's subscriptions.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::{CurrentUser, RequireUser};
use crate::db::models::UserRow;
use crate::domain::{Email, Frequency, SubscriptionKind, time};
use crate::email::SiteLinks;
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::rate_limit;
use crate::routes::account::client_ip;
use crate::routes::{flash, form_page, nav, see_other};
use crate::services::subscriptions::{self as subs, Listed};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, NoticePage, SelectOption};

// ---------------------------------------------------------------------------------------
// Templates

#[derive(Template)]
#[template(path = "subscriptions/subscribe.html")]
pub struct SubscribePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub kind: String,
    pub target: String,
    pub description: String,
    pub email: String,
    /// The signed-in account's verified address: it subscribes directly.
    pub account_email: Option<String>,
    pub frequencies: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "subscriptions/confirm.html")]
pub struct ConfirmPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub token: String,
    pub token_ok: bool,
    pub pending: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ManageItem {
    pub id: i64,
    pub description: String,
    pub pending: bool,
    pub frequencies: Vec<SelectOption>,
}

#[derive(Debug, Clone)]
pub struct PersonalOption {
    pub kind: String,
    pub target: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "subscriptions/manage.html")]
pub struct ManagePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub heading: String,
    /// Where the forms post (with the token in the query for the preferences page).
    pub action: String,
    pub email: String,
    pub items: Vec<ManageItem>,
    pub has_pending: bool,
    /// Account page only: what the account may add.
    pub personal: Vec<PersonalOption>,
    pub is_account: bool,
    pub can_add: bool,
    pub frequencies: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "subscriptions/unsubscribe.html")]
pub struct UnsubscribePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub token: String,
    pub token_ok: bool,
    pub done: bool,
    pub items: Vec<String>,
}

fn frequency_options(i18n: &I18n, selected: Frequency) -> Vec<SelectOption> {
    Frequency::ALL
        .into_iter()
        .map(|f| SelectOption {
            value: f.as_str().into(),
            label: i18n.t(&format!("frequency-{}", f.as_str())),
            selected: f == selected,
        })
        .collect()
}

fn site(state: &AppState) -> SiteLinks {
    SiteLinks::from_config(&state.config)
}

/// The account subscribes directly when its address is verified and it may act.
fn direct_account(user: &CurrentUser) -> Option<UserRow> {
    user.0
        .clone()
        .filter(|u| u.email_verified_at.is_some() && u.is_active(time::now()))
}

fn url_token(token: &str) -> String {
    url::form_urlencoded::byte_serialize(token.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------
// Subscribe

#[derive(Debug, Default, Deserialize)]
pub struct SubscribeQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    /// The home page's form: what to follow, with the authority or kind chosen beside it.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    draft_kind: String,
}

impl SubscribeQuery {
    fn kind_and_target(&self) -> (String, String) {
        if self.scope.is_empty() {
            return (self.kind.clone(), self.target.clone());
        }
        let target = match self.scope.as_str() {
            "authority" => self.authority.clone(),
            "kind" => self.draft_kind.clone(),
            _ => String::new(),
        };
        (self.scope.clone(), target)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    frequency: String,
}

/// What a subscribe form follows, parsed, with its description.
async fn resolve(
    state: &AppState,
    i18n: &I18n,
    kind: String,
    target: String,
    user: Option<UserRow>,
) -> Result<(subs::Request, String), AppError> {
    let i18n = i18n.clone();
    state
        .db
        .run(move |conn| {
            let request = subs::parse_request(conn, &kind, &target, "", user.as_ref())?;
            let description = subs::describe(conn, &i18n, request.kind, &request.target)?;
            Ok::<_, AppError>((request, description))
        })
        .await
}

#[get("/subscribe")]
pub async fn subscribe_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<SubscribeQuery>,
) -> Result<HttpResponse, AppError> {
    let (kind, target) = query.kind_and_target();
    let (request, description) = resolve(&state, &i18n, kind, target, user.0.clone()).await?;
    form_page(
        SubscribePage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            kind: request.kind.as_str().into(),
            target: request.target,
            description,
            email: String::new(),
            account_email: direct_account(&user).map(|u| u.email),
            frequencies: frequency_options(&i18n, Frequency::Immediate),
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/subscribe")]
pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<SubscribeForm>,
) -> Result<HttpResponse, AppError> {
    let (request, description) = resolve(
        &state,
        &i18n,
        form.kind.clone(),
        form.target.clone(),
        user.0.clone(),
    )
    .await?;
    let account = direct_account(&user);
    let frequency = Frequency::parse(&form.frequency);
    let email = match &account {
        Some(_) => Ok(None),
        None => Email::parse(&form.email).map(Some),
    };
    let (frequency, email) = match (frequency, email) {
        (Ok(f), Ok(e)) => (f, e),
        (f, e) => {
            let errors: Vec<FieldError> = [e.err(), f.err()].into_iter().flatten().collect();
            return form_page(
                SubscribePage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(errors),
                    kind: request.kind.as_str().into(),
                    target: request.target,
                    description,
                    email: form.email.trim().to_string(),
                    account_email: account.map(|u| u.email),
                    frequencies: frequency_options(
                        &i18n,
                        Frequency::parse(&form.frequency).unwrap_or(Frequency::Immediate),
                    ),
                    nav: nav(&session, &user),
                    i18n,
                },
                true,
            );
        }
    };
    let request = subs::Request {
        frequency,
        ..request
    };
    let site = site(&state);
    if let Some(account) = account {
        state
            .db
            .run(move |conn| subs::subscribe_account(conn, &site, &account, &request))
            .await?;
        flash(&session, i18n.ts("subscribe-done", "what", &description));
        return Ok(see_other("/account/subscriptions"));
    }
    let email = email.expect("an address when not subscribing as an account");
    let ip = client_ip(&req, &state);
    state
        .db
        .run(move |conn| {
            rate_limit::hit(conn, rate_limit::SUBSCRIBE_PER_IP, &ip)?;
            rate_limit::hit(conn, rate_limit::SUBSCRIBE_PER_ADDRESS, email.as_str())?;
            subs::subscribe_address(conn, &site, &email, &request)
        })
        .await?;
    // The same answer whether or not the address already follows this: only its owner
    // learns that, by email.
    form_page(
        NoticePage {
            heading: i18n.t("subscribe-sent-title"),
            paragraphs: vec![i18n.t("subscribe-sent"), i18n.t("subscribe-sent-spam")],
            link: None,
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

// ---------------------------------------------------------------------------------------
// Confirm

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The link of the confirmation message opens this page; only its button confirms (mail
/// scanners open links).
#[get("/subscriptions/confirm")]
pub async fn confirm_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let i = i18n.clone();
    let found = state.db.run(move |conn| subs::pending(conn, &i, &t)).await;
    let (token_ok, pending) = match found {
        Ok((_, pending)) => (true, pending),
        Err(AppError::NotFound) => (false, Vec::new()),
        Err(e) => return Err(e),
    };
    let page = ConfirmPage {
        csrf: csrf::token(&session),
        token,
        token_ok,
        pending,
        nav: nav(&session, &user),
        i18n,
    };
    if token_ok {
        form_page(page, false)
    } else {
        not_found(page)
    }
}

fn not_found(page: impl Template) -> Result<HttpResponse, AppError> {
    let mut res = form_page(page, false)?;
    *res.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
    Ok(res)
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

#[post("/subscriptions/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let token = form.token.clone();
    let result = state.db.run(move |conn| subs::confirm(conn, &token)).await;
    match result {
        Ok(n) => form_page(
            NoticePage {
                heading: i18n.t("confirm-done-title"),
                paragraphs: vec![if n == 0 {
                    i18n.t("confirm-done-nothing")
                } else {
                    i18n.t("confirm-done")
                }],
                link: Some((
                    format!("/subscriptions/manage?token={}", url_token(&form.token)),
                    i18n.t("mail-manage-label"),
                )),
                nav: nav(&session, &user),
                i18n,
            },
            false,
        ),
        Err(AppError::NotFound) => not_found(ConfirmPage {
            csrf: csrf::token(&session),
            token: form.token,
            token_ok: false,
            pending: Vec::new(),
            nav: nav(&session, &user),
            i18n,
        }),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// Preferences (token) and the account's subscriptions

fn manage_items(i18n: &I18n, list: Vec<Listed>) -> Vec<ManageItem> {
    list.into_iter()
        .map(|l| ManageItem {
            id: l.row.id,
            description: l.description,
            pending: !l.confirmed,
            frequencies: frequency_options(i18n, l.frequency),
        })
        .collect()
}

#[get("/subscriptions/manage")]
pub async fn manage_page(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let i = i18n.clone();
    let (s, list) = state
        .db
        .run(move |conn| {
            let s = subs::by_manage_token(conn, &t)?;
            let list = subs::list(conn, &i, s.id)?;
            Ok::<_, AppError>((s, list))
        })
        .await?;
    let items = manage_items(&i18n, list);
    form_page(
        ManagePage {
            csrf: csrf::token(&session),
            heading: i18n.t("manage-title"),
            action: format!("/subscriptions/manage?token={}", url_token(&token)),
            email: s.email,
            has_pending: items.iter().any(|i| i.pending),
            items,
            personal: Vec::new(),
            is_account: false,
            can_add: false,
            frequencies: Vec::new(),
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ManageForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
}

impl ManageForm {
    fn subscription(&self) -> Result<i64, AppError> {
        self.subscription_id
            .trim()
            .parse()
            .map_err(|_| AppError::field("subscription_id", "Choose a subscription"))
    }
}

/// Applies a preferences action for `subscriber_id`; returns the notice to show.
async fn apply(
    state: &AppState,
    i18n: &I18n,
    subscriber_id: i64,
    form: &ManageForm,
    token: Option<String>,
) -> Result<String, AppError> {
    match form.action.as_str() {
        "frequency" => {
            let id = form.subscription()?;
            let frequency = Frequency::parse(&form.frequency)?;
            state
                .db
                .run(move |conn| subs::set_frequency(conn, subscriber_id, id, frequency))
                .await?;
            Ok(i18n.ts(
                "manage-frequency-done",
                "frequency",
                &i18n.t(&format!("frequency-{}", frequency.as_str())),
            ))
        }
        "remove" => {
            let id = form.subscription()?;
            state
                .db
                .run(move |conn| subs::remove(conn, subscriber_id, id))
                .await?;
            Ok(i18n.t("manage-removed"))
        }
        "remove_all" => {
            state
                .db
                .run(move |conn| subs::remove_all(conn, subscriber_id))
                .await?;
            Ok(i18n.t("manage-removed-all"))
        }
        "confirm" => {
            let token = token.ok_or_else(|| AppError::BadRequest("Unknown action".into()))?;
            state
                .db
                .run(move |conn| subs::confirm(conn, &token))
                .await?;
            Ok(i18n.t("confirm-done"))
        }
        _ => Err(AppError::BadRequest("Unknown action".into())),
    }
}

#[post("/subscriptions/manage")]
pub async fn manage(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    query: web::Query<TokenQuery>,
    CsrfForm(form): CsrfForm<ManageForm>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let s = state
        .db
        .run(move |conn| subs::by_manage_token(conn, &t))
        .await?;
    let notice = apply(&state, &i18n, s.id, &form, Some(token.clone())).await?;
    flash(&session, notice);
    Ok(see_other(&format!(
        "/subscriptions/manage?token={}",
        url_token(&token)
    )))
}

/// The personal subscriptions an account may add: replies and decisions on its comments,
/// and the queue and campaigns of each working group it belongs to.
fn personal_options(
    conn: &mut crate::db::DbConn,
    i18n: &I18n,
    user: &UserRow,
    have: &[Listed],
) -> Result<Vec<PersonalOption>, AppError> {
    use crate::db::schema::{drafts, working_group_members};
    let mut wanted = vec![
        (SubscriptionKind::MyReplies, String::new()),
        (SubscriptionKind::MyDispositions, String::new()),
    ];
    let groups: Vec<i64> = working_group_members::table
        .inner_join(drafts::table)
        .filter(working_group_members::user_id.eq(user.id))
        .order(drafts::id)
        .select(drafts::id)
        .load(conn)?;
    for d in groups {
        wanted.push((SubscriptionKind::WgQueue, d.to_string()));
        wanted.push((SubscriptionKind::WgCampaigns, d.to_string()));
    }
    wanted
        .into_iter()
        .filter(|(k, t)| !have.iter().any(|h| h.kind == *k && &h.row.target == t))
        .map(|(k, t)| {
            Ok(PersonalOption {
                label: subs::describe(conn, i18n, k, &t)?,
                kind: k.as_str().into(),
                target: t,
            })
        })
        .collect()
}

#[get("/account/subscriptions")]
pub async fn account_page(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    let i = i18n.clone();
    let u = user.clone();
    let (list, personal) = state
        .db
        .run(move |conn| {
            let list = match subs::of_user(conn, &u)? {
                Some(s) => subs::list(conn, &i, s.id)?,
                None => Vec::new(),
            };
            let personal = personal_options(conn, &i, &u, &list)?;
            Ok::<_, AppError>((list, personal))
        })
        .await?;
    let current = CurrentUser(Some(user.clone()));
    let can_add = direct_account(&current).is_some();
    let items = manage_items(&i18n, list);
    form_page(
        ManagePage {
            csrf: csrf::token(&session),
            heading: i18n.t("account-subscriptions-title"),
            action: "/account/subscriptions".into(),
            email: user.email.clone(),
            has_pending: items.iter().any(|i| i.pending),
            items,
            personal,
            is_account: true,
            can_add,
            frequencies: frequency_options(&i18n, Frequency::Immediate),
            nav: nav(&session, &current),
            i18n,
        },
        false,
    )
}

#[post("/account/subscriptions")]
pub async fn account_update(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(form): CsrfForm<ManageForm>,
) -> Result<HttpResponse, AppError> {
    let notice = if form.action == "add" {
        let site = site(&state);
        let (kind, target, frequency) = (
            form.kind.clone(),
            form.target.clone(),
            form.frequency.clone(),
        );
        let i = i18n.clone();
        let u = user.clone();
        let description = state
            .db
            .run(move |conn| {
                let request = subs::parse_request(conn, &kind, &target, &frequency, Some(&u))?;
                subs::subscribe_account(conn, &site, &u, &request)?;
                subs::describe(conn, &i, request.kind, &request.target)
            })
            .await?;
        i18n.ts("subscribe-done", "what", &description)
    } else {
        let u = user.clone();
        let s = state
            .db
            .run(move |conn| subs::of_user(conn, &u))
            .await?
            .ok_or(AppError::NotFound)?;
        apply(&state, &i18n, s.id, &form, None).await?
    };
    flash(&session, notice);
    Ok(see_other("/account/subscriptions"))
}

// ---------------------------------------------------------------------------------------
// One-click unsubscribe

/// The https link of a message: a page that says what the button will remove.
#[get("/subscriptions/unsubscribe")]
pub async fn unsubscribe_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let site = site(&state);
    let (t, i) = (token.clone(), i18n.clone());
    let found = state
        .db
        .run(move |conn| subs::unsubscribe_preview(conn, &site, &i, &t))
        .await;
    let (token_ok, items) = match found {
        Ok(items) => (true, items),
        Err(AppError::NotFound) => (false, Vec::new()),
        Err(e) => return Err(e),
    };
    let page = UnsubscribePage {
        token,
        token_ok,
        done: false,
        items,
        nav: nav(&session, &user),
        i18n,
    };
    if token_ok {
        form_page(page, false)
    } else {
        not_found(page)
    }
}

/// RFC 8058 one-click: mail programs POST `List-Unsubscribe=One-Click` to the link, with no
/// cookie and no CSRF token. The signed token is the only authority needed, and the body is
/// not read. The page's own button posts here too.
#[post("/subscriptions/unsubscribe")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    i18n: I18n,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let site = site(&state);
    let t = token.clone();
    let result = state
        .db
        .run(move |conn| subs::unsubscribe(conn, &site, &t))
        .await;
    let (token_ok, done) = match result {
        Ok(_) => (true, true),
        Err(AppError::NotFound) => (false, false),
        Err(e) => return Err(e),
    };
    let page = UnsubscribePage {
        token,
        token_ok,
        done,
        items: Vec::new(),
        nav: Nav::default(),
        i18n,
    };
    if token_ok {
        form_page(page, false)
    } else {
        not_found(page)
    }
}
