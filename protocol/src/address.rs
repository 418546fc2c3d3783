//! From what an admin types as "the sender's URL" to the sender's WebSocket address. People type hosts without a
//! scheme, with a trailing slash, with the path prefix of a reverse proxy, or paste the Send page's own URL; all
//! of those reach the same socket. Shared by the browser's receiver and the programmatic client.

/// The sender's socket path, and the app's page paths people may paste (their prefix is the site's).
const KNOWN_SUFFIXES: &[&str] = &[
    "/db-transfer/websocket",
    "/admin/db-transfer/send",
    "/admin/db-transfer/receive",
    "/admin/db-transfer",
    "/login",
];

/// The sender's WebSocket URL for `input`, typed on a page served over `page_scheme` ("http" or "https").
/// Without a scheme, the page's own is used. Refuses what a browser would refuse, with the reason.
pub fn sender_socket_url(input: &str, page_scheme: &str) -> Result<String, String> {
    socket_url(input, page_scheme, page_scheme == "https")
}

/// The sender's WebSocket URL for a client outside a browser: https when no scheme is given, plain http allowed
/// when asked for explicitly.
pub fn client_socket_url(input: &str) -> Result<String, String> {
    socket_url(input, "https", false)
}

fn socket_url(input: &str, default_scheme: &str, refuse_plain: bool) -> Result<String, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the sender's site URL.".into());
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The sender's URL cannot contain spaces.".into());
    }
    let (scheme, rest) = match input.split_once("://") {
        Some((s, rest)) => (s.to_ascii_lowercase(), rest),
        None => (default_scheme.to_owned(), input),
    };
    let secure = match scheme.as_str() {
        "https" | "wss" => true,
        "http" | "ws" => false,
        other => return Err(format!("The sender's URL must start with http:// or https://, not {other}://.")),
    };
    // Query and fragment mean nothing to the socket.
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err("The sender's URL has no host name.".into());
    }
    if host.contains('@') {
        return Err("The sender's URL must not contain a user name or password.".into());
    }
    if refuse_plain && !secure {
        return Err(format!(
            "This page is served over https, so the browser refuses an unencrypted connection to {host}: use the sender's https:// address."
        ));
    }
    let mut path = path.trim_end_matches('/').to_owned();
    for known in KNOWN_SUFFIXES {
        if let Some(prefix) = path.strip_suffix(known) {
            path = prefix.to_owned();
            break;
        }
    }
    let ws = if secure { "wss" } else { "ws" };
    Ok(format!("{ws}://{host}{path}/db-transfer/websocket"))
}

/// How the sender's site is named to the admin: its address without the socket path.
pub fn display_site(socket_url: &str) -> String {
    let site = socket_url.strip_suffix("/db-transfer/websocket").unwrap_or(socket_url);
    site.replacen("wss://", "https://", 1).replacen("ws://", "http://", 1)
}

/// The host of a URL (`scheme://[user@]host[:port]/…`) or of a bare `host[:port]`, with its port (brackets of an
/// IPv6 address kept): what [`is_loopback_host`] reads.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// Whether `host` (`name`, `name:port`, `1.2.3.4:port`, `[::1]:port`) names this machine: `localhost` (and
/// `*.localhost`), `127.0.0.0/8`, `::1`. A name is not resolved: only these spellings count.
pub fn is_loopback_host(host: &str) -> bool {
    // Only what a host may be spelled with: `evil.com\x.localhost` is `evil.com` to a URL parser.
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
        return false;
    }
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(h, _)| h),
        None if host.matches(':').count() > 1 => host,
        None => host.split(':').next().unwrap_or(host),
    };
    let bare = bare.trim_end_matches('.').to_ascii_lowercase();
    bare == "localhost"
        || bare.ends_with(".localhost")
        || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_only_this_machines() {
        for host in ["localhost", "LOCALHOST:3000", "app.localhost", "127.0.0.1", "127.1.2.3:80", "[::1]:3000", "::1"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1:3000",
            "[::2]:80",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "",
            "evil.com\\x.localhost",
            "evil.com%2F.localhost",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert_eq!(url_host("ws://127.0.0.1:3000/db-transfer/websocket"), "127.0.0.1:3000");
        assert_eq!(url_host("wss://u@[::1]:8443/x"), "[::1]:8443");
        assert_eq!(url_host("localhost:3100"), "localhost:3100");
    }

    #[test]
    fn every_usual_spelling_reaches_the_socket() {
        let cases = [
            ("127.0.0.1:3000", "http", "ws://127.0.0.1:3000/db-transfer/websocket"),
            ("127.0.0.1:3000/", "http", "ws://127.0.0.1:3000/db-transfer/websocket"),
            (" http://a.example ", "http", "ws://a.example/db-transfer/websocket"),
            ("HTTPS://a.example/", "http", "wss://a.example/db-transfer/websocket"),
            ("a.example", "https", "wss://a.example/db-transfer/websocket"),
            ("https://a.example/tools/dbt/", "https", "wss://a.example/tools/dbt/db-transfer/websocket"),
            (
                "https://a.example/dbt/admin/db-transfer/send?x=1#top",
                "https",
                "wss://a.example/dbt/db-transfer/websocket",
            ),
            ("wss://a.example/db-transfer/websocket", "https", "wss://a.example/db-transfer/websocket"),
        ];
        for (input, page, expected) in cases {
            assert_eq!(sender_socket_url(input, page).as_deref(), Ok(expected), "{input}");
        }
        assert_eq!(display_site("wss://a.example/dbt/db-transfer/websocket"), "https://a.example/dbt");
        assert_eq!(client_socket_url("a.example").as_deref(), Ok("wss://a.example/db-transfer/websocket"));
        assert_eq!(
            client_socket_url("http://127.0.0.1:3000").as_deref(),
            Ok("ws://127.0.0.1:3000/db-transfer/websocket")
        );
    }

    #[test]
    fn what_a_browser_would_refuse_is_refused_with_the_reason() {
        assert!(sender_socket_url("", "http").unwrap_err().contains("Enter"));
        assert!(sender_socket_url("http://a.example", "https").unwrap_err().contains("https"));
        assert!(sender_socket_url("ftp://a.example", "http").unwrap_err().contains("ftp"));
        assert!(sender_socket_url("http://user:pw@a.example", "http").unwrap_err().contains("password"));
        assert!(sender_socket_url("a b.example", "http").unwrap_err().contains("spaces"));
        assert!(sender_socket_url("http:///x", "http").unwrap_err().contains("host"));
    }
}
