//! Both backends must end with the same tables, columns, indexes and migration names, and
//! applying migrations again must do no harm.

use talqy::db::{DatabaseUrl, Db, dialect};
use talqy::services::drafts::{self, DraftInput};

use crate::helpers::TestDatabase;

fn catalogue(url: &DatabaseUrl) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let db = Db::connect(url, 2).expect("connect");
    let mut conn = db.conn().unwrap();
    (
        dialect::table_columns(&mut conn).unwrap(),
        dialect::index_names(&mut conn).unwrap(),
        dialect::applied_migrations(&mut conn).unwrap(),
    )
}

fn postgres_for_parity() -> Option<String> {
    let url = std::env::var("TALQY_TEST_POSTGRES_URL")
        .ok()
        .or_else(crate::helpers::postgres_server)
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
    use diesel::Connection;
    match diesel::PgConnection::establish(&format!("{url}/postgres")) {
        Ok(_) => Some(url),
        Err(e) => {
            // CI always has PostgreSQL: there, its absence is a failure, not a skip.
            assert!(
                std::env::var("CI").is_err(),
                "PostgreSQL is required in CI: {e}"
            );
            eprintln!("schema parity skipped: no PostgreSQL at {url} ({e})");
            None
        }
    }
}

#[test]
fn sqlite_and_postgres_have_the_same_schema() {
    let Some(server) = postgres_for_parity() else {
        return;
    };
    let sqlite = {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("parity.db"));
        (catalogue(&url), dir)
    };
    let pg_db = {
        use diesel::{Connection, RunQueryDsl};
        let name = format!("talqy_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres")).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        TestDatabase::Postgres {
            server: server.clone(),
            name,
        }
    };
    let pg = catalogue(&pg_db.url());
    let (sqlite, _dir) = sqlite;
    assert!(!sqlite.0.is_empty());
    assert_eq!(sqlite.0, pg.0, "tables and columns differ");
    assert_eq!(sqlite.1, pg.1, "indexes differ");
    assert_eq!(sqlite.2, pg.2, "migration names differ");
}

#[tokio::test]
async fn migrations_apply_twice_without_harm() {
    let database = TestDatabase::new();
    let url = database.url();
    tokio::task::spawn_blocking(move || {
        let db = Db::connect(&url, 2).unwrap();
        let mut conn = db.conn().unwrap();
        let id = drafts::create(
            &mut conn,
            &DraftInput {
                title: "Kept across migrations".into(),
                kind: "law".into(),
                authority: "Ministry".into(),
                summary: String::new(),
            },
            None,
            "test",
        )
        .unwrap();
        let first = dialect::applied_migrations(&mut conn).unwrap();
        dialect::run_migrations(&mut conn).unwrap();
        drop(conn);
        drop(db);
        // And again through a whole new start-up.
        let db = Db::connect(&url, 2).unwrap();
        let mut conn = db.conn().unwrap();
        assert_eq!(dialect::applied_migrations(&mut conn).unwrap(), first);
        let all = drafts::list_all(&mut conn).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].draft.id, id);
        assert_eq!(all[0].draft.title, "Kept across migrations");
    })
    .await
    .unwrap();
}
