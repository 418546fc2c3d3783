//! The doors of the server, as middleware: who the client is, and what an anonymous or cross-site request may
//! reach. Deny by default: every path needs an admin session except the short public list below, so a route
//! added later is protected without anyone remembering to protect it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::ApiError;
use app::session::{ADMIN_KEY, ClientIp, SessionAdmin};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// What the guard needs to know about this instance.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// `scheme://host[:port]` of the public URL, accepted as a same-site Origin behind a proxy.
    pub public_origin: Option<String>,
    /// The reverse proxy's prefix, written into the redirects this guard sends.
    pub base_path: String,
}

/// Paths an anonymous visitor may reach: the sign-in page and its server function, static files, and the
/// sender's socket (which a connection code protects).
pub fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/api/login" | "/favicon.ico" | crate::sender_socket::PATH) || path.starts_with("/pkg/")
}

/// Resolves the client address once per request: the peer, or — when the peer is a trusted proxy — the nearest
/// X-Forwarded-For entry that is not itself a trusted proxy.
pub async fn resolve_client_ip(State(config): State<GuardConfig>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let ip = client_ip(peer, req.headers(), &config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

/// The largest request body an anonymous client may send (a sign-in form is a few hundred bytes).
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;
/// The largest request body of a signed-in admin: a relayed page plus its envelope.
pub const ADMIN_BODY_LIMIT: usize = app::api::receive::MAX_RELAYED_PAGE_BYTES + 64 * 1024;

/// Refuses cross-site calls to server functions and anonymous access to anything not public, and caps request
/// bodies: small for anonymous clients, a page's worth for admins (the router disables axum's blanket 2 MB).
pub async fn require_admin(State(config): State<GuardConfig>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with("/api/");

    if is_api && is_cross_site(req.headers(), config.public_origin.as_deref()) {
        tracing::warn!(%path, "refused a cross-site server function call");
        return with_security_headers(
            (StatusCode::FORBIDDEN, json_error(&ApiError::BadRequest("cross-site request refused".into())))
                .into_response(),
        );
    }

    // Public paths never load the session: a browser sends this host's cookie to every port of it, and another
    // instance's session id, looked up here and not found, would be answered with a removal cookie that signs the
    // admin out of that other instance (two instances on one host, as in the demo and the tests).
    let signed_in = !is_public(&path)
        && match req.extensions().get::<Session>() {
            Some(session) => matches!(session.get::<SessionAdmin>(ADMIN_KEY).await, Ok(Some(_))),
            None => false,
        };
    let limit = if signed_in { ADMIN_BODY_LIMIT } else { PUBLIC_BODY_LIMIT };
    let req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    if !is_public(&path) && !signed_in {
        let response = if is_api {
            (StatusCode::UNAUTHORIZED, json_error(&ApiError::Unauthorized)).into_response()
        } else {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            Redirect::to(&format!("{}/login?next={}", config.base_path, encode_query_value(target))).into_response()
        };
        return with_security_headers(response);
    }
    with_security_headers(next.run(req).await)
}

/// A browser marks every request with Sec-Fetch-Site; older ones send Origin on cross-origin POSTs. Clients
/// that send neither are not browsers, and cannot carry a victim's cookie.
fn is_cross_site(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => !is_same_origin(origin, headers, public_origin),
        None => false,
    }
}

/// Whether a browser's `Origin` header names this site: the origin the request was sent to (its Host, over the
/// scheme a proxy reports in X-Forwarded-Proto, else http, which is what this server speaks), or the public
/// URL's. Scheme, host and port must all be equal (a default port equals its explicit form); a prefix, another
/// port or another scheme is another site. A page cannot set X-Forwarded-Proto on a WebSocket or a simple
/// request, so it cannot widen what is accepted.
pub fn is_same_origin(origin: &str, headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = Origin::parse(origin) else { return false };
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v == "https")
        .unwrap_or_else(|| "http".into());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let requested = host.and_then(|host| Origin::parse(&format!("{scheme}://{host}")));
    requested.as_ref() == Some(&origin) || public_url.and_then(Origin::parse).as_ref() == Some(&origin)
}

