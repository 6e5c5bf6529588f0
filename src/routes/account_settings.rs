//! The participant's own account area under `/account`: profile, email change, password
//! change, signed-in devices, deleting the account; and the public privacy page. Plain
//! forms, each POST protected by the CSRF token; every page but the email-change link and the
//! privacy page requires sign-in.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::tokens::TokenProblem;
use crate::auth::{CurrentUser, RequireUser, extract, password};
use crate::db::models::UserRow;
use crate::domain::{Email, Password, RespondentType, time};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::rate_limit;
use crate::routes::account::Empty;
use crate::routes::{HasNav, flash, form_page, nav, page, see_other};
use crate::services::account_settings::{
    self as settings, DeviceSession, EmailChangeError, ProfileInput,
};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

// ---------------------------------------------------------------------------------------
// Templates

#[derive(Template)]
#[template(path = "account/index.html")]
pub struct AccountPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub email: String,
    pub display_name: String,
    pub respondent_label: String,
    pub member_since: String,
    pub member_since_machine: String,
    pub form: ProfileInput,
    pub respondent_types: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "account/email.html")]
pub struct EmailPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub current_email: String,
    pub new_email: String,
}

#[derive(Template)]
#[template(path = "account/email_confirm.html")]
pub struct EmailConfirmPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub token: String,
    pub new_email: String,
    pub token_ok: bool,
}

#[derive(Template)]
#[template(path = "account/password.html")]
pub struct PasswordPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
}

#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i64,
    pub device: String,
    pub user_agent: String,
    pub started: String,
    pub started_machine: String,
    pub last_seen: String,
    pub last_seen_machine: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
pub struct SessionsPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub sessions: Vec<SessionView>,
    pub has_others: bool,
}

#[derive(Template)]
#[template(path = "account/delete.html")]
pub struct DeletePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub confirm_checked: bool,
}

#[derive(Template)]
#[template(path = "privacy.html")]
pub struct PrivacyPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub session_text: String,
}

impl HasNav for PrivacyPage {
    fn nav(&self) -> &Nav {
        &self.nav
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

fn nav_for(session: &Session, user: &UserRow) -> Nav {
    nav(session, &CurrentUser(Some(user.clone())))
}

fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn respondent_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    RespondentType::ALL
        .into_iter()
        .map(|r| SelectOption {
            value: r.as_str().into(),
            label: i18n.t(&format!("respondent-{}", r.as_str())),
            selected: r.as_str() == selected,
        })
        .collect()
}

/// Checks the current password of a signed-in account, counting the attempt against the
/// account's sign-in allowance (a stolen session must not allow unlimited guessing).
async fn current_password_ok(
    state: &AppState,
    user: &UserRow,
    typed: &str,
) -> Result<bool, AppError> {
    let who = user.email.clone();
    state
        .db
        .run(move |conn| rate_limit::hit(conn, rate_limit::SIGN_IN_PER_ACCOUNT, &who))
        .await?;
    verify_password(user, typed).await
}

async fn verify_password(user: &UserRow, typed: &str) -> Result<bool, AppError> {
    let stored = user.password_hash.clone();
    let typed = typed.to_string();
    web::block(move || password::verify(&typed, &stored))
        .await
        .map_err(|e| AppError::Internal(format!("verify: {e}")))
}

async fn hash_password(p: Password) -> Result<String, AppError> {
    web::block(move || password::hash(p.expose()))
        .await
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}

/// Ends the browser's signed-in session but keeps a fresh anonymous one, so a notice can be
/// shown on the next page (a purged session would drop it).
fn end_session_with_notice(session: &Session, notice: String) {
    session.clear();
    session.renew();
    flash(session, notice);
}

// ---------------------------------------------------------------------------------------
// Account overview and profile

fn account_page(
    i18n: I18n,
    session: &Session,
    user: &UserRow,
    form: ProfileInput,
    errors: Vec<FieldError>,
) -> Result<HttpResponse, AppError> {
    let has_errors = !errors.is_empty();
    form_page(
        AccountPage {
            csrf: csrf::token(session),
            errors: FormErrors(errors),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            respondent_label: i18n.t(&format!("respondent-{}", user.respondent_type)),
            member_since: time::display(user.created_at),
            member_since_machine: time::machine(user.created_at),
            respondent_types: respondent_options(&i18n, &form.respondent_type),
            form,
            nav: nav_for(session, user),
            i18n,
        },
        has_errors,
    )
}

#[get("/account")]
pub async fn show(
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    let form = ProfileInput {
        display_name: user.display_name.clone(),
        respondent_type: user.respondent_type.clone(),
    };
    account_page(i18n, &session, &user, form, Vec::new())
}

#[post("/account")]
pub async fn update_profile(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(form): CsrfForm<ProfileInput>,
) -> Result<HttpResponse, AppError> {
    let (name, kind) = match form.validate() {
        Ok(v) => v,
        Err(errors) => return account_page(i18n, &session, &user, form, errors),
    };
    let id = user.id;
    state
        .db
        .run(move |conn| settings::update_profile(conn, id, &name, kind))
        .await?;
    flash(&session, i18n.t("settings-profile-saved"));
    Ok(see_other("/account"))
}

// ---------------------------------------------------------------------------------------
// Email change

#[derive(Deserialize)]
pub struct EmailChangeForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    current_password: String,
}

