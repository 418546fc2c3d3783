//! The receiving side in the browser: the page's own WebSocket to a remote sender ([`link`], WASM only), the
//! Receive page's state ([`model`]), what its buttons do ([`control`]), and the sender-URL rules ([`address`]).
//! The local server is reached only through server functions (`crate::api::receive`); it never contacts the
//! sender in this mode.

pub mod address;
pub mod control;
#[cfg(feature = "hydrate")]
pub mod link;
pub mod model;
