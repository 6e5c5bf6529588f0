//! What the server writes to its log must never hold a password, a token or a session id.
//! Runs the real binary (file mail transport, every log level on) through registration,
//! email verification and sign-in, then reads everything it logged.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestDatabase, attrs};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first `.eml` written under `dir`, quoted-printable soft breaks undone.
fn wait_for_email(dir: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "eml") {
                    let raw = std::fs::read_to_string(e.path()).unwrap();
                    return raw
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no email was written to {}", dir.display());
}

#[tokio::test]
async fn no_password_token_or_session_id_reaches_the_logs() {
    let database = TestDatabase::new();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_talqy"))
        .arg("serve")
        .current_dir(data.path())
        .env("TALQY_DATABASE_URL", database.url_string())
        .env("TALQY_BIND", format!("127.0.0.1:{port}"))
        .env("TALQY_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("TALQY_DATA_DIR", data.path())
        .env("TALQY_MAIL_TRANSPORT", "file")
        .env("TALQY_LOG", "trace,h2=info,hyper=info,reqwest=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let csrf = |html: String| {
        attrs(
            &scraper::Html::parse_document(&html),
            "input[name=csrf_token]",
            "value",
        )
        .remove(0)
    };
    let password = "Secret-Passphrase-4-Logs-Test";
    let token = csrf(
        client
            .get(format!("{base}/register"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let res = client
        .post(format!("{base}/register"))
        .form(&[
            ("email", "logcheck@example.org"),
            ("display_name", "Log Check"),
            ("password", password),
            ("respondent_type", "citizen"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let email = wait_for_email(&data.path().join("mail"));
    let start = email.find("/verify?token=").expect("verification link");
    let verify_token: String = email[start + "/verify?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(verify_token.len(), 64);
    // Following the link as a person would (the token is in the URL).
    let res = client
        .get(format!("{base}/verify?token={verify_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let res = client
        .post(format!("{base}/verify"))
        .form(&[("token", verify_token.as_str()), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "logcheck@example.org"),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let session_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("talqy_session="))
        .expect("session cookie");
    let session_value = session_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("talqy_session=")
        .to_string();
    let page = client.get(format!("{base}/account")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "signed in");
    let new_csrf = csrf(page.text().await.unwrap());

    let _ = server.kill();
    let _ = server.wait();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("signed in"),
        "the log was captured: {}",
        &log[..log.len().min(2000)]
    );
    for (what, secret) in [
        ("password", password.to_string()),
        ("verification token", verify_token.clone()),
        ("session cookie", session_value.clone()),
        ("CSRF token", token.clone()),
        ("CSRF token after sign-in", new_csrf),
    ] {
        assert!(!log.contains(&secret), "the {what} appears in the log");
    }
}