#[get("/account/email")]
pub async fn email_form(
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    form_page(
        EmailPage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            current_email: user.email.clone(),
            new_email: String::new(),
            nav: nav_for(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/account/email")]
pub async fn request_email_change(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(form): CsrfForm<EmailChangeForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Vec::new();
    let new_email = match Email::parse_as("new_email", &form.new_email) {
        Ok(e) if e.as_str() == user.email => {
            errors.push(FieldError::new("new_email", i18n.t("settings-email-same")));
            None
        }
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let who = user.id.to_string();
    state
        .db
        .run(move |conn| rate_limit::hit(conn, rate_limit::EMAIL_CHANGE_PER_ACCOUNT, &who))
        .await?;
    if form.current_password.is_empty() {
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-missing"),
        ));
    } else if !verify_password(&user, &form.current_password).await? {
        tracing::info!(user_id = user.id, "email change refused: wrong password");
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-wrong"),
        ));
    }
    let new_email = match new_email {
        Some(e) if errors.is_empty() => e,
        _ => {
            return form_page(
                EmailPage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(errors),
                    current_email: user.email.clone(),
                    new_email: form.new_email,
                    nav: nav_for(&session, &user),
                    i18n,
                },
                true,
            );
        }
    };
    let config = state.config.clone();
    let u = user.clone();
    state
        .db
        .run(move |conn| settings::request_email_change(conn, &config, &u, &new_email))
        .await?;
    tracing::info!(user_id = user.id, "email change requested");
    flash(&session, i18n.t("settings-email-sent"));
    Ok(see_other("/account"))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn email_change_error(i18n: &I18n, e: EmailChangeError) -> Result<FieldError, AppError> {
    let key = match e {
        EmailChangeError::Token(TokenProblem::Unknown) => "settings-email-link-unknown",
        EmailChangeError::Token(TokenProblem::Used) => "settings-email-link-used",
        EmailChangeError::Token(TokenProblem::Expired) => "settings-email-link-expired",
        EmailChangeError::AddressTaken => "settings-email-link-taken",
        EmailChangeError::Other(e) => return Err(e),
    };
    Ok(FieldError::new("token", i18n.t(key)))
}

