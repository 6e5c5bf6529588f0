//! Organizations: the public list and pages (only organizations with a verified
//! representative), and the participant's own page to ask to represent one.

use actix_session::Session;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::{self, CsrfForm};
use crate::auth::{CurrentUser, RequireUser};
use crate::db::models::UserRow;
use crate::domain::organization::{OrganizationKind, RepresentationStatus};
use crate::domain::time;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{HasNav, flash, form_page, nav, page, see_other};
use crate::services::organizations::{self as orgs, Organization, Representation, RequestInput};
use crate::startup::AppState;
use crate::templates::{FormErrors, Nav, SelectOption};

/// How many organizations the request form offers to choose from at once.
const CHOICES_SHOWN: usize = 100;

/// An organization in a list.
pub struct OrgItem {
    pub url: String,
    pub name: String,
    pub kind_label: String,
}

impl OrgItem {
    fn new(i18n: &I18n, o: &Organization) -> OrgItem {
        OrgItem {
            url: format!("/organizations/{}", o.id),
            name: o.name.clone(),
            kind_label: i18n.t(&o.kind.label_key()),
        }
    }
}

#[derive(Template)]
#[template(path = "organizations/list.html")]
pub struct OrganizationsPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub query: String,
    pub items: Vec<OrgItem>,
    pub count_text: String,
    pub page_text: String,
    pub pages: i64,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "organizations/show.html")]
pub struct OrganizationPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub id: i64,
    pub name: String,
    pub kind_label: String,
    pub registration_number: String,
    pub website: Option<String>,
    pub representatives_text: String,
}

impl HasNav for OrganizationsPage {
    fn nav(&self) -> &Nav {
        &self.nav
    }
}

impl HasNav for OrganizationPage {
    fn nav(&self) -> &Nav {
        &self.nav
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

#[get("/organizations")]
pub async fn organizations_list(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let ListQuery {
        q,
        page: page_param,
    } = query.into_inner();
    let q: String = q.trim().chars().take(200).collect();
    let page_no = match page_param
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| AppError::field("page", "must be a page number"))?,
    };
    let per_page = state.config.page_size;
    let search = q.clone();
    let list = state
        .db
        .run(move |conn| orgs::public_list(conn, &search, page_no, per_page))
        .await?;
    let pages = list.total_pages();
    let url_for = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !q.is_empty() {
            s.append_pair("q", &q);
        }
        s.append_pair("page", &p.to_string());
        format!("/organizations?{}", s.finish())
    };
    page(OrganizationsPage {
        nav: nav(&session, &user),
        items: list
            .items
            .iter()
            .map(|p| OrgItem::new(&i18n, &p.organization))
            .collect(),
        count_text: i18n.tn("orgs-count", "count", list.total),
        page_text: i18n.t_nums("pagination-status", &[("page", page_no), ("pages", pages)]),
        prev_url: (page_no > 1).then(|| url_for(page_no - 1)),
        next_url: (page_no < pages).then(|| url_for(page_no + 1)),
        pages,
        query: q.clone(),
        i18n,
    })
}

#[get("/organizations/{id}")]
pub async fn organization_page(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let org = state
        .db
        .run(move |conn| orgs::public_organization(conn, id))
        .await?;
    let o = &org.organization;
    page(OrganizationPage {
        nav: nav(&session, &user),
        id: o.id,
        name: o.name.clone(),
        kind_label: i18n.t(&o.kind.label_key()),
        registration_number: o.registration_number.clone(),
        website: o.website.clone(),
        representatives_text: i18n.tn(
            "org-representatives-count",
            "count",
            org.verified_representatives,
        ),
        i18n,
    })
}

/// One of the participant's requests, ready to show.
pub struct MyRepresentation {
    pub org_name: String,
    pub org_url: Option<String>,
    pub kind_label: String,
    pub position: String,
    pub status: &'static str,
    pub status_label: String,
    pub asked: String,
    pub asked_machine: String,
    pub reason: Option<String>,
    pub can_ask_again: bool,
}

impl MyRepresentation {
    fn new(i18n: &I18n, r: &Representation) -> MyRepresentation {
        let status = r.request.status();
        MyRepresentation {
            org_name: r.organization.name.clone(),
            org_url: r
                .is_public
                .then(|| format!("/organizations/{}", r.organization.id)),
            kind_label: i18n.t(&r.organization.kind.label_key()),
            position: r.request.position.clone(),
            status: status.as_str(),
            status_label: i18n.t(&status.label_key()),
            asked: time::display(r.request.created_at),
            asked_machine: time::machine(r.request.created_at),
            reason: r.request.decision_reason.clone(),
            can_ask_again: status == RepresentationStatus::Declined,
        }
    }
}

#[derive(Template)]
#[template(path = "account/organizations.html")]
pub struct AccountOrganizationsPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub form: RequestInput,
    pub can_request: bool,
    pub mine: Vec<MyRepresentation>,
    pub query: String,
    pub choices: Vec<SelectOption>,
    pub new_selected: bool,
    pub choices_more: Option<String>,
    pub kinds: Vec<SelectOption>,
}

#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    q: String,
    /// Preselects an organization (the link on its public page).
    #[serde(default)]
    organization: String,
}

