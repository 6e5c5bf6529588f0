//! A deterministic large consultation for benchmarks (`talqy seed`): one open draft with
//! many provisions, participants (some verified representatives of organizations), tens of
//! thousands of comments with replies, and the working group's decisions on half of them.
//!
//! Rows are written in large batches inside one write transaction instead of through
//! `comments::post` one by one, but they are the rows `post` and `triage` would have made:
//! the same paths, root ids, tracking numbers, content hashes, revisions and record-chain
//! entries, so `talqy audit verify` accepts the seeded database.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::db::DbConn;
use crate::db::dialect::write_transaction;
use crate::db::schema::{
    comment_revisions, comments, dispositions, organization_representatives, organizations,
    provisions, record_chain, triage, users, versions,
};
use crate::domain::{RespondentType, Stance, time};
use crate::error::AppError;
use crate::services::chain;
use crate::services::comments::{MAX_DEPTH, PUBLISHED, content_hash, tracking_number};
use crate::services::drafts::{self, DraftInput};

/// Every seeded account signs in with this password.
pub const PASSWORD: &str = "bench passphrase for talqy";
pub const ADMIN_EMAIL: &str = "admin@bench.talqy.example";
/// Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters.
const BATCH: usize = 400;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub provisions: usize,
    pub comments: usize,
    pub participants: usize,
    pub organizations: usize,
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            provisions: 200,
            comments: 20_000,
            participants: 2_000,
            organizations: 50,
            seed: 8,
        }
    }
}

/// What the benchmark needs to know about the seeded consultation.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    pub draft_id: i64,
    pub provisions: usize,
    pub comments: usize,
    pub replies: usize,
    pub dispositions: usize,
    pub participants: usize,
    pub organizations: usize,
    /// Provision keys by the number of comments on them, busiest first.
    pub sized: Vec<SizedProvision>,
    pub admin_email: String,
    /// `participant_email(n)` for n in 1..=participants.
    pub participant_email_pattern: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SizedProvision {
    pub key: String,
    pub comments: usize,
}

pub fn participant_email(n: usize) -> String {
    format!("p{n:05}@bench.talqy.example")
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser {
    email: String,
    display_name: String,
    password_hash: String,
    respondent_type: String,
    email_verified_at: Option<NaiveDateTime>,
    is_admin: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = organizations)]
struct NewOrganization {
    name: String,
    kind: String,
    registration_number: String,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = organization_representatives)]
struct NewRepresentative {
    organization_id: i64,
    user_id: i64,
    status: String,
    decided_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Insertable, Clone)]
#[diesel(table_name = comments)]
struct NewComment {
    id: i64,
    draft_id: i64,
    version_id: i64,
    provision_key: Option<String>,
    parent_id: Option<i64>,
    root_id: Option<i64>,
    path: String,
    depth: i32,
    author_id: i64,
    organization_id: Option<i64>,
    respondent_type: String,
    stance: String,
    body: String,
    body_html: String,
    proposed_wording: Option<String>,
    quote: Option<String>,
    status: String,
    tracking_number: String,
    content_hash: String,
    endorsement_count: i32,
    reply_count: i32,
    idempotency_key: String,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = comment_revisions)]
struct NewRevision {
    comment_id: i64,
    body: String,
    proposed_wording: Option<String>,
    content_hash: String,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = triage)]
struct NewTriage {
    comment_id: i64,
    status: String,
    assignee_id: Option<i64>,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = dispositions)]
struct NewDisposition {
    comment_id: i64,
    decision: String,
    duplicate_of: Option<i64>,
    justification: String,
    decided_by: Option<i64>,
    decided_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = record_chain)]
struct NewEntry {
    seq: i64,
    kind: String,
    subject_id: i64,
    content_hash: String,
    prev_hash: String,
    entry_hash: String,
    created_at: NaiveDateTime,
}

