use crate::helpers::{THREE_CHAPTERS, assert_inert, attrs, spawn_app, spawn_app_with, texts};
use talqy::domain::DraftStatus;
use talqy::services::drafts::{self, DraftInput};

#[tokio::test]
async fn home_lists_open_consultations_first_with_days_left() {
    let app = spawn_app().await;
    let later = app.published_draft(
        "Law on Later Things",
        "law",
        "Ministry of Justice",
        THREE_CHAPTERS,
        20,
    );
    let sooner = app.published_draft(
        "Concept of Sooner Things",
        "concept",
        "Ministry of Digital Development",
        THREE_CHAPTERS,
        5,
    );
    let closed = app.published_draft(
        "Decree on Closed Things",
        "decree",
        "Government",
        THREE_CHAPTERS,
        9,
    );
    drafts::transition(&mut app.conn(), closed, DraftStatus::Closed, "test", None).unwrap();

    let (status, doc) = app.get_html("/").await;
    assert_eq!(status, 200);
    let open_titles = texts(&doc, "section[aria-labelledby=open-heading] h3");
    assert_eq!(
        open_titles,
        vec!["Concept of Sooner Things", "Law on Later Things"]
    );
    let rounds = texts(&doc, "section[aria-labelledby=open-heading] .round");
    assert!(rounds[0].contains("5 days left"), "{rounds:?}");
    assert!(rounds[1].contains("20 days left"), "{rounds:?}");
    let recent = texts(&doc, "section[aria-labelledby=recent-heading] h3");
    assert_eq!(recent, vec!["Decree on Closed Things"]);
    let links = attrs(&doc, "section[aria-labelledby=open-heading] h3 a", "href");
    assert_eq!(
        links,
        vec![format!("/drafts/{sooner}"), format!("/drafts/{later}")]
    );
}

