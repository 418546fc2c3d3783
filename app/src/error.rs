//! The one error type of the server functions. Each variant is what the admin sees; internal failures are logged
//! on the server and reach the browser only as "internal error".

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// No admin session: sign in first.
    #[error("not signed in")]
    Unauthorized,
    /// Wrong username or password (deliberately not saying which).
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed attempts from this address.
    #[error("too many failed attempts; try again in {0} s")]
    RateLimited(u64),
    /// The request was malformed; the text names what was wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on the server; details are in the server log only.
    #[error("internal error (see the server log)")]
    Internal,
    /// The request never reached the function (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => bad_arguments(msg),
            // On the server, what fails to deserialize is the request's arguments: the caller's mistake, named.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(msg) => bad_arguments(msg),
            other => ApiError::Transport(other.to_string()),
        }
    }
}

/// Arguments that could not be read: 400 with what was wrong (the function never ran to call `api::respond`).
fn bad_arguments(msg: String) -> ApiError {
    #[cfg(feature = "ssr")]
    if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(axum::http::StatusCode::BAD_REQUEST);
    }
    ApiError::BadRequest(msg)
}

#[cfg(feature = "ssr")]
impl ApiError {
    /// Logs an internal failure with its cause and returns what the browser may see.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "{context}");
        ApiError::Internal
    }
}