/// The scheme, host and port of a URL (the path, if any, ignored): what makes two pages one site for a browser.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// `None` for anything but an http(s) URL with a host (an opaque `null` origin, credentials, junk).
    fn parse(url: &str) -> Option<Origin> {
        let uri: axum::http::Uri = url.parse().ok()?;
        let https = match uri.scheme_str()?.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Origin { https, host: authority.host().to_ascii_lowercase(), port })
    }
}

fn json_error(error: &ApiError) -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "application/json")], serde_json::to_string(error).unwrap_or_default())
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 10.0.0.1")]);
        assert_eq!(client_ip(proxy, &h, &[proxy]), "1.2.3.4".parse::<IpAddr>().unwrap());
        let stranger: IpAddr = "5.6.7.8".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &[proxy]), stranger, "spoofed header from a non-proxy ignored");
        assert_eq!(client_ip(proxy, &headers(&[("x-forwarded-for", "junk")]), &[proxy]), proxy);
    }

    #[test]
    fn cross_site_detection() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")]), None));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")]), None));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), None));
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example"), ("host", "a.example")]), None));
        assert!(!is_cross_site(&headers(&[("origin", "http://a.example:3000"), ("host", "a.example:3000")]), None));
        assert!(!is_cross_site(
            &headers(&[("origin", "https://public.example"), ("host", "127.0.0.1:3000")]),
            Some("https://public.example")
        ));
        assert!(!is_cross_site(&HeaderMap::new(), None), "no browser, no ambient cookie to abuse");
    }

    #[test]
    fn origins_must_match_in_scheme_host_and_port() {
        let public = Some("https://transfer.example:8443/prefix");
        let direct = headers(&[("host", "127.0.0.1:3000")]);
        for good in ["https://transfer.example:8443", "HTTPS://Transfer.Example:8443", "http://127.0.0.1:3000"] {
            assert!(is_same_origin(good, &direct, public), "{good}");
        }
        for bad in [
            "https://transfer.example",    // a prefix of the public URL: another port
            "https://transfer.ex",         // a prefix host
            "https://transfer.example:84", // a prefix port
            "https://transfer.example.evil:8443",
            "http://transfer.example:8443", // another scheme
            "wss://transfer.example:8443",
            "https://127.0.0.1:3000", // the request came over http
            "http://127.0.0.1:30000",
            "http://127.0.0.1",
            "http://evil@127.0.0.1:3000",
            "null",
            "",
        ] {
            assert!(!is_same_origin(bad, &direct, public), "{bad}");
        }
        assert!(is_same_origin("https://transfer.example:443", &direct, Some("https://transfer.example")));
        assert!(is_same_origin("https://transfer.example", &direct, Some("https://transfer.example:443/")));
        assert!(!is_same_origin("https://transfer.example", &direct, None), "no public URL: only the Host");

        // Behind a TLS proxy that says so, the Host is reached over https (and then only over https).
        let proxied = headers(&[("host", "transfer.example"), ("x-forwarded-proto", "https")]);
        assert!(is_same_origin("https://transfer.example", &proxied, None));
        assert!(is_same_origin("https://transfer.example:443", &proxied, None));
        assert!(!is_same_origin("http://transfer.example", &proxied, None));
        assert!(!is_same_origin("https://transfer.example:8443", &proxied, None));
        assert!(!is_same_origin("http://a.example", &HeaderMap::new(), None), "no Host, no public URL");
    }

    #[test]
    fn public_list_is_short() {
        assert!(is_public("/login") && is_public("/api/login") && is_public("/pkg/db-transfer.wasm"));
        assert!(is_public("/db-transfer/websocket"), "code-protected, not session-protected");
        for private in ["/", "/admin/db-transfer", "/api/logout", "/api/system-status", "/login/x", "/pkgx"] {
            assert!(!is_public(private), "{private}");
        }
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(encode_query_value("/a b?x=1&y"), "/a%20b%3Fx%3D1%26y");
    }
}
