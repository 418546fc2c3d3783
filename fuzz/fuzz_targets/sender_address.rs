//! Sender-address parsing (`protocol::address`): whatever an admin types or pastes. Never a panic; an accepted
//! address is a ws:// or wss:// URL of the socket path, and parsing it again gives it back.
#![no_main]

use protocol::address::{client_socket_url, display_site, sender_socket_url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for page_scheme in ["http", "https"] {
        if let Ok(url) = sender_socket_url(input, page_scheme) {
            assert!(
                url.starts_with("ws://") || url.starts_with("wss://"),
                "{url}"
            );
            assert!(url.ends_with("/db-transfer/websocket"), "{url}");
            assert_eq!(
                sender_socket_url(&url, page_scheme).as_deref(),
                Ok(url.as_str()),
                "{input:?}"
            );
            let _ = display_site(&url);
        }
    }
    if let Ok(url) = client_socket_url(input) {
        assert_eq!(
            client_socket_url(&url).as_deref(),
            Ok(url.as_str()),
            "{input:?}"
        );
    }
});
