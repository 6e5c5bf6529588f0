//! The `talqy` binary as an operator runs it: start-up errors are one clear line, and the
//! draft commands work end to end on the database under test.

use std::process::{Command, Output};

use crate::helpers::{THREE_CHAPTERS, TestDatabase};

fn talqy(database_url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_talqy"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("TALQY_DATABASE_URL", database_url)
        .env("TALQY_BIND", "127.0.0.1:0")
        .env("TALQY_LOG", "warn")
        .output()
        .expect("run talqy")
}

fn stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected exactly one line, got: {err}");
    lines[0].to_string()
}

#[test]
fn an_unknown_database_scheme_stops_start_up_with_one_line() {
    let out = talqy("mysql://root@localhost/talqy", &["serve"]);
    assert!(!out.status.success());
    let line = stderr_line(&out);
    assert!(
        line.contains("database_url") && line.contains("unknown database URL scheme 'mysql'"),
        "{line}"
    );
}

#[test]
fn an_unwritable_sqlite_path_stops_start_up_with_one_line() {
    // A path below a regular file can never be created, even by root.
    let file = tempfile::NamedTempFile::new().unwrap();
    let url = format!("sqlite://{}/talqy.db", file.path().display());
    let out = talqy(&url, &["serve"]);
    assert!(!out.status.success());
    let line = stderr_line(&out);
    assert!(
        line.starts_with("error: database: cannot create folder"),
        "{line}"
    );
}

#[test]
fn a_bad_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_talqy"))
        .arg("migrate")
        .current_dir(dir.path())
        .env("TALQY_BIND", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let line = stderr_line(&out);
    assert!(line.contains("setting 'bind'"), "{line}");

    std::fs::write(dir.path().join("talqy.toml"), "page_size = \"many\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_talqy"))
        .arg("migrate")
        .current_dir(dir.path())
        .env_remove("TALQY_BIND")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let line = stderr_line(&out);
    assert!(line.contains("page_size"), "{line}");
}

#[test]
fn drafts_are_imported_published_and_moved_from_the_command_line() {
    let database = TestDatabase::new();
    let url = database.url_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("law.md");
    std::fs::write(&file, THREE_CHAPTERS).unwrap();
    let file = file.to_str().unwrap();

    let out = talqy(
        &url,
        &[
            "draft",
            "import",
            file,
            "--kind",
            "law",
            "--authority",
            "Ministry of Justice",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "created draft 1 with 13 provisions"
    );

    // Bad input names the field and changes nothing.
    let out = talqy(
        &url,
        &[
            "draft",
            "publish",
            "1",
            "--closes",
            "2030-01-10",
            "--opens",
            "2030-02-01",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr_line(&out).contains("closes_at: must be after opens_at"));
    let out = talqy(&url, &["draft", "publish", "1", "--closes", "next week"]);
    assert!(stderr_line(&out).contains("closes_at: 'next week' is not a date"));
    let out = talqy(&url, &["draft", "transition", "1", "closed"]);
    assert!(stderr_line(&out).contains("status: a draft cannot move from 'draft' to 'closed'"));
    let out = talqy(&url, &["draft", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("draft      law      Law on Digital Services")
    );

    let out = talqy(&url, &["draft", "publish", "1", "--closes", "2099-01-15"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("comments until 2099-01-15 23:59 UTC"));
    let out = talqy(
        &url,
        &[
            "draft",
            "transition",
            "1",
            "closed",
            "--note",
            "ended early",
        ],
    );
    assert!(out.status.success());
    let out = talqy(&url, &["draft", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("closed     law"));

    // An oversized file is refused before anything is stored.
    let big = dir.path().join("big.md");
    std::fs::write(&big, "a".repeat(3 * 1024 * 1024)).unwrap();
    let out = talqy(
        &url,
        &[
            "draft",
            "import",
            big.to_str().unwrap(),
            "--authority",
            "Ministry",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr_line(&out).contains("text:"), "names the field");
    let out = talqy(&url, &["draft", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
