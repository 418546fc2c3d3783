//! The demo pair that `./scripts/run` starts: a seeded sender, an empty receiver, one admin, transfers on.

mod support;

use engine::Db;
use reqwest::StatusCode;
use server::demo::{self, DEMO_ADMIN, DemoArgs};

async fn count(db: &Db, sql: &str) -> i64 {
    let Db::Sqlite(pool) = db else { panic!("demo runs on SQLite") };
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn demo_pair_is_seeded_signed_in_and_switched_on_and_restarts_cleanly() {
    let dir = std::env::temp_dir().join(format!("dbt_demo_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let args = DemoArgs {
        data_dir: dir.clone(),
        sender_addr: "127.0.0.1:0".parse().unwrap(),
        receiver_addr: "127.0.0.1:0".parse().unwrap(),
        site_root: "target/site".into(),
    };

    let first = demo::start(&args).await.unwrap();
    assert_eq!(first.password.len(), 20);
    for (table, rows) in [("users", 50), ("posts", 200), ("comments", 600)] {
        assert_eq!(count(&first.sender.db, &format!("SELECT count(*) FROM {table}")).await, rows, "{table}");
    }
    assert_eq!(count(&first.sender.db, "SELECT count(*) FROM users WHERE bio IS NULL").await, 12, "NULLs seeded");
    assert_eq!(
        count(&first.receiver.db, "SELECT count(*) FROM sqlite_master WHERE name IN ('users','posts','comments')")
            .await,
        0,
        "the receiver starts empty"
    );
    // One browser (one cookie jar: cookies are per host, not per port) signs in to both and stays signed in to both.
    let browser = support::client();
    for instance in [&first.sender, &first.receiver] {
        assert!(appdata::settings::transfers_enabled(&instance.db).await.unwrap());
        let response = browser
            .post(format!("{}/api/login", instance.url()))
            .form(&[("username", DEMO_ADMIN), ("password", first.password.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the printed credentials sign in");
    }
    for instance in [&first.sender, &first.receiver] {
        let status = browser.post(format!("{}/api/system-status", instance.url())).send().await.unwrap();
        assert_eq!(status.status(), StatusCode::OK, "still signed in to {}", instance.url());
    }
    let password = first.password.clone();
    first.sender.stop().await;
    first.receiver.stop().await;

    let second = demo::start(&args).await.unwrap();
    assert_eq!(second.password, password, "a restart reuses the demo password");
    assert_eq!(count(&second.sender.db, "SELECT count(*) FROM users").await, 50, "seeded once");
    second.sender.stop().await;
    second.receiver.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
