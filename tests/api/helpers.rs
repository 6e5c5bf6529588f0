use std::path::PathBuf;

use diesel::{Connection, PgConnection, RunQueryDsl};
use talqy::config::{Config, MailTransport, Settings};
use talqy::db::{Backend, DatabaseUrl, Db, DbConn, PooledConn};
use talqy::email::{Mailer, SentEmail};
use talqy::services::drafts::{self, DraftInput};
use talqy::startup::Application;

/// The PostgreSQL server the suite uses, if any (`TALQY_TEST_DATABASE_URL`).
pub fn postgres_server() -> Option<String> {
    std::env::var("TALQY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .map(|u| u.trim_end_matches('/').to_string())
}

pub fn expected_backend() -> Backend {
    if postgres_server().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A database that lives as long as the test: a SQLite file in a temporary folder, or a
/// PostgreSQL database created for the test and dropped after it.
pub enum TestDatabase {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        server: String,
        name: String,
    },
    /// Another TestApp's database (a second client); owns nothing.
    Borrowed,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        match postgres_server() {
            Some(server) => {
                let name = format!("talqy_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&format!("{server}/postgres"))
                    .expect("PostgreSQL for tests is not reachable");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                TestDatabase::Postgres { server, name }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("talqy.db");
                TestDatabase::Sqlite { _dir: dir, path }
            }
        }
    }

    pub fn url(&self) -> DatabaseUrl {
        match self {
            TestDatabase::Sqlite { path, .. } => DatabaseUrl::Sqlite(path.clone()),
            TestDatabase::Postgres { server, name } => {
                DatabaseUrl::Postgres(format!("{server}/{name}"))
            }
            TestDatabase::Borrowed => unreachable!("a borrowed database has no URL of its own"),
        }
    }

    pub fn url_string(&self) -> String {
        match self.url() {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => u,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { server, name } = self
            && let Ok(mut admin) = PgConnection::establish(&format!("{server}/postgres"))
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

pub fn test_config(database: DatabaseUrl) -> Config {
    let data_dir =
        std::env::temp_dir().join(format!("talqy-test-{}", uuid::Uuid::new_v4().simple()));
    let settings = Settings {
        data_dir: data_dir.to_string_lossy().into_owned(),
        secret_key: format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
        ..Settings::default()
    };
    let mut config = settings.validate().expect("default settings");
    config.database = database;
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.pool_size = 4;
    config.mail.transport = MailTransport::Memory;
    config
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub client: reqwest::Client,
    /// A memory mailer unless the test configured another transport. The app runs no
    /// background worker: tests run jobs with [`TestApp::run_pending_jobs`].
    pub mailer: Mailer,
    /// The app's page cache for anonymous readers: emptied whenever the test reaches into
    /// the database itself (through [`TestApp::conn`]), as another instance's change would
    /// be once its time to live has passed.
    pub pages: std::sync::Arc<talqy::page_cache::PageCache>,
    // Dropped last: the server and pool go first.
    pub _database: TestDatabase,
}

/// A client that keeps its own cookies and does not follow redirects. Idle connections are
/// dropped after 2 s, before the server's 5 s keep-alive ends them: otherwise a request sent
/// just as the server closes an idle connection fails with "incomplete message" when the
/// machine is busy.
fn test_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::new();
    let mut config = test_config(database.url());
    customise(&mut config);
    let url = config.database.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&url, 4))
        .await
        .unwrap()
        .expect("connect test database");
    let mailer = Mailer::from_config(&config).expect("build mailer");
    let app = Application::build_with_mailer(config, db.clone(), false, mailer.clone())
        .expect("build app")
        .with_worker(false);
    let address = format!("http://127.0.0.1:{}", app.port());
    let pages = app.pages();
    tokio::spawn(app.run_until_stopped());
    let client = test_client();
    TestApp {
        address,
        db,
        client,
        mailer,
        pages,
        _database: database,
    }
}

impl TestApp {
    /// A connection for reaching into the database directly. Taking one empties the page
    /// cache, since the test may be changing what readers see.
    pub fn conn(&self) -> PooledConn {
        self.pages.invalidate();
        self.db.conn().expect("test connection")
    }

    /// Runs the job worker until no job is due; returns how many jobs it processed.
    pub async fn run_pending_jobs(&self) -> usize {
        talqy::jobs::run_pending(&self.db, &self.mailer, "test-worker").await
    }

    /// The messages the memory mailer has sent so far, oldest first.
    pub fn emails(&self) -> Vec<SentEmail> {
        self.mailer.sent()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn get_html(&self, path: &str) -> (u16, scraper::Html) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        (status, scraper::Html::parse_document(&body))
    }

    /// Creates a draft with `markdown` as its text and publishes it, open for `days`.
    pub fn published_draft(
        &self,
        title: &str,
        kind: &str,
        authority: &str,
        markdown: &str,
        days: i64,
    ) -> i64 {
        let conn: &mut DbConn = &mut self.conn();
        let text = drafts::parse_text(markdown.as_bytes(), 1 << 20).unwrap();
        let id = drafts::create(
            conn,
            &DraftInput {
                title: title.into(),
                kind: kind.into(),
                authority: authority.into(),
                summary: format!("Summary of {title}."),
            },
            Some(&text),
            "test",
        )
        .unwrap();
        drafts::publish(
            conn,
            id,
            None,
            talqy::domain::time::now() + chrono::Duration::days(days),
            "test",
        )
        .unwrap();
        id
    }
}

/// A sent (or queued) email as a test sees it.
#[derive(Debug, Clone)]
pub struct TestEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl TestEmail {
    /// The first link in the text part that starts with `prefix` (after the base URL).
    pub fn link(&self, path_prefix: &str) -> String {
        self.text
            .split_whitespace()
            .find_map(|w| w.find(path_prefix).map(|i| w[i..].to_string()))
            .unwrap_or_else(|| panic!("no {path_prefix} link in {}", self.text))
    }
}

impl TestApp {
    /// Emails produced since the last call, oldest first.
    pub async fn take_emails(&self) -> Vec<TestEmail> {
        use diesel::prelude::*;
        use talqy::db::schema::jobs;
        let conn: &mut DbConn = &mut self.conn();
        let rows: Vec<(i64, String)> = jobs::table
            .filter(jobs::kind.eq("email"))
            .filter(jobs::done_at.is_null())
            .order(jobs::id)
            .select((jobs::id, jobs::payload))
            .load(conn)
            .unwrap();
        let now = talqy::domain::time::now();
        for (id, _) in &rows {
            diesel::update(jobs::table.find(id))
                .set(jobs::done_at.eq(now))
                .execute(conn)
                .unwrap();
        }
        rows.into_iter()
            .map(|(_, p)| {
                let v: serde_json::Value = serde_json::from_str(&p).unwrap();
                TestEmail {
                    to: v["to"].as_str().unwrap().to_string(),
                    subject: v["subject"].as_str().unwrap().to_string(),
                    text: v["text"].as_str().unwrap().to_string(),
                    html: v["html"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    /// The CSRF token of this client's session (from a page with a form).
    pub async fn csrf(&self) -> String {
        for path in ["/", "/login"] {
            let (_, doc) = self.get_html(path).await;
            if let Some(t) = attrs(&doc, "input[name=csrf_token]", "value")
                .into_iter()
                .next()
            {
                return t;
            }
        }
        panic!("no page with a CSRF token")
    }

    /// POSTs a form with this client's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        self.post_raw(path, fields, Some(&token)).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut body: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = token {
            body.push(("csrf_token", t));
        }
        self.client
            .post(format!("{}{}", self.address, path))
            .form(&body)
            .send()
            .await
            .expect("request failed")
    }

    /// A second browser on the same app (its own cookies).
    pub fn new_client(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            db: self.db.clone(),
            client: test_client(),
            _database: TestDatabase::Borrowed,
            mailer: self.mailer.clone(),
            pages: self.pages.clone(),
        }
    }

    /// Creates an account directly (verified unless said otherwise).
    pub fn create_user(
        &self,
        email: &str,
        name: &str,
        password: &str,
        verified: bool,
        admin: bool,
    ) -> i64 {
        use diesel::prelude::*;
        use talqy::db::schema::users;
        let now = talqy::domain::time::now();
        diesel::insert_into(users::table)
            .values((
                users::email.eq(email),
                users::display_name.eq(name),
                users::password_hash.eq(talqy::auth::password::hash(password)),
                users::respondent_type.eq("citizen"),
                users::email_verified_at.eq(verified.then_some(now)),
                users::is_admin.eq(admin),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result(&mut *self.conn())
            .unwrap()
    }

    /// Signs this client in through the form; panics unless it succeeds.
    pub async fn sign_in(&self, email: &str, password: &str) {
        let res = self
            .post_form("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(
            res.status().as_u16(),
            303,
            "sign-in failed: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// The name in the header when signed in.
    pub async fn signed_in_as(&self) -> Option<String> {
        let (_, doc) = self.get_html("/").await;
        texts(&doc, "nav.account-nav a[href='/account']")
            .into_iter()
            .next()
    }
}

/// Text of every element matching `selector`, whitespace collapsed.
pub fn texts(doc: &scraper::Html, selector: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

pub fn attrs(doc: &scraper::Html, selector: &str, attr: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

pub const THREE_CHAPTERS: &str = "# Law on Digital Services

## Chapter 1. General provisions

### Article 1. Purpose

This Law regulates digital public services.

It applies to all state bodies.

### Article 2. Terms

- *digital service* — a public service provided online;
- *operator* — the body that runs a digital service.

## Chapter 2. Rights of users

### Article 3. Access

Everyone has the right to use digital services free of charge.

## Глава 3. Заключительные положения

### Статья 4. Вступление в силу

Настоящий Закон вводится в действие через десять дней после опубликования.
";

/// Fails when a served page holds anything a browser would execute: a script other than
/// ours, an event-handler attribute, or a `javascript:`/`data:` URL.
pub fn assert_inert(html: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let name = el.value().name();
        if name == "script" {
            assert_eq!(
                el.value().attr("src"),
                Some("/static/app.js"),
                "foreign script: {}",
                el.html()
            );
            assert!(
                el.inner_html().trim().is_empty(),
                "inline script: {}",
                el.html()
            );
        }
        let refresh = name == "meta" && el.value().attr("http-equiv").is_some();
        let embeds = matches!(name, "iframe" | "object" | "embed" | "base" | "frame");
        assert!(!refresh && !embeds, "dangerous element: {}", el.html());
        for (attr, value) in el.value().attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "event handler: {}",
                el.html()
            );
            let v: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if matches!(
                attr,
                "href" | "src" | "action" | "formaction" | "xlink:href" | "srcset" | "poster"
            ) {
                assert!(
                    !v.starts_with("javascript:")
                        && !v.starts_with("data:")
                        && !v.starts_with("vbscript:"),
                    "executable URL: {}",
                    el.html()
                );
            }
        }
    }
}
