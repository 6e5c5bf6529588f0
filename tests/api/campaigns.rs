//! Campaigns: near-identical comments grouped by text similarity. The acceptance case: 100
//! distinct comments plus 40 variants of one form letter (other signers, other punctuation,
//! some with an extra sentence) give exactly one cluster of exactly those 40; only the
//! draft's working group and admins see it.

use diesel::prelude::*;
use talqy::db::DbConn;
use talqy::db::models::UserRow;
use talqy::db::schema::provisions;
use talqy::services::campaigns;
use talqy::services::comments::{self, CommentInput, Target};
use talqy::services::{accounts, working_groups};

use crate::helpers::{THREE_CHAPTERS, TestApp, attrs, spawn_app, texts};

const THRESHOLD: f64 = campaigns::DEFAULT_THRESHOLD;
const MIN_SIZE: usize = campaigns::DEFAULT_MIN_SIZE;

/// What a first sentence says: ten different subjects.
const OPENINGS: [&str; 10] = [
    "The definition of critical information infrastructure in the second chapter is far too broad for hospitals.",
    "Universities were not consulted when the authors described the national training programme for security specialists.",
    "I welcome the plan to create a single incident response centre reporting directly to the government.",
    "Banks already follow strict rules from the central bank, so a second supervisor would duplicate inspections.",
    "The concept says nothing about protecting children from online fraud and grooming on social networks.",
    "Municipal water utilities run outdated control systems that cannot be patched without replacing equipment.",
    "Our association of software developers supports mandatory disclosure of vulnerabilities found in state systems.",
    "Rural schools lack even basic antivirus licences, yet the draft assumes every institution has an administrator.",
    "The timeline of eighteen months for certification of domestic encryption products seems unrealistic to me.",
    "Journalists fear that the vague term information threat could be used to block critical reporting.",
];

/// Ten different arguments.
const REASONS: [&str; 10] = [
    "Similar reforms in Estonia took five years and relied on close cooperation with private companies.",
    "Without a dedicated budget line, regional authorities will simply ignore these obligations.",
    "Experience from last winter's outage showed that nobody knew who was responsible for coordination.",
    "Small firms employ fewer than ten people and cannot hire a full-time compliance officer.",
    "International standards such as ISO 27001 already cover most of these requirements in detail.",
    "Citizens deserve to know how their personal data is stored, who can read it, and for how long.",
    "Parliamentary oversight is missing entirely from the governance model described in the annex.",
    "Recent phishing waves targeted pensioners through fake messages about social payments.",
    "Teachers would need practical courses rather than another set of written instructions.",
    "Cloud providers located abroad will not comply with localisation demands they consider unlawful.",
];

/// Ten different proposals.
const PROPOSALS: [&str; 10] = [
    "Please add a transition period and publish model documents for smaller organisations.",
    "I propose an independent ombudsman who can receive complaints about surveillance.",
    "The drafters should invite representatives of hospitals to their next meeting.",
    "Let the annual report on incidents be published openly on the ministry website.",
    "Grants for regional training centres would make this programme far more credible.",
    "A narrower definition, with a closed list of sectors, would avoid legal uncertainty.",
    "Make certification voluntary for the first two years and collect feedback from users.",
    "Courts, not the agency, must decide whether a website may be blocked.",
    "Fund free security audits for schools and libraries from the national budget.",
    "Include a clear procedure for reporting bugs with legal protection for researchers.",
];

/// Comment `i` of 100: opening `a`, reason `b`, proposal `(a + b) mod 10`. Two different
/// comments share at most one of their three sentences (a Latin square), so no two are
/// near-duplicates, yet they read like real, overlapping opinions.
fn distinct_comment(i: usize) -> String {
    let (a, b) = (i % 10, i / 10);
    format!("{} {} {}", OPENINGS[a], REASONS[b], PROPOSALS[(a + b) % 10])
}

const FIRST: [&str; 8] = [
    "Aigerim", "Daniyar", "Olga", "Marat", "Saule", "Ivan", "Gulnara", "Timur",
];
const LAST: [&str; 5] = ["Nurlanova", "Petrov", "Seitkali", "Kim", "Abenova"];

const EXTRA: [&str; 5] = [
    "My family runs a small online shop and we value our privacy.",
    "I have used the same regional provider for more than ten years.",
    "Please also tell us who will pay for all of this storage.",
    "Our neighbours signed a similar letter last week.",
    "I work as a nurse and patients trust me with their secrets.",
];

