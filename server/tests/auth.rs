//! Admin access against a real server: the anonymous refusals (every page, every server function), sign-in and
//! sign-out, session cookie flags, cross-site refusal and the failed-login limit.

mod support;

use appdata::testing::ENGINES;
use engine::EngineKind;
use reqwest::StatusCode;
use server::router::{page_paths, server_fn_paths};
use support::{ADMIN, PASSWORD, client, spawn_app, spawn_app_with};

/// The server functions an anonymous caller may reach. Adding one here is a security decision.
const PUBLIC_SERVER_FNS: &[&str] = &["/api/login"];
/// The pages an anonymous visitor may see.
const PUBLIC_PAGES: &[&str] = &["/login"];

fn concrete(path: &str) -> String {
    // `/x/{id}` and `/x/{*rest}` become real URLs.
    path.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/")
}

#[tokio::test]
async fn every_page_and_server_function_refuses_an_anonymous_caller() {
    let app = spawn_app(EngineKind::Sqlite).await;
    let pages = page_paths();
    let fns = server_fn_paths();
    // The enumeration is what the router registered, so a new route is covered without being listed here.
    for expected in ["/login", "/admin/db-transfer", "/admin/db-transfer/send", "/admin/db-transfer/receive"] {
        assert!(pages.iter().any(|p| p == expected), "{expected} missing from {pages:?}");
    }
    for expected in ["/api/login", "/api/logout", "/api/system-status", "/api/set-transfers-enabled"] {
        assert!(fns.iter().any(|(p, _)| p == expected), "{expected} missing from {fns:?}");
    }

    let anonymous = client();
    for page in pages.iter().filter(|p| !PUBLIC_PAGES.contains(&p.as_str())) {
        let url = app.at(&concrete(page));
        let response = anonymous.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {page}");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/login?next="), "{page} redirects to {location}");
    }
    for (path, method) in fns.iter().filter(|(p, _)| !PUBLIC_SERVER_FNS.contains(&p.as_str())) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = anonymous
            .request(method.clone(), app.at(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("enabled=true")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(response.text().await.unwrap(), "\"Unauthorized\"", "{path}");
    }
    // Paths no route knows are refused the same way, not answered with a 404 that maps the site.
    for unknown in ["/", "/admin/secret", "/api/does-not-exist", "/_internal", "/admin/db-transfer/send/live"] {
        let status = anonymous.get(app.at(unknown)).send().await.unwrap().status();
        assert!(matches!(status, StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED), "{unknown}: {status}");
    }
    // The public ones answer.
    let login_page = anonymous.get(app.at("/login")).send().await.unwrap();
    assert_eq!(login_page.status(), StatusCode::OK);
    assert!(login_page.text().await.unwrap().contains("Sign in"));
    let toggle: bool = appdata::settings::transfers_enabled(&app.instance.db).await.unwrap();
    assert!(!toggle, "nothing anonymous changed the toggle");
    app.stop().await;
}

#[tokio::test]
async fn admin_signs_in_uses_server_functions_and_signs_out() {
    for kind in ENGINES {
        let app = spawn_app(kind).await;

        let wrong = app.login(ADMIN, "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{kind:?}");
        assert_eq!(wrong.text().await.unwrap(), "\"BadCredentials\"");

        let ok = app.login("Admin", PASSWORD).await;
        // A script (no `Accept: text/html`) gets 200 plus the redirect target; a plain form post gets a 302.
        assert_eq!(ok.status(), StatusCode::OK, "{kind:?}");
        assert_eq!(ok.headers()["location"], "/admin/db-transfer");
        let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("dbt_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http without a public https URL: {cookie}");

        let page = app.client.get(app.at("/admin/db-transfer")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Overview") && html.contains("Sign out"), "{kind:?}: SSR renders the index");

        let status: serde_json::Value =
            app.client.post(app.at("/api/system-status")).send().await.unwrap().json().await.unwrap();
        assert_eq!(status["transfers_enabled"], false);
        assert_eq!(status["admin"], "admin");
        assert_eq!(status["engine"], if kind == EngineKind::Postgres { "PostgreSQL" } else { "SQLite" });

        let turned_on: serde_json::Value = app
            .client
            .post(app.at("/api/set-transfers-enabled"))
            .form(&[("enabled", "true")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(turned_on["transfers_enabled"], true);
        assert!(appdata::settings::transfers_enabled(&app.instance.db).await.unwrap(), "{kind:?}: persisted");

        let out = app.client.post(app.at("/api/logout")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(out.status(), StatusCode::FOUND);
        assert_eq!(out.headers()["location"], "/login");
        let after = app.client.get(app.at("/admin/db-transfer")).send().await.unwrap();
        assert_eq!(after.status(), StatusCode::SEE_OTHER, "{kind:?}: the session is gone after sign-out");
        app.stop().await;
    }
}

#[tokio::test]
async fn cross_site_calls_are_refused_even_with_a_session() {
    let app = spawn_app(EngineKind::Sqlite).await;
    app.login_ok().await;
    for (name, value) in
        [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site"), ("origin", "https://evil.example")]
    {
        let response = app
            .client
            .post(app.at("/api/set-transfers-enabled"))
            .header(name, value)
            .form(&[("enabled", "true")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    assert!(!appdata::settings::transfers_enabled(&app.instance.db).await.unwrap(), "nothing changed");
    let same_origin = app
        .client
        .post(app.at("/api/set-transfers-enabled"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &app.url)
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::OK);
    assert!(appdata::settings::transfers_enabled(&app.instance.db).await.unwrap());
    // A login posted from another site is refused too (login CSRF).
    let forged = client()
        .post(app.at("/api/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", ADMIN), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_client() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.login_max_failures = 3).await;
    for attempt in 1..=3 {
        assert_eq!(app.login(ADMIN, "wrong password!").await.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = app.login(ADMIN, PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert!(body["RateLimited"].as_u64().unwrap() > 0, "{body}");
    app.stop().await;
}

/// `next` after sign-in is a path on this site or the overview. Browsers strip tabs and newlines from a URL, so
/// `/\t/evil.example` would leave for `//evil.example`; escaped forms are refused as well.
#[tokio::test]
async fn sign_in_never_redirects_off_site() {
    let app = spawn_app(EngineKind::Sqlite).await;
    for (next, location) in [
        ("/admin/db-transfer/send", "/admin/db-transfer/send"),
        ("/admin/db-transfer/jobs?x=a%20b", "/admin/db-transfer/jobs?x=a%20b"),
        ("/\t/evil.example", "/admin/db-transfer"),
        ("/\n/evil.example", "/admin/db-transfer"),
        ("/%09/evil.example", "/admin/db-transfer"),
        ("/%2F/evil.example", "/admin/db-transfer"),
        ("/%5C/evil.example", "/admin/db-transfer"),
        ("/%252F/evil.example", "/admin/db-transfer"),
        ("//evil.example", "/admin/db-transfer"),
        ("/\\evil.example", "/admin/db-transfer"),
        ("https://evil.example", "/admin/db-transfer"),
    ] {
        let response = client()
            .post(app.at("/api/login"))
            .form(&[("username", ADMIN), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{next:?}");
        assert_eq!(response.headers()["location"], location, "{next:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn session_cookie_is_secure_behind_https() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.public_url = Some("https://transfer.example".into())).await;
    let ok = app.login(ADMIN, PASSWORD).await;
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    app.stop().await;
}
