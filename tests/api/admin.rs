//! Every admin route, walked from the same table the app registers them from.

use talqy::routes::admin::admin_route_table;

use crate::helpers::spawn_app;

const PASSWORD: &str = "correct horse battery staple";

fn concrete(path: &str) -> String {
    // Parameters get a plausible id; the guard must refuse before any lookup happens.
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('1');
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn every_admin_route_refuses_participants_and_sends_visitors_to_sign_in() {
    let app = spawn_app().await;
    app.create_user("p@example.org", "Participant", PASSWORD, true, false);
    app.create_user("a@example.org", "Admin", PASSWORD, true, true);
    let participant = app.new_client();
    participant.sign_in("p@example.org", PASSWORD).await;
    let admin = app.new_client();
    admin.sign_in("a@example.org", PASSWORD).await;
    let anonymous = app.new_client();
    let table = admin_route_table();
    assert!(!table.is_empty());
    for (method, path) in table {
        let path = concrete(&path);
        let send = |client: &crate::helpers::TestApp, token: Option<String>| {
            let url = format!("{}{}", client.address, path);
            let req = if method == actix_web::http::Method::GET {
                client.client.get(url)
            } else {
                let mut body = vec![];
                if let Some(t) = token {
                    body.push(("csrf_token".to_string(), t));
                }
                client.client.post(url).form(&body)
            };
            async move { req.send().await.unwrap() }
        };
        let res = send(&anonymous, None).await;
        assert_eq!(res.status().as_u16(), 303, "{method} {path} for a visitor");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with("/login"),
            "{method} {path} -> {location}"
        );
        let token = participant.csrf().await;
        let res = send(&participant, Some(token)).await;
        assert_eq!(
            res.status().as_u16(),
            403,
            "{method} {path} for a participant"
        );
        if method == actix_web::http::Method::GET {
            let res = send(&admin, None).await;
            assert!(
                ![303, 403].contains(&res.status().as_u16()),
                "{method} {path} for an admin: {}",
                res.status()
            );
        }
    }
}
