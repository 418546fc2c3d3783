//! Mounted behind a reverse proxy that strips `--base-path`: every URL the server emits carries the prefix.

mod support;

use engine::EngineKind;
use reqwest::StatusCode;
use support::{ADMIN, PASSWORD, spawn_app_with};

#[tokio::test]
async fn redirects_links_assets_and_login_carry_the_base_path() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.base_path = "/tools/dbt".into()).await;

    let anonymous = app.client.get(app.at("/admin/db-transfer/send")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()["location"], "/tools/dbt/login?next=/admin/db-transfer/send");

    let login = app
        .client
        .post(app.at("/api/login"))
        .form(&[("username", ADMIN), ("password", PASSWORD), ("next", "/admin/db-transfer/send")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.headers()["location"], "/tools/dbt/admin/db-transfer/send");

    let html = app.client.get(app.at("/admin/db-transfer")).send().await.unwrap().text().await.unwrap();
    for expected in [
        r#"<meta name="dbt-base-path" content="/tools/dbt">"#,
        r#"href="/tools/dbt/pkg/db-transfer.js""#,
        r#"href="/tools/dbt/pkg/db-transfer.css""#,
        r#"href="/tools/dbt/admin/db-transfer/send""#,
        r#"href="/tools/dbt/admin/db-transfer/receive""#,
    ] {
        assert!(html.contains(expected), "missing {expected} in\n{html}");
    }
    assert!(!html.contains(r#"href="/admin/"#), "no un-prefixed link left:\n{html}");

    let out = app.client.post(app.at("/api/logout")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(out.headers()["location"], "/tools/dbt/login");
    app.stop().await;
}