fn kind_options(i18n: &I18n, selected: &str) -> Vec<SelectOption> {
    OrganizationKind::ALL
        .into_iter()
        .map(|k| SelectOption {
            value: k.as_str().into(),
            label: i18n.t(&k.label_key()),
            selected: k.as_str() == selected.trim(),
        })
        .collect()
}

/// What the request form shows: the search, what was typed, and the errors.
struct FormState {
    q: String,
    form: RequestInput,
    errors: FormErrors,
}

/// Builds the page: the participant's requests, and the organizations matching `q` to
/// choose from (plus the one already chosen, if it is not among them).
async fn account_page(
    state: &AppState,
    i18n: I18n,
    session: &Session,
    user: &CurrentUser,
    me: &UserRow,
    FormState { q, form, errors }: FormState,
) -> Result<HttpResponse, AppError> {
    let user_id = me.id;
    let search = q.clone();
    let chosen: Option<i64> = form.organization_id.trim().parse().ok();
    let (mine, list, chosen_org) = state
        .db
        .run(move |conn| {
            let mine = orgs::representations_of(conn, user_id)?;
            let list = orgs::public_list(conn, &search, 1, CHOICES_SHOWN as i64)?;
            let chosen_org = match chosen {
                Some(id) if !list.items.iter().any(|p| p.organization.id == id) => {
                    match orgs::public_organization(conn, id) {
                        Ok(p) => Some(p.organization),
                        Err(AppError::NotFound) => None,
                        Err(e) => return Err(e),
                    }
                }
                _ => None,
            };
            Ok::<_, AppError>((mine, list, chosen_org))
        })
        .await?;
    let mut choice_orgs: Vec<Organization> =
        list.items.into_iter().map(|p| p.organization).collect();
    if let Some(o) = chosen_org {
        choice_orgs.insert(0, o);
    }
    // A declined request can be sent again by choosing its organization.
    for r in mine.iter().rev() {
        if r.request.status() == RepresentationStatus::Declined
            && !choice_orgs.iter().any(|o| o.id == r.organization.id)
        {
            choice_orgs.insert(0, r.organization.clone());
        }
    }
    let choices: Vec<SelectOption> = choice_orgs
        .iter()
        .map(|o| SelectOption {
            value: o.id.to_string(),
            label: format!(
                "{} ({}, {})",
                o.name,
                i18n.t(&o.kind.label_key()),
                o.registration_number
            ),
            selected: chosen == Some(o.id),
        })
        .collect();
    let new_selected = !choices.iter().any(|c| c.selected);
    let choices_more = (list.total > CHOICES_SHOWN as i64).then(|| {
        i18n.t_nums(
            "account-orgs-choice-more",
            &[("shown", CHOICES_SHOWN as i64), ("total", list.total)],
        )
    });
    let has_errors = !errors.is_empty();
    form_page(
        AccountOrganizationsPage {
            csrf: csrf::token(session),
            nav: nav(session, user),
            can_request: me.email_verified_at.is_some(),
            mine: mine
                .iter()
                .map(|r| MyRepresentation::new(&i18n, r))
                .collect(),
            query: q,
            choices,
            new_selected,
            choices_more,
            kinds: kind_options(&i18n, &form.kind),
            form,
            errors,
            i18n,
        },
        has_errors,
    )
}

#[get("/account/organizations")]
pub async fn account_form(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    RequireUser(me): RequireUser,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, AppError> {
    let AccountQuery { q, organization } = query.into_inner();
    let q: String = q.trim().chars().take(200).collect();
    let form = RequestInput {
        organization_id: organization.trim().to_string(),
        ..RequestInput::default()
    };
    account_page(
        &state,
        i18n,
        &session,
        &user,
        &me,
        FormState {
            q,
            form,
            errors: FormErrors::default(),
        },
    )
    .await
}

#[post("/account/organizations")]
pub async fn account_request(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    user: CurrentUser,
    RequireUser(me): RequireUser,
    CsrfForm(form): CsrfForm<RequestInput>,
) -> Result<HttpResponse, AppError> {
    if me.email_verified_at.is_none() {
        return Err(AppError::Forbidden(i18n.t("org-request-unverified")));
    }
    let request = match form.validate() {
        Ok(r) => r,
        Err(errors) => {
            return account_page(
                &state,
                i18n,
                &session,
                &user,
                &me,
                FormState {
                    q: String::new(),
                    form,
                    errors: FormErrors(errors),
                },
            )
            .await;
        }
    };
    let requester = me.clone();
    let result = state
        .db
        .run(move |conn| orgs::request(conn, &requester, &request))
        .await;
    match result {
        Ok(outcome) => {
            let key = if outcome.attached_to_existing {
                "account-orgs-sent-attached"
            } else {
                "account-orgs-sent"
            };
            flash(&session, i18n.ts(key, "name", &outcome.organization_name));
            Ok(see_other("/account/organizations"))
        }
        Err(AppError::Validation(errors)) => {
            account_page(
                &state,
                i18n,
                &session,
                &user,
                &me,
                FormState {
                    q: String::new(),
                    form,
                    errors: FormErrors(errors),
                },
            )
            .await
        }
        Err(e) => Err(e),
    }
}
