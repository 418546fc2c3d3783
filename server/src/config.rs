//! Settings of one server instance: clap flags, each with an environment fallback.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

/// How one instance runs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Database of this instance: `sqlite://path/file.sqlite` (the embedded default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/db-transfer.sqlite")]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "DBT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The URL other sites use to reach this one (shown on the Send page). When it starts with https, session
    /// cookies are marked Secure.
    #[arg(long, env = "DBT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// This site's name, shown to a sender's admin when this site pulls from it.
    #[arg(long, env = "DBT_PROJECT", default_value = "DB Transfer")]
    pub project: String,

    /// Name of the session cookie. Browsers send a host's cookies to every port of it, so two instances on one
    /// host (a sender and a receiver on one machine) need different names to keep both admins signed in.
    #[arg(long, env = "DBT_SESSION_COOKIE", default_value = crate::router::SESSION_COOKIE, value_parser = parse_cookie_name)]
    pub session_cookie: String,

    /// Mark session cookies Secure even without an https public URL (behind a TLS-terminating proxy).
    #[arg(long, env = "DBT_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Proxies whose X-Forwarded-For is believed (comma-separated IPs). Others' headers are ignored.
    #[arg(long, env = "DBT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Failed sign-ins allowed per client address per window.
    #[arg(long, env = "DBT_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,

    /// The window of `--login-max-failures`, in seconds.
    #[arg(long, env = "DBT_LOGIN_WINDOW_SECS", default_value_t = 300)]
    pub login_window_secs: u64,

    /// Prefix under which a reverse proxy serves this instance (e.g. `/db-transfer-app`). The proxy strips it
    /// before forwarding; the app writes it into every link, asset URL, server function call and redirect.
    #[arg(long, env = "DBT_BASE_PATH", default_value = "", value_parser = parse_base_path)]
    pub base_path: String,

    /// Tables never transferred, besides the app's own (comma-separated names).
    #[arg(long, env = "DBT_EXCLUDE_TABLES", value_delimiter = ',')]
    pub exclude_tables: Vec<String>,

    /// Table-name prefixes never transferred (comma-separated).
    #[arg(long, env = "DBT_EXCLUDE_PREFIXES", value_delimiter = ',')]
    pub exclude_prefixes: Vec<String>,

    /// Failed connection codes allowed per client address per window (`--login-window-secs`).
    #[arg(long, env = "DBT_CODE_MAX_FAILURES", default_value_t = 10)]
    pub code_max_failures: u32,

    /// Seconds a send session outlives its closed Send page (so a reload keeps the receivers connected).
    #[arg(long, env = "DBT_SEND_GRACE_SECS", default_value_t = 10)]
    pub send_grace_secs: u64,

    /// Seconds between the sender's WebSocket pings to each connected receiver.
    #[arg(long, env = "DBT_RECEIVER_PING_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub receiver_ping_secs: u64,

    /// Seconds without a word from a receiver (no pong, no message) after which the sender drops its socket, so
    /// the receiver can resume at once; longer than `--receiver-ping-secs`.
    #[arg(long, env = "DBT_RECEIVER_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=86400))]
    pub receiver_timeout_secs: u64,

    /// Background transfers this instance runs at once.
    #[arg(long, env = "DBT_JOB_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub job_concurrency: u16,

    /// Seconds between the job worker's heartbeats; after three missed ones (a crashed or killed server) its
    /// jobs go to another worker — this one restarted, or another replica on the same PostgreSQL.
    #[arg(long, env = "DBT_JOB_HEARTBEAT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub job_heartbeat_secs: u64,

    /// Times a background job retries a lost connection (waiting 2 s, 4 s, 8 s, …) before it fails.
    #[arg(long, env = "DBT_JOB_RETRIES", default_value_t = 5)]
    pub job_retries: u32,

    /// Where the built site (`pkg/` with the WASM, CSS) lives.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// The first admin's name, created at start when no admin exists yet (with `DBT_ADMIN_PASSWORD`).
    #[arg(long, env = "DBT_ADMIN_USERNAME", hide_env_values = true)]
    pub admin_username: Option<String>,

    /// The first admin's password (at least 12 characters); read only when no admin exists yet.
    #[arg(long, env = "DBT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

impl ServeConfig {
    /// A configuration with every default, for `demo` and tests.
    pub fn with_database(database_url: impl Into<String>, addr: SocketAddr) -> ServeConfig {
        ServeConfig {
            database_url: database_url.into(),
            addr,
            public_url: None,
            project: "DB Transfer".into(),
            session_cookie: crate::router::SESSION_COOKIE.into(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            login_max_failures: 5,
            login_window_secs: 300,
            base_path: String::new(),
            exclude_tables: Vec::new(),
            exclude_prefixes: Vec::new(),
            code_max_failures: 10,
            send_grace_secs: 10,
            receiver_ping_secs: 20,
            receiver_timeout_secs: 60,
            job_concurrency: 2,
            job_heartbeat_secs: 10,
            job_retries: 5,
            site_root: "target/site".into(),
            admin_username: None,
            admin_password: None,
        }
    }

    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies || self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// A cookie name: 1–64 letters, digits, `_` or `-`.
pub fn parse_cookie_name(raw: &str) -> Result<String, String> {
    let ok =
        !raw.is_empty() && raw.len() <= 64 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok { Ok(raw.to_owned()) } else { Err(format!("{raw:?}: a cookie name is 1-64 letters, digits, '_' or '-'")) }
}

/// `""`, or `/segment[/segment…]` of URL-safe characters without a trailing slash.
pub fn parse_base_path(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') {
        return Err(format!("{raw:?} must start with '/'"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~');
    if !trimmed.chars().all(allowed) || trimmed.contains("//") || trimmed.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("{raw:?} may hold only letters, digits, '-', '_', '.', '~' in '/'-separated segments"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{parse_base_path, parse_cookie_name};

    #[test]
    fn cookie_names_are_plain_tokens() {
        assert_eq!(parse_cookie_name("dbt_session_sender").unwrap(), "dbt_session_sender");
        for bad in ["", "a b", "a;b", "a=b", &"x".repeat(65)] {
            assert!(parse_cookie_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_path_is_normalised_or_refused() {
        assert_eq!(parse_base_path("").unwrap(), "");
        assert_eq!(parse_base_path("/").unwrap(), "");
        assert_eq!(parse_base_path("/tools/db/").unwrap(), "/tools/db");
        for bad in ["tools", "/a b", "/a//b", "/a/../b", "/x?y", "/\\x"] {
            assert!(parse_base_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exclusion_lists_are_read_trimmed_without_blank_entries() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: super::ServeConfig,
        }
        // As the instance builds them.
        let exclusions = |args: &[&str]| {
            let serve = <Cli as clap::Parser>::try_parse_from([&["db-transfer"], args].concat()).unwrap().serve;
            protocol::Exclusions { names: serve.exclude_tables, prefixes: serve.exclude_prefixes }
        };
        let ex = exclusions(&["--exclude-tables", "users, secrets"]);
        assert!(ex.is_excluded("users") && ex.is_excluded("secrets"));
        assert!(!ex.is_excluded("orders"));

        let ex = exclusions(&["--exclude-tables", "users, secrets ,", "--exclude-prefixes", "audit_, ,"]);
        for t in ["users", "secrets", "audit_log"] {
            assert!(ex.is_excluded(t), "{t}");
        }
        assert!(!ex.is_excluded("orders"), "a blank entry excludes nothing");
    }
}
