//! Registration, email verification, sign-in and sign-out, password reset.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::tokens::Purpose;
use crate::auth::{CurrentUser, extract, password};
use crate::domain::{Email, Password, RespondentType};
use crate::error::{AppError, FieldError};
use crate::i18n::I18n;
use crate::rate_limit;
use crate::routes::{flash, form_page, nav, see_other};
use crate::services::accounts::{self, RegistrationInput, SignInRefusal};
use crate::startup::AppState;
use crate::templates::*;

/// The client address for rate limits: the peer, or the proxy's X-Forwarded-For when the
/// deployment says a trusted proxy sits in front.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    if state.config.trust_proxy_headers
        && let Some(ip) = req.connection_info().realip_remote_addr()
    {
        return ip.to_string();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

async fn hash_password(p: Password) -> Result<String, AppError> {
    web::block(move || password::hash(p.expose()))
        .await
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
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

fn notice(
    i18n: I18n,
    nav: Nav,
    heading: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Result<HttpResponse, AppError> {
    form_page(
        NoticePage {
            heading: i18n.t(heading),
            paragraphs: vec![i18n.t(text)],
            link: link.map(|(u, l)| (u.to_string(), i18n.t(l))),
            i18n,
            nav,
        },
        false,
    )
}

#[get("/register")]
pub async fn register_form(
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other("/account"));
    }
    form_page(
        RegisterPage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            form: RegistrationInput::default(),
            respondent_types: respondent_options(&i18n, ""),
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<RegistrationInput>,
) -> Result<HttpResponse, AppError> {
    let reg = match form.validate() {
        Ok(r) => r,
        Err(errors) => {
            let mut kept = form.clone();
            kept.password.clear();
            return form_page(
                RegisterPage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(errors),
                    respondent_types: respondent_options(&i18n, &kept.respondent_type),
                    form: kept,
                    nav: nav(&session, &user),
                    i18n,
                },
                true,
            );
        }
    };
    let ip = client_ip(&req, &state);
    state
        .db
        .run(move |conn| rate_limit::hit(conn, rate_limit::REGISTER_PER_IP, &ip))
        .await?;
    let hash = hash_password(reg.password.clone()).await?;
    let config = state.config.clone();
    state
        .db
        .run(move |conn| accounts::register(conn, &config, &reg, &hash))
        .await?;
    notice(
        i18n,
        nav(&session, &user),
        "sent-title",
        "sent-register",
        None,
    )
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The link from the email opens a page with a button: mail scanners that follow links
/// must not use up the single-use token.
#[get("/verify")]
pub async fn verify_form(
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
        .run(move |conn| accounts::check_token(conn, &t, Purpose::Verify))
        .await;
    let (errors, ok) = split_check(checked)?;
    form_page(
        VerifyPage {
            csrf: csrf::token(&session),
            token_ok: ok,
            errors,
            token,
            nav: nav(&session, &user),
            i18n,
        },
        !ok,
    )
}

fn split_check(r: Result<(), AppError>) -> Result<(FormErrors, bool), AppError> {
    match r {
        Ok(()) => Ok((FormErrors::default(), true)),
        Err(AppError::Validation(e)) => Ok((FormErrors(e), false)),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

#[post("/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let token = form.token.clone();
    let result = state
        .db
        .run(move |conn| accounts::verify_email(conn, &token))
        .await;
    match result {
        Ok(_) => {
            flash(&session, i18n.t("verify-done"));
            Ok(see_other("/login"))
        }
        Err(AppError::Validation(e)) => form_page(
            VerifyPage {
                csrf: csrf::token(&session),
                errors: FormErrors(e),
                token: form.token,
                token_ok: false,
                nav: nav(&session, &user),
                i18n,
            },
            true,
        ),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

#[post("/verify/resend")]
pub async fn resend_verification(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, &state);
    state
        .db
        .run(move |conn| rate_limit::hit(conn, rate_limit::RESET_PER_IP, &ip))
        .await?;
    if let Ok(email) = Email::parse(&form.email) {
        let config = state.config.clone();
        state
            .db
            .run(move |conn| accounts::resend_verification(conn, &config, &email))
            .await?;
    }
    notice(
        i18n,
        nav(&session, &user),
        "sent-title",
        "sent-resend",
        None,
    )
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

#[get("/login")]
pub async fn login_form(
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if user.0.is_some() {
        return Ok(see_other(&safe_next(&query.next)));
    }
    form_page(
        LoginPage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            email: String::new(),
            next: safe_next(&query.next),
            show_resend: false,
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[post("/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, &state);
    let email = form.email.trim().to_lowercase();
    let lookup = email.clone();
    let found = state
        .db
        .run(move |conn| {
            rate_limit::hit(conn, rate_limit::SIGN_IN_PER_IP, &ip)?;
            rate_limit::hit(conn, rate_limit::SIGN_IN_PER_ACCOUNT, &lookup)?;
            Ok::<_, AppError>(accounts::find_by_email(conn, &lookup)?)
        })
        .await?;
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let password = form.password.clone();
    let matches = web::block(move || password::verify_or_waste_time(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(format!("verify: {e}")))?;
    let refuse = |errors: Vec<FieldError>, show_resend: bool| {
        form_page(
            LoginPage {
                csrf: csrf::token(&session),
                errors: FormErrors(errors),
                email: form.email.clone(),
                next: safe_next(&form.next),
                show_resend,
                nav: nav(&session, &user),
                i18n: i18n.clone(),
            },
            true,
        )
    };
    let user_row = match (found, matches) {
        (Some(u), true) => u,
        _ => {
            tracing::info!("sign-in refused: wrong email or password");
            return refuse(
                vec![FieldError::new("email", i18n.t("login-failed"))],
                false,
            );
        }
    };
    match accounts::sign_in_refusal(&user_row) {
        Some(SignInRefusal::Unverified) => {
            return refuse(
                vec![FieldError::new("email", i18n.t("login-unverified"))],
                true,
            );
        }
        Some(SignInRefusal::Blocked { reason, until }) => {
            let msg = match until {
                Some(u) => i18n.t_strs(
                    "login-blocked-until",
                    &[
                        ("reason", &reason),
                        ("until", &crate::domain::time::display(u)),
                    ],
                ),
                None => i18n.ts("login-blocked", "reason", &reason),
            };
            return refuse(vec![FieldError::new("email", msg)], false);
        }
        None => {}
    }
    let ua = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    extract::sign_in(&session, &user_row, &ua)?;
    tracing::info!(user_id = user_row.id, "signed in");
    flash(&session, i18n.t("signed-in"));
    Ok(see_other(&safe_next(&form.next)))
}

#[derive(Deserialize)]
pub struct Empty {}

#[post("/logout")]
pub async fn logout(i18n: I18n, session: Session, CsrfForm(_): CsrfForm<Empty>) -> HttpResponse {
    extract::sign_out(&session);
    flash(&session, i18n.t("signed-out"));
    see_other("/")
}

#[get("/password/forgot")]
pub async fn forgot_form(
    i18n: I18n,
    session: Session,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    form_page(
        ForgotPage {
            csrf: csrf::token(&session),
            errors: FormErrors::default(),
            email: String::new(),
            nav: nav(&session, &user),
            i18n,
        },
        false,
    )
}

#[post("/password/forgot")]
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(e) => {
            return form_page(
                ForgotPage {
                    csrf: csrf::token(&session),
                    errors: FormErrors(vec![e]),
                    email: form.email,
                    nav: nav(&session, &user),
                    i18n,
                },
                true,
            );
        }
    };
    let ip = client_ip(&req, &state);
    let config = state.config.clone();
    state
        .db
        .run(move |conn| {
            rate_limit::hit(conn, rate_limit::RESET_PER_IP, &ip)?;
            accounts::request_reset(conn, &config, &email)
        })
        .await?;
    notice(i18n, nav(&session, &user), "sent-title", "sent-reset", None)
}

#[get("/password/reset")]
pub async fn reset_form(
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
        .run(move |conn| accounts::check_token(conn, &t, Purpose::Reset))
        .await;
    let (errors, ok) = split_check(checked)?;
    form_page(
        ResetPage {
            csrf: csrf::token(&session),
            token_ok: ok,
            errors,
            token,
            nav: nav(&session, &user),
            i18n,
        },
        !ok,
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

#[post("/password/reset")]
pub async fn reset(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let page = |errors: Vec<FieldError>, token_ok: bool| {
        form_page(
            ResetPage {
                csrf: csrf::token(&session),
                errors: FormErrors(errors),
                token: form.token.clone(),
                token_ok,
                nav: nav(&session, &user),
                i18n: i18n.clone(),
            },
            true,
        )
    };
    let password = match Password::parse("password", &form.password, &[]) {
        Ok(p) => p,
        Err(e) => return page(vec![e], true),
    };
    let hash = hash_password(password).await?;
    let token = form.token.clone();
    match state
        .db
        .run(move |conn| accounts::reset_password(conn, &token, &hash))
        .await
    {
        Ok(_) => {
            extract::sign_out(&session);
            flash(&session, i18n.t("reset-done"));
            Ok(see_other("/login"))
        }
        Err(AppError::Validation(e)) => page(e, false),
        Err(e) => Err(e),
    }
}
