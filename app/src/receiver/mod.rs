//! The receiving side in the browser: the page's own WebSocket to a remote sender ([`link`], WASM only), the
//! Receive page's state ([`model`]), and what its buttons do ([`control`]); the sender-URL rules are `protocol::address`.
//! The local server is reached only through server functions (`crate::api::receive`); it never contacts the
//! sender in this mode.

#[cfg(feature = "hydrate")]
pub mod adapters;
pub mod control;
#[cfg(feature = "hydrate")]
pub mod link;
pub mod model;
