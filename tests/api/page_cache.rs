//! The page cache for anonymous readers: pages come from memory with an ETag (304 when the
//! browser has them), a change made through the app shows at once, signed-in readers always
//! get their own fresh page, and a change from elsewhere shows within the time to live.

use diesel::prelude::*;
use talqy::db::schema::drafts;

use crate::comments::{comment, participant};
use crate::helpers::{THREE_CHAPTERS, TestApp, spawn_app, spawn_app_with, texts};

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// A GET from a browser that holds the page with `etag`.
async fn revalidate(reader: &TestApp, page: &str, etag: &str) -> reqwest::Response {
    reader
        .client
        .get(format!("{}{page}", reader.address))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_pages_revalidate_with_an_etag_and_change_as_soon_as_someone_posts() {
    let app = spawn_app().await;
    let draft = app.published_draft("Law", "law", "Ministry", THREE_CHAPTERS, 10);
    let page = format!("/drafts/{draft}/provisions/ch1.art1");
    let reader = app.new_client();

    let first = reader.get(&page).await;
    assert_eq!(first.status().as_u16(), 200);
    let etag = header(&first, "etag").expect("an anonymous page carries an ETag");
    assert_eq!(
        header(&first, "cache-control").as_deref(),
        Some("public, max-age=30")
    );
    assert!(
        header(&first, "content-security-policy").is_some(),
        "security headers are on cached pages too"
    );
    let body = first.text().await.unwrap();
    let again = reader.get(&page).await;
    assert_eq!(header(&again, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(
        again.text().await.unwrap(),
        body,
        "the same bytes from memory"
    );

    // A browser that has the page gets 304 and no body.
    let revalidated = revalidate(&reader, &page, &etag).await;
    assert_eq!(revalidated.status().as_u16(), 304);
    assert_eq!(header(&revalidated, "etag").as_deref(), Some(etag.as_str()));
    assert!(revalidated.text().await.unwrap().is_empty());
    assert!(!app.pages.is_empty(), "the page is held in memory");

    // A participant posts through the app: the anonymous page shows it on the next request.
    let alice = participant(&app, "alice@example.org", "Alice").await;
    comment(&alice, draft, "ch1.art1", "Deadlines are too short").await;
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(texts(&doc, ".count"), vec!["1 thread"]);
    let stale = revalidate(&reader, &page, &etag).await;
    assert_eq!(
        stale.status().as_u16(),
        200,
        "the old ETag no longer matches"
    );
    assert_ne!(header(&stale, "etag").as_deref(), Some(etag.as_str()));

    // Signed in, the reader's own page: not from the anonymous cache, never stored.
    let page_for_alice = alice.get(&page).await;
    assert_eq!(header(&page_for_alice, "etag"), None);
    assert_eq!(
        header(&page_for_alice, "cache-control").as_deref(),
        Some("private, no-store")
    );
    let doc = scraper::Html::parse_document(&page_for_alice.text().await.unwrap());
    assert_eq!(
        texts(&doc, ".account-nav a[href='/account']"),
        vec!["Alice"],
        "the header names the signed-in reader"
    );
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(
        texts(&doc, ".account-nav a[href='/login']"),
        vec!["Sign in"],
        "an anonymous reader never gets a signed-in page"
    );
}

#[tokio::test]
async fn a_change_made_elsewhere_shows_once_the_time_to_live_has_passed() {
    let app = spawn_app_with(|c| c.page_cache_ttl = std::time::Duration::from_secs(1)).await;
    let draft = app.published_draft("Law on Roads", "law", "Ministry", THREE_CHAPTERS, 10);
    let reader = app.new_client();
    let page = format!("/drafts/{draft}");
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(texts(&doc, "h1"), vec!["Law on Roads"]);

    // Another instance (here: the database itself, bypassing this app) renames the draft.
    diesel::update(drafts::table.find(draft))
        .set(drafts::title.eq("Law on Bridges"))
        .execute(&mut app.db.conn().unwrap())
        .unwrap();
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(
        texts(&doc, "h1"),
        vec!["Law on Roads"],
        "within the time to live the page comes from memory"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(texts(&doc, "h1"), vec!["Law on Bridges"]);
}

#[tokio::test]
async fn with_the_cache_off_every_request_renders() {
    let app = spawn_app_with(|c| c.page_cache_ttl = std::time::Duration::ZERO).await;
    let draft = app.published_draft("Law on Roads", "law", "Ministry", THREE_CHAPTERS, 10);
    let reader = app.new_client();
    let page = format!("/drafts/{draft}");
    reader.get_html(&page).await;
    diesel::update(drafts::table.find(draft))
        .set(drafts::title.eq("Law on Bridges"))
        .execute(&mut app.db.conn().unwrap())
        .unwrap();
    let (_, doc) = reader.get_html(&page).await;
    assert_eq!(texts(&doc, "h1"), vec!["Law on Bridges"]);
    assert!(app.pages.is_empty());
}