/// Batch inserts go to the concrete connection: the multi-backend has no batch insert.
macro_rules! insert_batches {
    ($conn:expr, $table:expr, $rows:expr) => {{
        for chunk in $rows.chunks(BATCH) {
            match &mut *$conn {
                DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                DbConn::Postgres(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    }};
}

const WORDS: &[&str] = &[
    "the",
    "provision",
    "should",
    "require",
    "operators",
    "to",
    "report",
    "incidents",
    "within",
    "hours",
    "and",
    "publish",
    "a",
    "register",
    "of",
    "critical",
    "infrastructure",
    "while",
    "small",
    "businesses",
    "need",
    "more",
    "time",
    "because",
    "their",
    "budgets",
    "are",
    "limited",
    "data",
    "protection",
    "authority",
    "must",
    "review",
    "every",
    "notice",
    "clear",
    "deadline",
    "training",
    "specialists",
    "public",
    "services",
    "citizens",
    "consent",
    "audit",
    "penalty",
    "proportionate",
    "transition",
    "period",
    "months",
    "definition",
    "unclear",
];

fn sentence(rng: &mut StdRng, min: usize, max: usize) -> String {
    let n = rng.random_range(min..=max);
    let mut s = (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s.push('.');
    s
}

/// The draft's text: chapters of articles, `provisions` in all.
fn draft_text(rng: &mut StdRng, provisions: usize) -> String {
    let per_chapter = 9;
    let mut out = String::from("# Benchmark Concept of Digital Resilience\n\n");
    let mut made = 0;
    let mut article = 0;
    let mut chapter = 0;
    while made < provisions {
        chapter += 1;
        out.push_str(&format!("## Chapter {chapter}. Topic number {chapter}\n\n"));
        made += 1;
        for _ in 0..per_chapter {
            if made >= provisions {
                break;
            }
            article += 1;
            out.push_str(&format!(
                "### Article {article}. Measure {article}\n\n{} {}\n\n",
                sentence(rng, 12, 30),
                sentence(rng, 8, 20)
            ));
            // The article and its paragraph.
            made += 2;
        }
    }
    out
}

/// How many comments go to each target: the busiest provision takes half, three take 5 %
/// each, one takes 0.5 % (for the cost curve), the rest share what is left with the draft
/// as a whole.
fn shares(total: usize, keys: usize) -> Vec<usize> {
    let mut counts = vec![0usize; keys + 1];
    if keys == 0 {
        counts[0] = total;
        return counts;
    }
    let fixed = [0.5, 0.05, 0.05, 0.05, 0.005];
    let mut left = total;
    for (i, f) in fixed.iter().enumerate().take(keys) {
        let n = ((total as f64) * f).round() as usize;
        counts[i + 1] = n.min(left);
        left -= counts[i + 1];
    }
    // The remaining keys and the whole draft (index 0) share the rest evenly.
    let rest: Vec<usize> = std::iter::once(0)
        .chain((fixed.len() + 1).min(keys + 1)..keys + 1)
        .collect();
    for (j, &i) in rest.iter().enumerate() {
        counts[i] = left / rest.len() + usize::from(j < left % rest.len());
    }
    counts
}

/// Seeds the consultation. Takes a fresh or an existing database (ids follow what is there).
pub fn seed(conn: &mut DbConn, opts: &SeedOptions) -> Result<Seeded, AppError> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let password_hash = crate::auth::password::hash(PASSWORD);
    let now = time::now();
    let opened = now - Duration::days(20);

    // The draft, published with a round that opened 20 days ago (its version joins the chain).
    let text = draft_text(&mut rng, opts.provisions);
    let parsed = drafts::parse_text(text.as_bytes(), usize::MAX)?;
    let draft_id = drafts::create(
        conn,
        &DraftInput {
            title: String::new(),
            kind: "concept".into(),
            authority: "Ministry of Benchmarks".into(),
            summary: "A large seeded consultation for load tests.".into(),
        },
        Some(&parsed),
        "seed",
    )?;
    drafts::publish(
        conn,
        draft_id,
        Some(opened),
        now + Duration::days(60),
        "seed",
    )?;

    let respondent_kinds: Vec<&str> = RespondentType::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| *r != "public_authority")
        .collect();

    let seeded = write_transaction(conn, |conn| {
        // Accounts: one administrator (the working group's chair) and the participants.
        let mut new_users = vec![NewUser {
            email: ADMIN_EMAIL.into(),
            display_name: "Benchmark secretary".into(),
            password_hash: password_hash.clone(),
            respondent_type: "public_authority".into(),
            email_verified_at: Some(opened),
            is_admin: true,
            created_at: opened,
            updated_at: opened,
        }];
        for n in 1..=opts.participants {
            new_users.push(NewUser {
                email: participant_email(n),
                display_name: format!("Participant {n}"),
                password_hash: password_hash.clone(),
                respondent_type: respondent_kinds[n % respondent_kinds.len()].into(),
                email_verified_at: Some(opened),
                is_admin: false,
                created_at: opened,
                updated_at: opened,
            });
        }
        insert_batches!(conn, users::table, new_users);
        let ids: HashMap<String, (i64, String)> = users::table
            .filter(users::email.like("%@bench.talqy.example"))
            .select((users::email, users::id, users::respondent_type))
            .load::<(String, i64, String)>(conn)?
            .into_iter()
            .map(|(e, id, r)| (e, (id, r)))
            .collect();
        let admin_id = ids[ADMIN_EMAIL].0;
        let participants: Vec<(i64, String)> = (1..=opts.participants)
            .map(|n| ids[&participant_email(n)].clone())
            .collect();
        crate::services::working_groups::add(conn, Some(admin_id), draft_id, ADMIN_EMAIL, "chair")?;

        // Organizations, each with two verified representatives among the participants.
        let kinds = crate::domain::organization::OrganizationKind::ALL;
        let orgs: Vec<NewOrganization> = (1..=opts.organizations)
            .map(|n| NewOrganization {
                name: format!("Benchmark Organization {n}"),
                kind: kinds[n % kinds.len()].as_str().into(),
                registration_number: format!("BENCH-{n:04}"),
                created_at: opened,
            })
            .collect();
        insert_batches!(conn, organizations::table, orgs);
        let org_ids: Vec<i64> = organizations::table
            .filter(organizations::registration_number.like("BENCH-%"))
            .order(organizations::id)
            .select(organizations::id)
            .load(conn)?;
        let mut represents: HashMap<i64, i64> = HashMap::new();
        let mut reps = Vec::new();
        for (i, org) in org_ids.iter().enumerate() {
            for (user, _) in participants.iter().skip(i * 2).take(2) {
                represents.insert(*user, *org);
                reps.push(NewRepresentative {
                    organization_id: *org,
                    user_id: *user,
                    status: "verified".into(),
                    decided_at: Some(opened),
                    created_at: opened,
                });
            }
        }
        insert_batches!(conn, organization_representatives::table, reps);

        // Comments.
        let version_id: i64 = versions::table
            .filter(versions::draft_id.eq(draft_id))
            .order(versions::number.desc())
            .select(versions::id)
            .first(conn)?;
        let keys: Vec<String> = provisions::table
            .filter(provisions::version_id.eq(version_id))
            .filter(provisions::kind.eq("article"))
            .order(provisions::position)
            .select(provisions::key)
            .load(conn)?;
        let counts = shares(opts.comments, keys.len());
        let mut order: Vec<usize> = counts
            .iter()
            .enumerate()
            .flat_map(|(i, n)| std::iter::repeat_n(i, *n))
            .collect();
        // Fisher–Yates with the seeded generator, so targets interleave over time.
        for i in (1..order.len()).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        let first_id: i64 = comments::table
            .select(diesel::dsl::max(comments::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)
            + 1;
        let span = (now - Duration::minutes(5) - opened).num_seconds().max(1);
        let total = order.len().max(1) as i64;
        let mut rows: Vec<NewComment> = Vec::with_capacity(order.len());
        let mut by_target: Vec<Vec<usize>> = vec![Vec::new(); counts.len()];
        let mut replies = 0;
        for (n, &target) in order.iter().enumerate() {
            let id = first_id + n as i64;
            let at = opened + Duration::seconds(span * n as i64 / total);
            let key = (target > 0).then(|| keys[target - 1].clone());
            let (author, respondent) =
                participants[rng.random_range(0..participants.len())].clone();
            let reply_to = (!by_target[target].is_empty() && rng.random_bool(0.3)).then(|| {
                let list = &by_target[target];
                list[rng.random_range(0..list.len())]
            });
            let (parent, root, path, depth) = match reply_to {
                None => (None, id, format!("{id:012}"), 0),
                Some(pi) => {
                    let p = &rows[pi];
                    // Past the cap, a reply joins its parent's siblings (as `post` does).
                    let (attach, attach_path, attach_depth) = if p.depth >= MAX_DEPTH {
                        let gpath = p.path.rsplit_once('.').map(|(a, _)| a).unwrap_or("");
                        (
                            p.parent_id.expect("deep comments have parents"),
                            gpath.to_string(),
                            p.depth - 1,
                        )
                    } else {
                        (p.id, p.path.clone(), p.depth)
                    };
                    (
                        Some(attach),
                        p.root_id.unwrap_or(p.id),
                        format!("{attach_path}.{id:012}"),
                        attach_depth + 1,
                    )
                }
            };
            let stance = if parent.is_some() {
                Stance::Question
            } else {
                Stance::ALL[rng.random_range(0..Stance::ALL.len())]
            };
            let body = (0..rng.random_range(1..=3))
                .map(|_| sentence(&mut rng, 8, 40))
                .collect::<Vec<_>>()
                .join(" ");
            let wording = (stance == Stance::ProposeChange).then(|| sentence(&mut rng, 10, 25));
            let organization = represents
                .get(&author)
                .copied()
                .filter(|_| rng.random_bool(0.5));
            let tracking = tracking_number(id, at);
            let hash = content_hash(
                &tracking,
                draft_id,
                version_id,
                key.as_deref(),
                parent,
                author,
                organization,
                stance.as_str(),
                &body,
                wording.as_deref(),
                None,
                at,
            );
            if parent.is_some() {
                replies += 1;
            }
            by_target[target].push(rows.len());
            rows.push(NewComment {
                id,
                draft_id,
                version_id,
                provision_key: key,
                parent_id: parent,
                root_id: Some(root),
                path,
                depth,
                author_id: author,
                organization_id: organization,
                respondent_type: respondent,
                stance: stance.as_str().into(),
                body_html: crate::markdown::to_safe_html(&body),
                body,
                proposed_wording: wording,
                quote: None,
                status: PUBLISHED.into(),
                tracking_number: tracking,
                content_hash: hash,
                endorsement_count: 0,
                reply_count: 0,
                idempotency_key: format!("seed-{id}"),
                created_at: at,
            });
        }
        let mut reply_counts: HashMap<i64, i32> = HashMap::new();
        for r in &rows {
            if let Some(p) = r.parent_id {
                *reply_counts.entry(p).or_default() += 1;
            }
        }
        for r in &mut rows {
            r.reply_count = reply_counts.get(&r.id).copied().unwrap_or(0);
        }
        insert_batches!(conn, comments::table, rows);
        if let DbConn::Postgres(c) = &mut *conn {
            // Explicit ids leave the sequence behind; later posts must not collide.
            diesel::sql_query(
                "SELECT setval(pg_get_serial_sequence('comments', 'id'), (SELECT MAX(id) FROM comments))",
            )
            .execute(c)?;
        }
        let revisions: Vec<NewRevision> = rows
            .iter()
            .map(|r| NewRevision {
                comment_id: r.id,
                body: r.body.clone(),
                proposed_wording: r.proposed_wording.clone(),
                content_hash: r.content_hash.clone(),
                created_at: r.created_at,
            })
            .collect();
        insert_batches!(conn, comment_revisions::table, revisions);

        // The working group's decisions on every other comment; a third of the rest in review.
        let decisions = ["accepted", "partially_accepted", "rejected", "noted"];
        let mut triage_rows = Vec::new();
        let mut disposition_rows = Vec::new();
        let mut chain_subjects: Vec<(&str, i64, String)> = rows
            .iter()
            .map(|r| (chain::COMMENT, r.id, r.content_hash.clone()))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            if i % 2 == 0 {
                let decided_at = (r.created_at + Duration::hours(6)).min(now);
                let decision = decisions[(i / 2) % decisions.len()];
                let justification = sentence(&mut rng, 10, 30);
                chain_subjects.push((
                    chain::DISPOSITION,
                    r.id,
                    chain::disposition_hash(r.id, decision, None, &justification, decided_at),
                ));
                triage_rows.push(NewTriage {
                    comment_id: r.id,
                    status: "decided".into(),
                    assignee_id: Some(admin_id),
                    updated_at: decided_at,
                });
                disposition_rows.push(NewDisposition {
                    comment_id: r.id,
                    decision: decision.into(),
                    duplicate_of: None,
                    justification,
                    decided_by: Some(admin_id),
                    decided_at,
                    updated_at: decided_at,
                });
            } else if i % 3 == 0 {
                triage_rows.push(NewTriage {
                    comment_id: r.id,
                    status: "in_review".into(),
                    assignee_id: Some(admin_id),
                    updated_at: r.created_at,
                });
            }
        }
        insert_batches!(conn, triage::table, triage_rows);
        insert_batches!(conn, dispositions::table, disposition_rows);

        // The record chain, continued from its head exactly as `chain::append` would.
        crate::db::dialect::lock_record_chain(conn)?;
        let head = chain::head(conn)?;
        let (mut seq, mut prev) = match head {
            Some(e) => (e.seq, e.entry_hash),
            None => (0, chain::GENESIS.to_string()),
        };
        let mut entries = Vec::with_capacity(chain_subjects.len());
        for (n, (kind, subject, hash)) in chain_subjects.into_iter().enumerate() {
            seq += 1;
            let at = now + Duration::microseconds(n as i64);
            let entry = chain::entry_hash(seq, kind, subject, &hash, &prev, at);
            entries.push(NewEntry {
                seq,
                kind: kind.into(),
                subject_id: subject,
                content_hash: hash,
                prev_hash: std::mem::replace(&mut prev, entry.clone()),
                entry_hash: entry,
                created_at: at,
            });
        }
        insert_batches!(conn, record_chain::table, entries);

        let mut sized: Vec<SizedProvision> = counts
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, n)| SizedProvision {
                key: keys[i - 1].clone(),
                comments: *n,
            })
            .collect();
        sized.sort_by_key(|s| std::cmp::Reverse(s.comments));
        Ok::<_, AppError>(Seeded {
            draft_id,
            provisions: parsed.provisions.len(),
            comments: rows.len(),
            replies,
            dispositions: rows.len().div_ceil(2),
            participants: opts.participants,
            organizations: org_ids.len(),
            sized,
            admin_email: ADMIN_EMAIL.into(),
            participant_email_pattern: "p{n:05}@bench.talqy.example".into(),
            password: PASSWORD.into(),
        })
    })?;
    // A bulk load leaves the planner without statistics (and PostgreSQL without the
    // visibility map its index-only scans need) until autovacuum gets round to it; measure
    // the database as it will be a minute later.
    let refresh = match conn {
        DbConn::Postgres(_) => "VACUUM ANALYZE",
        DbConn::Sqlite(_) => "ANALYZE",
    };
    diesel::sql_query(refresh).execute(conn)?;
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_give_the_busiest_half() {
        let c = shares(20_000, 180);
        assert_eq!(c.iter().sum::<usize>(), 20_000);
        assert_eq!(c[1], 10_000);
        assert_eq!(&c[2..5], &[1_000, 1_000, 1_000]);
        assert_eq!(c[5], 100);
        assert_eq!(shares(10, 0), vec![10]);
    }
}
