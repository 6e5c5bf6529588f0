//! Page templates (askama, compiled in from `frontend/templates`) and the view models that
//! feed them. View models hold display-ready strings so templates stay logic-free.

use askama::Template;
use chrono::NaiveDateTime;

use crate::db::models::{ProvisionRow, RoundRow};
use crate::domain::time;
use crate::i18n::I18n;
use crate::services::drafts::DraftSummary;

/// What the site header needs: who is signed in, and the token for the sign-out form.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub user_name: Option<String>,
    pub is_admin: bool,
    pub csrf: String,
    /// A one-time notice shown at the top of the page (after a redirect).
    pub flash: Option<String>,
}

impl Nav {
    pub fn signed_in(&self) -> bool {
        self.user_name.is_some()
    }
}

/// Field errors of a submitted form, for the error summary and the messages by the fields.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<crate::error::FieldError>);

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
    pub fn list(&self) -> &[crate::error::FieldError] {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct RoundView {
    /// `upcoming`, `open` or `ended`.
    pub state: &'static str,
    pub opens_text: String,
    pub closes_text: String,
    pub closed_text: String,
    pub days_left_text: String,
    pub days_left: i64,
}

impl RoundView {
    pub fn new(i18n: &I18n, round: &RoundRow, now: NaiveDateTime) -> RoundView {
        let state = if now < round.opens_at {
            "upcoming"
        } else if now < round.closes_at {
            "open"
        } else {
            "ended"
        };
        let days_left = time::days_left(now, round.closes_at);
        RoundView {
            state,
            opens_text: i18n.ts("round-opens", "date", &time::display(round.opens_at)),
            closes_text: i18n.ts("round-closes", "date", &time::display(round.closes_at)),
            closed_text: i18n.ts("round-closed", "date", &time::display(round.closes_at)),
            days_left_text: i18n.tn(
                "days-left",
                "count",
                if (round.closes_at - now).num_hours() < 24 {
                    0
                } else {
                    days_left
                },
            ),
            days_left,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DraftCard {
    pub id: i64,
    pub title: String,
    pub authority: String,
    pub status: &'static str,
    pub status_label: String,
    pub kind_label: String,
    pub round: Option<RoundView>,
}

impl DraftCard {
    pub fn new(i18n: &I18n, d: &DraftSummary, now: NaiveDateTime) -> DraftCard {
        DraftCard {
            id: d.draft.id,
            title: d.draft.title.clone(),
            authority: d.draft.authority.clone(),
            status: d.status.as_str(),
            status_label: i18n.t(&format!("status-{}", d.status.as_str())),
            kind_label: i18n.t(&format!("kind-{}", d.kind.as_str())),
            round: d.round.as_ref().map(|r| RoundView::new(i18n, r, now)),
        }
    }
}

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub open: Vec<DraftCard>,
    pub recent: Vec<DraftCard>,
    /// For the follow form: authorities with published drafts, and the kinds of act.
    pub authorities: Vec<SelectOption>,
    pub kinds: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "drafts.html")]
pub struct DraftsPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub cards: Vec<DraftCard>,
    pub statuses: Vec<SelectOption>,
    pub kinds: Vec<SelectOption>,
    pub authorities: Vec<SelectOption>,
    pub count_text: String,
    pub page_text: String,
    pub pages: i64,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProvisionView {
    pub key: String,
    pub kind: String,
    pub depth: i32,
    pub level: i32,
    pub is_heading: bool,
    pub label: Option<String>,
    pub heading: Option<String>,
    pub body_html: String,
    pub permalink: String,
    pub permalink_label: String,
    /// The discussion link: its text and the number of comments.
    pub comments: Option<(String, i64)>,
}

impl ProvisionView {
    /// `base` is the URL prefix of the version being read, e.g. `/drafts/3`.
    pub fn new(i18n: &I18n, p: &ProvisionRow, base: &str, level_offset: i32) -> ProvisionView {
        let is_heading = p.kind != "paragraph";
        ProvisionView {
            key: p.key.clone(),
            kind: p.kind.clone(),
            depth: p.depth,
            level: (p.depth + level_offset).clamp(2, 6),
            is_heading,
            label: p.label.clone(),
            heading: p.heading.clone(),
            body_html: if is_heading {
                String::new()
            } else {
                crate::markdown::to_safe_html(&p.body)
            },
            permalink: format!("{base}/provisions/{}", p.key),
            permalink_label: i18n.ts("draft-permalink-to", "name", &short_name(i18n, p)),
            comments: None,
        }
    }
}

/// How a provision is named in links and breadcrumbs: its label and heading, or the start of
/// its text.
pub fn short_name(i18n: &I18n, p: &ProvisionRow) -> String {
    match (&p.label, &p.heading) {
        (Some(l), Some(h)) => format!("{l} {h}"),
        (Some(l), None) => l.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => {
            let plain = crate::markdown::to_plain_text(&p.body);
            let words: Vec<&str> = plain.split_whitespace().take(8).collect();
            if words.is_empty() {
                i18n.t("provision-paragraph")
            } else {
                format!("{}…", words.join(" "))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct TocEntry {
    pub key: String,
    pub depth: i32,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct VersionLink {
    pub label: String,
    pub url: String,
    pub current: bool,
    pub published: String,
    pub published_machine: String,
    pub change_summary: String,
    /// The comparison with the version before (versions after the first).
    pub compare: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: String,
    pub at_machine: String,
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct DraftHead {
    pub id: i64,
    pub title: String,
    pub authority: String,
    pub status: &'static str,
    pub status_label: String,
    pub kind_label: String,
}

#[derive(Template)]
#[template(path = "draft.html")]
pub struct DraftPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub whole_draft_comments: String,
    pub draft: DraftHead,
    pub is_latest: bool,
    pub viewing_text: String,
    pub version_label: String,
    pub published: Option<(String, String)>,
    pub round: Option<RoundView>,
    pub summary_paragraphs: Vec<String>,
    pub toc: Vec<TocEntry>,
    pub provisions: Vec<ProvisionView>,
    pub versions: Vec<VersionLink>,
    pub history: Vec<HistoryEntry>,
    /// The triage queue, for the draft's working group and admins.
    pub triage_url: Option<String>,
    /// The discussion report of the round on the version shown, if it had one.
    pub report_url: Option<String>,
    /// The revision pages, for the draft's working group and admins.
    pub revision_url: Option<String>,
}

#[derive(Template)]
#[template(path = "provision.html")]
pub struct ProvisionPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub form: CommentForm,
    pub d: Discussion,
    pub draft_id: i64,
    pub draft_title: String,
    pub title: String,
    pub key: String,
    pub version_label: String,
    pub trail: Vec<(String, String)>,
    pub provisions: Vec<ProvisionView>,
    pub back_url: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub heading: String,
    pub text: String,
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub form: crate::services::accounts::RegistrationInput,
    pub respondent_types: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub email: String,
    pub next: String,
    pub show_resend: bool,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub email: String,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub token: String,
    pub token_ok: bool,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub token: String,
    pub token_ok: bool,
}

#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub i18n: I18n,
    pub nav: Nav,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

/// One comment as shown in a thread.
#[derive(Debug, Clone)]
pub struct CommentItem {
    pub id: i64,
    pub depth: i32,
    pub author: String,
    pub respondent: String,
    pub organization: Option<(i64, String)>,
    pub stance: String,
    pub stance_label: String,
    pub version_label: Option<String>,
    pub reply_to: Option<String>,
    pub created: String,
    pub created_machine: String,
    pub edited: bool,
    pub withdrawn: bool,
    /// "Hidden by the moderators: …", "Awaiting moderation", "Rejected …".
    pub notice: Option<String>,
    /// Whether the text is shown at all (never for withdrawn comments, and for hidden
    /// ones only to moderators).
    pub show_text: bool,
    /// The text is shown because the viewer moderates (the public sees the notice only).
    pub moderator_only: bool,
    pub body_html: String,
    pub quote: Option<String>,
    pub proposed_wording: Option<String>,
    pub endorsements_text: String,
    pub endorsed: bool,
    pub can_endorse: bool,
    pub can_reply: bool,
    pub can_report: bool,
    pub can_edit: bool,
    pub can_withdraw: bool,
    /// The viewer wrote it.
    pub mine: bool,
    /// "Participant" is shown instead of the author's name.
    pub as_participant: bool,
    /// The working group's public answer.
    pub disposition: Option<DispositionView>,
}

/// A disposition as shown under a comment: public facts only (never notes, tags, assignee
/// or triage status).
#[derive(Debug, Clone)]
pub struct DispositionView {
    /// The decision's code, for styling.
    pub decision: &'static str,
    pub label: String,
    /// "Answer of the Working group on …".
    pub byline: String,
    pub decided: String,
    pub decided_machine: String,
    pub changed: Option<String>,
    /// The justification's paragraphs, plain text (escaped by the template).
    pub paragraphs: Vec<String>,
    /// The original of a duplicate: (comment id, tracking number).
    pub duplicate: Option<(i64, String)>,
}

impl DispositionView {
    pub fn new(
        i18n: &I18n,
        d: &crate::services::triage::Disposition,
        draft_title: &str,
    ) -> DispositionView {
        DispositionView {
            decision: d.decision.as_str(),
            label: i18n.t(&format!("decision-{}", d.decision.as_str())),
            byline: i18n.ts(
                "disposition-byline",
                "group",
                &crate::services::triage::group_name(draft_title),
            ),
            decided: time::display(d.decided_at),
            decided_machine: time::machine(d.decided_at),
            changed: (d.updated_at != d.decided_at)
                .then(|| i18n.ts("disposition-changed", "date", &time::display(d.updated_at))),
            paragraphs: d.paragraphs(),
            duplicate: d
                .duplicate_of
                .map(|id| (id, d.duplicate_tracking.clone().unwrap_or_default())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ThreadView {
    pub root: CommentItem,
    pub replies: Vec<CommentItem>,
    /// "Show the whole thread (N more replies)" and the thread's address, when replies were
    /// left out.
    pub more: Option<(String, String)>,
}

/// The comment form, or why there is none.
#[derive(Debug, Clone)]
pub enum CommentForm {
    Open(Box<OpenCommentForm>),
    SignIn(String),
    Closed(String),
}

#[derive(Debug, Clone, Default)]
pub struct OpenCommentForm {
    pub action: String,
    pub heading: String,
    pub submit: String,
    pub errors: FormErrors,
    pub idempotency_key: String,
    pub with_stance: bool,
    pub with_quote: bool,
    pub stances: Vec<SelectOption>,
    pub quote: String,
    pub body: String,
    pub proposed_wording: String,
    pub show_as_participant: bool,
    pub organizations: Vec<SelectOption>,
}

#[derive(Debug, Clone, Default)]
pub struct Discussion {
    pub heading: String,
    pub count_text: String,
    pub total: i64,
    pub base: String,
    pub sorts: Vec<SelectOption>,
    pub stances: Vec<SelectOption>,
    pub respondents: Vec<SelectOption>,
    pub orgs_only: bool,
    pub threads: Vec<ThreadView>,
    pub pages: i64,
    pub page_text: String,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "thread.html")]
pub struct ThreadPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub title: String,
    pub draft_id: i64,
    pub draft_title: String,
    pub back_url: String,
    pub back_label: String,
    pub threads: Vec<ThreadView>,
    pub form: CommentForm,
}

#[derive(Template)]
#[template(path = "comment_edit.html")]
pub struct CommentEditPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub csrf: String,
    pub errors: FormErrors,
    pub id: i64,
    pub body: String,
    pub proposed_wording: String,
}

#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    pub i18n: I18n,
    pub nav: Nav,
    pub r: crate::services::comments::Receipt,
    pub just_posted: bool,
    pub created: String,
    pub created_machine: String,
    pub version_label: String,
    pub status_label: String,
    /// (display time, machine time, hash)
    pub revisions: Vec<(String, String, String)>,
}