/// Variant `n` of one ~80-word form letter: each has its own signer, the punctuation and
/// formatting change from variant to variant, and every third adds a sentence of its own.
fn form_letter(n: usize) -> String {
    let name = format!("{} {}", FIRST[n % 8], LAST[(n / 8) % 5]);
    let mut body = String::from(
        "Dear members of the working group, I am writing to object to Article 12 of the draft \
         Cybersecurity Concept. The article would oblige every internet provider to keep the full \
         browsing history of its customers for three years and to hand it to the agency without \
         a court order. This is a disproportionate intrusion into private life, it contradicts \
         the Constitution, and it will make small providers pay for storage they cannot afford. \
         I ask you to delete Article 12 or to require a court order for every request.",
    );
    body = match n % 4 {
        0 => body,
        1 => body.replace(',', ""),
        2 => body.replace(". ", "! ").replace(
            "Dear members of the working group,",
            "Dear members of the working group:",
        ),
        _ => body
            .replace(',', ";")
            .replace("Article 12", "«Article 12»")
            .replace("delete", "**delete**"),
    };
    if n.is_multiple_of(5) {
        body = body
            .replace("court order", "court-order")
            .replace("Cybersecurity", "CYBERSECURITY");
    }
    if n.is_multiple_of(3) {
        body.push(' ');
        body.push_str(EXTRA[(n / 3) % EXTRA.len()]);
    }
    let sign_off = if n.is_multiple_of(2) {
        "Sincerely,"
    } else {
        "Sincerely —"
    };
    format!("{body}\n\n{sign_off} {name}")
}

fn user(conn: &mut DbConn, id: i64) -> UserRow {
    accounts::find(conn, id).unwrap().unwrap()
}

fn post(
    conn: &mut DbConn,
    author: &UserRow,
    draft_id: i64,
    provision_key: Option<&str>,
    parent: Option<i64>,
    body: &str,
    key: &str,
) -> i64 {
    comments::post(
        conn,
        author,
        &Target {
            draft_id,
            provision_key: provision_key.map(str::to_string),
        },
        parent,
        &CommentInput {
            stance: "object".into(),
            body: body.into(),
            idempotency_key: key.into(),
            ..Default::default()
        },
    )
    .unwrap()
    .id
}

struct Seeded {
    draft_id: i64,
    letters: Vec<i64>,
    distinct: Vec<i64>,
    participant_email: String,
}

/// 100 distinct comments and 40 letters interleaved, by five participants, some on the whole
/// draft and some on its first provision; plus a reply and a withdrawn comment that copy the
/// letter (neither is a submission of the campaign).
fn seed(app: &TestApp) -> Seeded {
    let draft_id = app.published_draft(
        "Cybersecurity Concept",
        "concept",
        "Ministry of Digital Development",
        THREE_CHAPTERS,
        30,
    );
    let conn: &mut DbConn = &mut app.conn();
    let provision: String = provisions::table
        .order(provisions::id)
        .select(provisions::key)
        .first(conn)
        .unwrap();
    let authors: Vec<UserRow> = (0..5)
        .map(|i| {
            let id = app.create_user(
                &format!("citizen{i}@example.org"),
                &format!("Citizen {i}"),
                "correct horse battery staple",
                true,
                false,
            );
            user(conn, id)
        })
        .collect();
    let mut letters = Vec::new();
    let mut distinct = Vec::new();
    let (mut d, mut l) = (0, 0);
    for step in 0..140 {
        let author = &authors[step % authors.len()];
        let on = step.is_multiple_of(3).then_some(provision.as_str());
        // Roughly two distinct comments for every letter, mixed.
        if (step % 7 < 2 && l < 40) || d == 100 {
            letters.push(post(
                conn,
                author,
                draft_id,
                on,
                None,
                &form_letter(l),
                &format!("l{l}"),
            ));
            l += 1;
        } else {
            distinct.push(post(
                conn,
                author,
                draft_id,
                on,
                None,
                &distinct_comment(d),
                &format!("d{d}"),
            ));
            d += 1;
        }
    }
    assert_eq!((letters.len(), distinct.len()), (40, 100));
    // A reply quoting the letter in full, and a copy its author withdrew.
    post(
        conn,
        &authors[1],
        draft_id,
        None,
        Some(letters[0]),
        &form_letter(40),
        "reply",
    );
    let gone = post(
        conn,
        &authors[2],
        draft_id,
        None,
        None,
        &form_letter(41),
        "gone",
    );
    comments::withdraw(conn, &authors[2], gone).unwrap();
    Seeded {
        draft_id,
        letters,
        distinct,
        participant_email: "citizen0@example.org".into(),
    }
}

