//! The campaigns page of a draft's triage: clusters of near-identical comments, each with its
//! size, a sample and its comments, and a link that opens the cluster in the triage queue so
//! one decision can answer all of it.

use actix_session::Session;
use actix_web::{HttpResponse, get, web};
use askama::Template;

use crate::auth::{CurrentUser, RequireUser};
use crate::domain::time;
use crate::error::AppError;
use crate::i18n::I18n;
use crate::routes::{nav, page_private};
use crate::services::campaigns;
use crate::startup::AppState;
use crate::templates::Nav;

pub struct MemberView {
    pub id: i64,
    pub tracking_number: String,
    pub author: String,
    pub created: String,
    pub created_machine: String,
}

pub struct ClusterView {
    pub representative_id: i64,
    pub size: usize,
    pub heading: String,
    pub sample: String,
    pub answer_label: String,
    pub show_label: String,
    pub members: Vec<MemberView>,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub draft_id: i64,
    pub heading: String,
    pub rule: String,
    pub summary: String,
    pub clusters: Vec<ClusterView>,
}

#[get("/drafts/{id}/triage/campaigns")]
pub async fn campaigns_page(
    state: web::Data<AppState>,
    i18n: I18n,
    session: Session,
    RequireUser(user): RequireUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let draft_id = path.into_inner();
    let threshold = state.config.campaign_threshold;
    let min_size = state.config.campaign_min_size;
    let viewer = CurrentUser(Some(user.clone()));
    let (title, clusters) = state
        .db
        .run(move |conn| {
            let title = campaigns::authorize(conn, draft_id, &user)?;
            let clusters = campaigns::clusters(conn, draft_id, threshold, min_size)?;
            Ok::<_, AppError>((title, clusters))
        })
        .await?;
    let clusters = clusters
        .into_iter()
        .enumerate()
        .map(|(i, c)| ClusterView {
            representative_id: c.representative_id,
            size: c.size,
            heading: i18n.tn("campaign-heading", "number", i as i64 + 1),
            sample: c.sample,
            answer_label: i18n.tn("campaign-answer", "count", c.size as i64),
            show_label: i18n.tn("campaign-show-members", "count", c.size as i64),
            members: c
                .members
                .into_iter()
                .map(|m| MemberView {
                    id: m.id,
                    tracking_number: m.tracking_number,
                    author: if m.author_deleted {
                        i18n.t("comment-former-participant")
                    } else {
                        m.author_name
                    },
                    created: time::display(m.created_at),
                    created_machine: time::machine(m.created_at),
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let page = CampaignsPage {
        nav: nav(&session, &viewer),
        draft_id,
        heading: i18n.ts("campaigns-heading", "title", &title),
        rule: i18n.t_strs(
            "campaigns-rule",
            &[
                ("percent", &format!("{:.0}", threshold * 100.0)),
                ("min", &min_size.to_string()),
            ],
        ),
        summary: i18n.tn("campaigns-count", "count", clusters.len() as i64),
        clusters,
        i18n,
    };
    page_private(page)
}
