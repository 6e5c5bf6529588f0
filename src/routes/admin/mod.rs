//! Administration, under `/admin`. Every route is declared in [`admin_routes`]: the scope is
//! built from that table and a guard in front of it refuses everyone but admins (anonymous
//! visitors are sent to sign in, others get 403). Tests walk the same table, so a new admin
//! route cannot escape the guard or the test.

mod activity;
mod dashboard;
pub(crate) mod drafts;
mod groups;
mod jobs;
mod organizations;
mod users;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

use crate::auth::CurrentUser;
use crate::db::models::UserRow;
use crate::error::AppError;

/// One admin route: method, path below `/admin` (with `{id}`-style parameters), handler.
pub struct AdminRoute {
    pub method: Method,
    pub path: &'static str,
    pub route: actix_web::Route,
}

impl AdminRoute {
    pub fn get(path: &'static str, route: actix_web::Route) -> AdminRoute {
        AdminRoute {
            method: Method::GET,
            path,
            route,
        }
    }
    pub fn post(path: &'static str, route: actix_web::Route) -> AdminRoute {
        AdminRoute {
            method: Method::POST,
            path,
            route,
        }
    }
}

/// Every admin route. Add new ones here (their module's `routes()`).
pub fn admin_routes() -> Vec<AdminRoute> {
    let mut all = Vec::new();
    all.extend(dashboard::routes());
    all.extend(organizations::routes());
    all.extend(users::routes());
    all.extend(drafts::routes());
    all.extend(groups::routes());
    all.extend(jobs::routes());
    all.extend(activity::routes());
    all
}

/// The (method, full path) pairs of every admin route, for tests and docs.
pub fn admin_route_table() -> Vec<(Method, String)> {
    admin_routes()
        .into_iter()
        .map(|r| (r.method, format!("/admin{}", r.path)))
        .collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/admin").wrap(from_fn(admin_guard));
    for r in admin_routes() {
        scope = scope.route(r.path, r.route);
    }
    cfg.service(scope);
}

async fn admin_guard(
    user: CurrentUser,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    check_admin(&user, req.request())?;
    next.call(req).await
}

fn check_admin(user: &CurrentUser, req: &HttpRequest) -> Result<UserRow, AppError> {
    match &user.0 {
        Some(u) if u.is_admin => Ok(u.clone()),
        Some(_) => Err(AppError::Forbidden(
            "This page is for administrators.".into(),
        )),
        None => Err(AppError::SignInRequired {
            next: if req.method() == Method::GET {
                req.uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            },
        }),
    }
}

/// The signed-in admin, for handlers (the scope guard has already checked; this is the
/// handler's own proof and gives it the user).
pub struct RequireAdmin(pub UserRow);

impl FromRequest for RequireAdmin {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let user = CurrentUser::from_request(&req, payload);
        Box::pin(async move {
            let user = user.await?;
            Ok(RequireAdmin(check_admin(&user, &req)?))
        })
    }
}