#[tokio::test]
async fn forty_form_letters_among_a_hundred_distinct_comments_are_one_campaign() {
    let app = spawn_app().await;
    let s = seed(&app);
    let conn: &mut DbConn = &mut app.conn();

    let clusters = campaigns::clusters(conn, s.draft_id, THRESHOLD, MIN_SIZE).unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let c = &clusters[0];
    assert_eq!(
        c.comment_ids, s.letters,
        "exactly the 40 letters, in id order"
    );
    assert_eq!(c.size, 40);
    assert_eq!(c.representative_id, s.letters[0]);
    assert!(
        c.sample.starts_with("Dear members of the working group"),
        "{}",
        c.sample
    );
    assert_eq!(
        c.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        s.letters
    );

    // The triage queue's filter: any member finds the whole campaign, others find nothing.
    assert_eq!(
        campaigns::members_of(conn, s.draft_id, s.letters[0], THRESHOLD, MIN_SIZE).unwrap(),
        s.letters
    );
    assert_eq!(
        campaigns::members_of(conn, s.draft_id, s.letters[17], THRESHOLD, MIN_SIZE).unwrap(),
        s.letters
    );
    assert!(
        campaigns::members_of(conn, s.draft_id, s.distinct[0], THRESHOLD, MIN_SIZE)
            .unwrap()
            .is_empty()
    );

    // Deterministic: asking again gives the same answer.
    assert_eq!(
        campaigns::clusters(conn, s.draft_id, THRESHOLD, MIN_SIZE).unwrap(),
        clusters
    );
    // A minimum above the campaign's size finds none.
    assert!(
        campaigns::clusters(conn, s.draft_id, THRESHOLD, 41)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn campaigns_belong_to_their_draft() {
    let app = spawn_app().await;
    let s = seed(&app);
    let other = app.published_draft("Another draft", "law", "Ministry", THREE_CHAPTERS, 30);
    let conn: &mut DbConn = &mut app.conn();
    let author = user(
        conn,
        app.create_user("other@example.org", "Other", "pw-pw-pw-pw-pw", true, false),
    );
    let copies: Vec<i64> = (0..3)
        .map(|n| {
            post(
                conn,
                &author,
                other,
                None,
                None,
                &form_letter(n),
                &format!("o{n}"),
            )
        })
        .collect();
    let here = campaigns::clusters(conn, other, THRESHOLD, MIN_SIZE).unwrap();
    assert_eq!(here.len(), 1);
    assert_eq!(here[0].comment_ids, copies);
    let there = campaigns::clusters(conn, s.draft_id, THRESHOLD, MIN_SIZE).unwrap();
    assert_eq!(there[0].comment_ids, s.letters);
    assert!(
        campaigns::members_of(conn, other, s.letters[0], THRESHOLD, MIN_SIZE)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_campaigns_page_shows_the_cluster_to_the_working_group_only() {
    let app = spawn_app().await;
    let s = seed(&app);
    let path = format!("/drafts/{}/triage/campaigns", s.draft_id);
    let password = "correct horse battery staple";
    app.create_user(
        "wg@example.org",
        "Working Group Member",
        password,
        true,
        false,
    );
    working_groups::add(
        &mut app.conn(),
        None,
        s.draft_id,
        "wg@example.org",
        "member",
    )
    .unwrap();
    app.create_user("admin@example.org", "Admin", password, true, true);

    // Anonymous visitors are sent to sign in, and come back here afterwards.
    let res = app.get(&path).await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?next="), "{location}");

    // A participant (one of the commenters) is refused.
    let participant = app.new_client();
    participant.sign_in(&s.participant_email, password).await;
    let (status, doc) = participant.get_html(&path).await;
    assert_eq!(status, 403);
    assert!(texts(&doc, ".campaign-size").is_empty());

    // The working group sees one campaign of 40, its sample, its comments and the way to
    // answer all of them in the triage queue.
    let member = app.new_client();
    member.sign_in("wg@example.org", password).await;
    let res = member.get(&path).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let doc = scraper::Html::parse_document(&res.text().await.unwrap());
    assert_eq!(texts(&doc, "h1"), vec!["Campaigns: Cybersecurity Concept"]);
    assert_eq!(texts(&doc, "#campaigns-summary"), vec!["1 campaign"]);
    assert_eq!(texts(&doc, ".campaign-size"), vec!["40"]);
    assert!(texts(&doc, ".campaign-sample")[0].starts_with("Dear members of the working group"));
    let links: Vec<String> = attrs(&doc, ".campaign-members a", "href");
    let expected: Vec<String> = s
        .letters
        .iter()
        .map(|id| format!("/comments/{id}"))
        .collect();
    assert_eq!(links, expected);
    assert_eq!(
        attrs(&doc, "a.campaign-answer", "href"),
        vec![format!(
            "/drafts/{}/triage?campaign={}",
            s.draft_id, s.letters[0]
        )]
    );
    assert_eq!(
        texts(&doc, "a.campaign-answer"),
        vec!["Answer these 40 comments together in the triage queue"]
    );

    // The link opens the triage queue on exactly the campaign's comments, ready to be
    // selected and answered with one decision.
    let (status, doc) = member
        .get_html(&format!(
            "/drafts/{}/triage?campaign={}",
            s.draft_id, s.letters[0]
        ))
        .await;
    assert_eq!(status, 200);
    let mut listed: Vec<i64> = attrs(&doc, "input[name=ids]", "value")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    listed.sort();
    let mut letters = s.letters.clone();
    letters.sort();
    assert_eq!(listed, letters);
    assert_eq!(
        attrs(&doc, "input[name=campaign]", "value"),
        vec![s.letters[0].to_string()]
    );
    let (status, _) = participant
        .get_html(&format!(
            "/drafts/{}/triage?campaign={}",
            s.draft_id, s.letters[0]
        ))
        .await;
    assert_eq!(status, 403);

    // Admins see it too.
    let admin = app.new_client();
    admin.sign_in("admin@example.org", password).await;
    let (status, doc) = admin.get_html(&path).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, ".campaign-size"), vec!["40"]);

    // A draft that does not exist is not found (for those who may see campaigns at all).
    let (status, _) = admin.get_html("/drafts/999999/triage/campaigns").await;
    assert_eq!(status, 404);
    let (status, _) = member.get_html("/drafts/999999/triage/campaigns").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_draft_without_campaigns_says_so() {
    let app = spawn_app().await;
    let draft_id = app.published_draft("Quiet draft", "law", "Ministry", THREE_CHAPTERS, 30);
    let password = "correct horse battery staple";
    app.create_user("admin@example.org", "Admin", password, true, true);
    let conn: &mut DbConn = &mut app.conn();
    let author = user(
        conn,
        app.create_user("a@example.org", "A", password, true, false),
    );
    for i in 0..5 {
        post(
            conn,
            &author,
            draft_id,
            None,
            None,
            &distinct_comment(i * 11),
            &format!("k{i}"),
        );
    }
    assert!(
        campaigns::clusters(conn, draft_id, THRESHOLD, MIN_SIZE)
            .unwrap()
            .is_empty()
    );
    let admin = app.new_client();
    admin.sign_in("admin@example.org", password).await;
    let (status, doc) = admin
        .get_html(&format!("/drafts/{draft_id}/triage/campaigns"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&doc, "#campaigns-summary"),
        vec!["No campaigns among the published comments."]
    );
    assert!(texts(&doc, ".campaign-size").is_empty());
}

/// How the default threshold was tuned: every pair of letter variants scores well above it,
/// every pair of distinct comments (and every letter against a distinct comment) well below.
#[test]
fn the_default_threshold_separates_letters_from_distinct_comments() {
    use talqy::services::campaigns::similarity::{
        MinHasher, estimated_similarity, normalise, shingles,
    };
    let hasher = MinHasher::new(128);
    let sig = |t: &str| {
        let plain = talqy::markdown::to_plain_text(t);
        hasher.signature(&shingles(&normalise(&plain), 3)).unwrap()
    };
    let letters: Vec<Vec<u32>> = (0..40).map(|n| sig(&form_letter(n))).collect();
    let distinct: Vec<Vec<u32>> = (0..100).map(|n| sig(&distinct_comment(n))).collect();
    let pairs = |a: &[Vec<u32>], b: &[Vec<u32>], same: bool| -> Vec<f64> {
        let mut out = Vec::new();
        for (i, x) in a.iter().enumerate() {
            for y in &b[if same { i + 1 } else { 0 }..] {
                out.push(estimated_similarity(x, y));
            }
        }
        out
    };
    let least_letters = pairs(&letters, &letters, true)
        .into_iter()
        .fold(1.0, f64::min);
    let most_distinct = pairs(&distinct, &distinct, true)
        .into_iter()
        .fold(0.0, f64::max);
    let most_across = pairs(&letters, &distinct, false)
        .into_iter()
        .fold(0.0, f64::max);
    // Measured: 0.72, 0.30 and 0.0.
    assert!(least_letters >= THRESHOLD + 0.15, "{least_letters}");
    assert!(most_distinct <= THRESHOLD - 0.15, "{most_distinct}");
    assert!(most_across <= THRESHOLD - 0.15, "{most_across}");
}
