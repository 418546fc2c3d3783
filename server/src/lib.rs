//! The DB Transfer server: builds the axum router around the Leptos app (SSR pages, server functions, static
//! files), guards it (sessions, sign-in, cross-site refusal), and runs instances for `serve`, `demo` and tests.

pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod guard;
pub mod instance;
pub mod router;
pub mod send_live;
pub mod sender_socket;

pub use config::ServeConfig;
pub use error::ServerError;
pub use instance::Instance;
