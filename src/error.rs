//! The one error type that crosses the wire, from server functions to the views.
//!
//! Policy: server modules keep their own `thiserror` enums and convert into [`AppError`] at the
//! boundary. What a user can act on (a bad date, an unknown filter) travels as a message; an
//! internal failure is logged on the server and reaches the browser only as
//! [`AppError::Internal`], without details.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, JsonEncoding, ServerFnErrorErr};

mod server_fn_error {
    pub use leptos::server_fn::codec::JsonEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request cannot be served as asked; the message says why and is safe to show.
    #[error("{0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("sign-in required")]
    Unauthorized,
    #[error("you do not have access to this")]
    Forbidden,
    /// Something failed on the server; details are in the server log only.
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    /// The answer needs more memory than the database may use (`memory_limit`); nothing was
    /// changed, and a smaller request or a higher limit will do.
    #[error(
        "computing this answer needs more memory than the server's database may use \
         (the memory_limit setting); nothing was changed. Ask for a shorter period or fewer \
         KPIs, or ask an administrator to raise memory_limit"
    )]
    OutOfMemory,
    /// The call itself failed (network, encoding): shown as is.
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// HTTP status for the JSON API.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::NotFound(_) => 404,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::OutOfMemory => 503,
            Self::Internal | Self::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                Self::BadRequest(message)
            }
            other => Self::Transport(other.to_string()),
        }
    }
}