#[tokio::test]
async fn unpublished_drafts_are_invisible() {
    let app = spawn_app().await;
    let text = drafts::parse_text(THREE_CHAPTERS.as_bytes(), 1 << 20).unwrap();
    let id = drafts::create(
        &mut app.conn(),
        &DraftInput {
            title: "Secret working text".into(),
            kind: "law".into(),
            authority: "Ministry".into(),
            summary: String::new(),
        },
        Some(&text),
        "test",
    )
    .unwrap();
    let (status, doc) = app.get_html(&format!("/drafts/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(texts(&doc, "h1"), vec!["Page not found"]);
    // Withdrawn before it was ever published: still nothing to show.
    drafts::transition(&mut app.conn(), id, DraftStatus::Withdrawn, "test", None).unwrap();
    let (status, _) = app.get_html(&format!("/drafts/{id}")).await;
    assert_eq!(status, 404);
    let (_, list) = app.get_html("/drafts?status=withdrawn").await;
    assert!(texts(&list, "h3").is_empty());
    let (_, list) = app.get_html("/drafts").await;
    assert!(texts(&list, "h3").is_empty());
    let (_, home) = app.get_html("/").await;
    assert!(!home.html().contains("Secret working text"));
}

#[tokio::test]
async fn draft_list_filters_and_paginates() {
    let app = spawn_app_with(|c| c.page_size = 2).await;
    for i in 1..=3 {
        app.published_draft(
            &format!("Law number {i}"),
            "law",
            "Ministry of Justice",
            THREE_CHAPTERS,
            10,
        );
    }
    app.published_draft(
        "Concept A",
        "concept",
        "Ministry of Digital Development",
        THREE_CHAPTERS,
        10,
    );
    let closed = app.published_draft("Decree B", "decree", "Government", THREE_CHAPTERS, 10);
    drafts::transition(&mut app.conn(), closed, DraftStatus::Closed, "test", None).unwrap();

    let (_, doc) = app.get_html("/drafts?kind=law").await;
    assert_eq!(texts(&doc, ".count"), vec!["3 drafts"]);
    assert_eq!(texts(&doc, ".cards h3").len(), 2);
    assert_eq!(texts(&doc, ".pagination span"), vec!["Page 1 of 2"]);
    let next = attrs(&doc, "a[rel=next]", "href");
    assert_eq!(next, vec!["/drafts?kind=law&page=2"]);
    let (_, page2) = app.get_html(&next[0]).await;
    assert_eq!(texts(&page2, ".cards h3").len(), 1);
    assert!(
        texts(&page2, ".cards h3")
            .iter()
            .all(|t| t.starts_with("Law number"))
    );
    assert_eq!(
        attrs(&page2, "a[rel=prev]", "href"),
        vec!["/drafts?kind=law&page=1"]
    );

    let (_, doc) = app.get_html("/drafts?status=closed").await;
    assert_eq!(texts(&doc, ".cards h3"), vec!["Decree B"]);
    let (_, doc) = app
        .get_html("/drafts?authority=Ministry+of+Digital+Development")
        .await;
    assert_eq!(texts(&doc, ".cards h3"), vec!["Concept A"]);
    // The filter form keeps what was chosen.
    assert_eq!(
        attrs(&doc, "#f-authority option[selected]", "value"),
        vec!["Ministry of Digital Development"]
    );
    let (_, doc) = app.get_html("/drafts?kind=law&authority=Government").await;
    assert_eq!(texts(&doc, ".count"), vec!["No drafts match."]);
}

#[tokio::test]
async fn a_bad_filter_value_is_explained() {
    let app = spawn_app().await;
    let (status, doc) = app.get_html("/drafts?kind=manifesto").await;
    assert_eq!(status, 422);
    let detail = texts(&doc, ".error-detail").join(" ");
    assert!(
        detail.contains("kind") && detail.contains("manifesto"),
        "{detail}"
    );
    let (status, _) = app.get_html("/drafts?page=zero").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn draft_page_shows_metadata_contents_provisions_and_history() {
    let app = spawn_app().await;
    let id = app.published_draft(
        "Law on Digital Services",
        "law",
        "Ministry of Digital Development",
        THREE_CHAPTERS,
        14,
    );
    let (status, doc) = app.get_html(&format!("/drafts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Law on Digital Services"]);
    let meta = texts(&doc, ".draft-meta dd").join(" | ");
    assert!(meta.contains("Ministry of Digital Development"), "{meta}");
    assert!(meta.contains("Law"), "{meta}");
    assert!(meta.contains("14 days left"), "{meta}");
    assert!(meta.contains("Version 1"), "{meta}");
    // Contents link to every chapter and article anchor.
    let toc = attrs(&doc, ".toc a", "href");
    assert_eq!(
        toc,
        vec![
            "#ch1",
            "#ch1.art1",
            "#ch1.art2",
            "#ch2",
            "#ch2.art3",
            "#ch3",
            "#ch3.art4"
        ]
    );
    // Every provision has an anchor and a permalink.
    let ids = attrs(&doc, ".draft-text [id]", "id");
    assert!(ids.contains(&"ch1.art1.p2".to_string()), "{ids:?}");
    assert!(ids.contains(&"ch1.art2.p2".to_string()), "{ids:?}");
    assert!(ids.contains(&"ch3.art4.p1".to_string()), "{ids:?}");
    let permalinks = attrs(&doc, ".draft-text .permalink", "href");
    assert_eq!(
        permalinks.len(),
        ids.len() - 1,
        "one permalink per provision"
    );
    assert!(permalinks.contains(&format!("/drafts/{id}/provisions/ch1.art1.p2")));
    let headings = texts(&doc, ".draft-text h3");
    assert!(
        headings
            .iter()
            .any(|h| h.starts_with("Статья 4 Вступление в силу")),
        "{headings:?}"
    );
    // Version history and status history.
    assert_eq!(texts(&doc, ".versions li strong"), vec!["Version 1"]);
    let history = texts(&doc, ".history li").join(" | ");
    assert!(
        history.contains("Unpublished") && history.contains("Open for comments"),
        "{history}"
    );
    // Landmarks and skip link for assistive technology.
    assert_eq!(attrs(&doc, "a.skip-link", "href"), vec!["#main"]);
    assert_eq!(attrs(&doc, "main", "id"), vec!["main"]);
    assert_eq!(attrs(&doc, "html", "lang"), vec!["en"]);
}

#[tokio::test]
async fn provision_permalinks_show_the_unit_and_its_place() {
    let app = spawn_app().await;
    let id = app.published_draft(
        "Law on Digital Services",
        "law",
        "Ministry",
        THREE_CHAPTERS,
        14,
    );
    let (status, doc) = app
        .get_html(&format!("/drafts/{id}/provisions/ch1.art2"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(texts(&doc, "h1"), vec!["Article 2 Terms"]);
    let crumbs = texts(&doc, ".breadcrumb li");
    assert_eq!(
        crumbs,
        vec!["Law on Digital Services", "Chapter 1 General provisions"]
    );
    let body = texts(&doc, ".draft-text .text").join(" | ");
    assert!(
        body.contains("digital service — a public service provided online"),
        "{body}"
    );
    assert!(body.contains("operator"), "{body}");
    assert!(
        !body.contains("free of charge"),
        "only the article's own provisions: {body}"
    );

    let (status, doc) = app
        .get_html(&format!("/drafts/{id}/provisions/ch2.art3.p1"))
        .await;
    assert_eq!(status, 200);
    assert!(texts(&doc, ".text").join(" ").contains("free of charge"));
    let (status, _) = app
        .get_html(&format!("/drafts/{id}/provisions/ch9.art99"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get_html(&format!("/drafts/{id}/versions/1/provisions/ch1.art1"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.get_html(&format!("/drafts/{id}/versions/2")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unknown_pages_get_a_404_page_in_the_layout() {
    let app = spawn_app().await;
    for path in ["/nowhere", "/drafts/999999", "/drafts/not-a-number"] {
        let (status, doc) = app.get_html(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(texts(&doc, "h1"), vec!["Page not found"], "{path}");
        assert_eq!(attrs(&doc, "a.skip-link", "href"), vec!["#main"], "{path}");
    }
}

#[tokio::test]
async fn user_text_in_drafts_is_rendered_inert() {
    let app = spawn_app().await;
    let md = "## Chapter 1. Test\n\n### Article 1. Test\n\nHello <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>\n";
    let id = app.published_draft("Draft <b>bold</b> title", "law", "Ministry", md, 3);
    let res = app.get(&format!("/drafts/{id}")).await;
    let html = res.text().await.unwrap();
    assert_inert(&html);
    assert!(html.contains("Hello"), "the harmless text stays");
    assert!(
        html.contains("Draft &lt;b&gt;bold&lt;/b&gt; title")
            || html.contains("Draft &#60;b&#62;bold"),
        "title must be escaped"
    );
}

#[tokio::test]
async fn the_demo_seeds_an_open_consultation_with_a_discussion() {
    let app = spawn_app().await;
    let config = crate::helpers::test_config(talqy::db::DatabaseUrl::Sqlite("unused.db".into()));
    let id = talqy::demo::seed(&mut app.conn(), &config).unwrap();
    let (status, doc) = app.get_html(&format!("/drafts/{id}")).await;
    assert_eq!(status, 200);
    assert!(texts(&doc, "h1")[0].contains("Cyber Shield"));
    assert_eq!(texts(&doc, "[id='ch2.art5'] .discuss"), vec!["2 comments"]);
    let (_, doc) = app
        .get_html(&format!("/drafts/{id}/provisions/ch3.art7"))
        .await;
    let page = texts(&doc, ".discussion").join(" ");
    assert!(
        page.contains("security operations centres") && page.contains("Accepted"),
        "{page}"
    );
    // The printed demo accounts can sign in.
    app.sign_in(talqy::demo::CITIZEN_EMAIL, talqy::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(app.signed_in_as().await.as_deref(), Some("Aigerim S."));
}
