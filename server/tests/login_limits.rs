//! The failed-login limit under load, over real HTTP against a spawned server: a burst of parallel wrong
//! passwords from one address gets exactly the limit evaluated (the attempt is claimed before argon2 runs), the
//! hashing itself is bounded server-wide (memory stays flat under a burst from many addresses), IPv6 clients
//! are counted per /64, and other clients keep signing in.

mod support;

use std::net::IpAddr;

use engine::EngineKind;
use reqwest::StatusCode;
use support::{ADMIN, PASSWORD, TestApp, spawn_app_with};

/// A client whose connections leave from `local` (any 127.0.0.0/8 address reaches a server on 127.0.0.1).
fn client_from(local: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local)
        .build()
        .unwrap()
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    password: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = client.post(app.at("/api/login")).form(&[("username", ADMIN), ("password", password)]);
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

/// 100 wrong passwords at once from one address, each on its own connection: all are in flight before any has
/// been hashed, so a limit checked before hashing and counted after it lets nearly all of them through.
async fn burst(app: &TestApp, client: &reqwest::Client, n: usize) -> Vec<StatusCode> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let request = client
                .post(app.at("/api/login"))
                .form(&[("username", ADMIN.to_owned()), ("password", format!("wrong password {i}"))]);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                request.send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn a_burst_of_parallel_wrong_passwords_gets_exactly_the_limit_evaluated() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.login_max_failures = 5).await;
    let attacker = client_from("127.0.0.1".parse().unwrap());
    let statuses = burst(&app, &attacker, 100).await;
    let evaluated = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((evaluated, limited), (5, 95), "{statuses:?}");

    assert_eq!(
        login(&app, &attacker, PASSWORD, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the limited address waits even with the right password"
    );
    let admin = client_from("127.0.0.2".parse().unwrap());
    let ok = login(&app, &admin, PASSWORD, None).await;
    assert_eq!(ok.status(), StatusCode::OK, "another address signs in");
    assert_eq!(ok.headers()["location"], "/admin/db-transfer");
    let status = admin.post(app.at("/api/system-status")).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::OK, "and is signed in");
    app.stop().await;
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Each argon2 run takes about 19 MiB; 100 sign-ins at once from 100 addresses (each under its limit, so every
/// one is evaluated) must not hash 100 passwords at once.
#[tokio::test]
async fn parallel_sign_ins_from_many_addresses_hash_a_few_at_a_time() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| c.login_max_failures = 5).await;
    // Warm up: the first unknown-name check hashes the dummy password, the first request builds the routes.
    assert_eq!(
        login(&app, &client_from("127.0.1.1".parse().unwrap()), "warm up password", None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let clients: Vec<_> = (2..=101u8).map(|last| client_from(IpAddr::from([127, 0, 2, last]))).collect();
    // Peak RSS from here on (writing 5 to clear_refs resets VmHWM to the current RSS).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = proc_status_kib("VmRSS:");
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let request =
                client.post(app.at("/api/login")).form(&[("username", ADMIN), ("password", "wrong password!")]);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                request.send().await.unwrap().status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED, "each address is under its limit: evaluated");
    }
    let peak_growth_mib = (proc_status_kib("VmHWM:").saturating_sub(before)) / 1024;
    let turns = accounts::admins::max_concurrent_hashes() as u64;
    eprintln!("peak RSS growth during 100 parallel sign-ins: {peak_growth_mib} MiB ({turns} hashing turns)");
    assert!(turns <= 4);
    // 19 MiB per turn, plus what 100 connections and requests cost; 100 runs at once would be about 1.9 GiB.
    assert!(peak_growth_mib < 20 * turns + 50, "peak RSS grew by {peak_growth_mib} MiB");
    app.stop().await;
}

/// Behind a trusted proxy the client is the forwarded address; IPv6 clients are counted per /64, so rotating
/// through one's own /64 buys no extra guesses, while the next /64 is another client.
#[tokio::test]
async fn ipv6_clients_are_limited_per_64() {
    let app = spawn_app_with(EngineKind::Sqlite, |c| {
        c.login_max_failures = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let proxy = support::client();
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"] {
        assert_eq!(login(&app, &proxy, "wrong password!", Some(ip)).await.status(), StatusCode::UNAUTHORIZED, "{ip}");
    }
    assert_eq!(
        login(&app, &proxy, PASSWORD, Some("2001:db8:1:2:abcd::9")).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "another address of the same /64"
    );
    assert_eq!(login(&app, &proxy, PASSWORD, Some("2001:db8:1:3::1")).await.status(), StatusCode::OK, "the next /64");
    app.stop().await;
}