/// The link from the email opens a page with a button: mail scanners that follow links must
/// not use up the single-use token. Works without signing in (the link may be opened on
/// another device).
#[get("/account/email/confirm")]
pub async fn confirm_email_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let checked = state
        .db
        .run(move |conn| settings::check_email_change(conn, &t))
        .await;
    let (new_email, errors) = match checked {
        Ok(e) => (e, Vec::new()),
        Err(e) => (String::new(), vec![email_change_error(&i18n, e)?]),
    };
    let ok = errors.is_empty();
    form_page(
        EmailConfirmPage {
            csrf: csrf::token(&session),
            errors: FormErrors(errors),
            token,
            new_email,
            token_ok: ok,
            nav: nav(&session, &user),
            i18n,
        },
        !ok,
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

#[post("/account/email/confirm")]
pub async fn confirm_email(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let token = form.token.clone();
    let result = state
        .db
        .run(move |conn| settings::confirm_email_change(conn, &token))
        .await;
    match result {
        Ok(changed) => {
            tracing::info!(user_id = changed.id, "email address changed");
            flash(
                &session,
                i18n.ts("settings-email-changed", "email", &changed.email),
            );
            let signed_in_here = user.0.as_ref().is_some_and(|u| u.id == changed.id);
            Ok(see_other(if signed_in_here {
                "/account"
            } else {
                "/login"
            }))
        }
        Err(e) => {
            let error = email_change_error(&i18n, e)?;
            form_page(
                EmailConfirmPage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(vec![error]),
                    token: form.token,
                    new_email: String::new(),
                    token_ok: false,
                    nav: nav(&session, &user),
                    i18n,
                },
                true,
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Password change

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

#[get("/account/password")]
pub async fn password_form(
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    form_page(
        PasswordPage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            nav: nav_for(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/account/password")]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Vec::new();
    if form.current_password.is_empty() {
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-missing"),
        ));
    } else if !current_password_ok(&state, &user, &form.current_password).await? {
        tracing::info!(user_id = user.id, "password change refused: wrong password");
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-wrong"),
        ));
    }
    let current_ok = errors.is_empty();
    let new_password = match Password::parse(
        "new_password",
        &form.new_password,
        &[&user.email, &user.display_name],
    ) {
        Ok(p) if current_ok && p.expose() == form.current_password => {
            errors.push(FieldError::new(
                "new_password",
                i18n.t("settings-password-same"),
            ));
            None
        }
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let new_password = match new_password {
        Some(p) if errors.is_empty() => p,
        _ => {
            return form_page(
                PasswordPage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(errors),
                    nav: nav_for(&session, &user),
                    i18n,
                },
                true,
            );
        }
    };
    let hash = hash_password(new_password).await?;
    let config = state.config.clone();
    let u = user.clone();
    state
        .db
        .run(move |conn| settings::change_password(conn, &config, &u, &hash))
        .await?;
    // Every session of the account is gone; this device gets a fresh one.
    extract::sign_in(&session, &user, &user_agent(&req))?;
    tracing::info!(user_id = user.id, "password changed");
    flash(&session, i18n.t("settings-password-changed"));
    Ok(see_other("/account"))
}

// ---------------------------------------------------------------------------------------
// Signed-in devices

/// "Firefox on Linux": enough to recognise a device, from its user-agent string.
pub fn describe_device(i18n: &I18n, ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, os) {
        (Some(b), Some(o)) => i18n.t_strs("settings-device", &[("browser", b), ("os", o)]),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => i18n.ts("settings-device-unknown-on", "os", o),
        (None, None) => i18n.t("settings-device-unknown"),
    }
}

fn current_sid(session: &Session) -> Option<String> {
    session.get::<String>(extract::SID).ok().flatten()
}

#[get("/account/sessions")]
pub async fn sessions(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let absolute = chrono::Duration::hours(state.config.session_absolute_hours);
    let rows: Vec<DeviceSession> = state
        .db
        .run(move |conn| settings::list_sessions(conn, id, absolute).map_err(AppError::from))
        .await?;
    let sid = current_sid(&session);
    let mut views: Vec<SessionView> = rows
        .into_iter()
        .map(|r| SessionView {
            id: r.id,
            device: describe_device(&i18n, &r.user_agent),
            current: sid.is_some() && r.sid == sid,
            user_agent: r.user_agent,
            started: time::display(r.started_at),
            started_machine: time::machine(r.started_at),
            last_seen: time::display(r.last_seen_at),
            last_seen_machine: time::machine(r.last_seen_at),
        })
        .collect();
    // This device first.
    views.sort_by_key(|v| !v.current);
    let has_others = views.iter().any(|v| !v.current);
    form_page(
        SessionsPage {
            csrf: csrf::token(&session),
            sessions: views,
            has_others,
            nav: nav_for(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/account/sessions/{id}/revoke")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    path: web::Path<i64>,
    RequireUser(user): RequireUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let uid = user.id;
    let revoked = state
        .db
        .run(move |conn| settings::revoke_session(conn, uid, session_id))
        .await?;
    tracing::info!(user_id = user.id, session_id, "session revoked");
    let sid = current_sid(&session);
    if sid.is_some() && revoked.sid == sid {
        end_session_with_notice(&session, i18n.t("signed-out"));
        return Ok(see_other("/"));
    }
    flash(&session, i18n.t("settings-session-revoked"));
    Ok(see_other("/account/sessions"))
}

#[post("/account/sessions/revoke-others")]
pub async fn revoke_other_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let uid = user.id;
    state
        .db
        .run(move |conn| settings::revoke_all_sessions(conn, uid))
        .await?;
    // This device continues under a new session key, with its original start time (signing
    // others out does not extend this session's absolute lifetime).
    let started = session.get::<i64>(extract::CREATED).ok().flatten();
    extract::sign_in(&session, &user, &user_agent(&req))?;
    if let Some(started) = started {
        session
            .insert(extract::CREATED, started)
            .map_err(|e| AppError::Internal(format!("session: {e}")))?;
    }
    tracing::info!(user_id = user.id, "other sessions revoked");
    flash(&session, i18n.t("settings-sessions-others-revoked"));
    Ok(see_other("/account/sessions"))
}

// ---------------------------------------------------------------------------------------
// Deleting the account

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    confirm: String,
}

#[get("/account/delete")]
pub async fn delete_form(
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
) -> Result<HttpResponse, AppError> {
    form_page(
        DeletePage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            confirm_checked: false,
            nav: nav_for(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/account/delete")]
pub async fn delete_account(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Vec::new();
    if form.current_password.is_empty() {
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-missing"),
        ));
    } else if !current_password_ok(&state, &user, &form.current_password).await? {
        tracing::info!(
            user_id = user.id,
            "account deletion refused: wrong password"
        );
        errors.push(FieldError::new(
            "current_password",
            i18n.t("settings-current-password-wrong"),
        ));
    }
    let confirmed = form.confirm == "yes";
    if !confirmed {
        errors.push(FieldError::new(
            "confirm",
            i18n.t("settings-delete-confirm-missing"),
        ));
    }
    if !errors.is_empty() {
        return form_page(
            DeletePage {
                csrf: csrf::token(&session),
                errors: FormErrors(errors),
                confirm_checked: confirmed,
                nav: nav_for(&session, &user),
                i18n,
            },
            true,
        );
    }
    let u = user.clone();
    state
        .db
        .run(move |conn| settings::delete_account(conn, &u))
        .await?;
    tracing::info!(user_id = user.id, "account deleted");
    end_session_with_notice(&session, i18n.t("settings-deleted"));
    Ok(see_other("/"))
}

// ---------------------------------------------------------------------------------------
// Privacy

fn duration_text(i18n: &I18n, minutes: i64) -> String {
    match minutes {
        m if m % (24 * 60) == 0 => i18n.tn("settings-days", "count", m / (24 * 60)),
        m if m % 60 == 0 => i18n.tn("settings-hours", "count", m / 60),
        m => i18n.tn("settings-minutes", "count", m),
    }
}

#[get("/privacy")]
pub async fn privacy(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let session_text = i18n.t_strs(
        "privacy-sessions-length",
        &[
            (
                "idle",
                &duration_text(&i18n, state.config.session_idle_minutes),
            ),
            (
                "absolute",
                &duration_text(&i18n, state.config.session_absolute_hours * 60),
            ),
        ],
    );
    page(PrivacyPage {
        session_text,
        nav: nav(&session, &user),
        i18n,
    })
}
