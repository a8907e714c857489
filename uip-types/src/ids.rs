//! Identifiers and secrets, with `Debug` that never prints a capability or a secret.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A session id (`sess_` + 24 base62 chars).
///
/// The id is a capability: whoever has it can open the hosted page. `Display` and
/// [`SessionId::as_str`] give the full id; `Debug` shows only a short prefix.
///
/// ```
/// use uip_types::SessionId;
/// let id = SessionId::from("sess_7Hq2LmZ9pX4rT1vB8nC3dK6w");
/// assert_eq!(id.to_string(), "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w");
/// assert!(!format!("{id:?}").contains("LmZ9pX4rT1vB8nC3dK6w"));
/// assert_eq!(id.audit_id(0), "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w_0");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "A session id: `sess_` + 24 base62 characters from a CSPRNG. A capability: whoever has it can open the hosted page.",
        examples("sess_7Hq2LmZ9pX4rT1vB8nC3dK6w")
    )
)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// The prefix of every session id.
    pub const PREFIX: &'static str = "sess_";
    /// Number of random base62 characters after the prefix.
    pub const RANDOM_LEN: usize = 24;

    /// The full id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text has the sandbox's id shape (`sess_` + 24 base62 chars).
    pub fn is_well_formed(s: &str) -> bool {
        s.strip_prefix(Self::PREFIX).is_some_and(|rest| {
            rest.len() == Self::RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    }

    /// The audit id of a stage: `{session_id}_{stage}`.
    pub fn audit_id(&self, stage: u32) -> String {
        format!("{}_{}", self.0, stage)
    }
}

impl From<String> for SessionId {
    fn from(s: String) -> Self {
        SessionId(s)
    }
}

impl From<&str> for SessionId {
    fn from(s: &str) -> Self {
        SessionId(s.to_owned())
    }
}

impl std::borrow::Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SessionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({:?})", RedactedId(&self.0))
    }
}

/// `Debug` for text that embeds a session id (audit ids, delivery ids): the same short prefix
/// [`SessionId`]'s `Debug` shows, then `…[redacted]`.
pub(crate) struct RedactedId<'a>(pub(crate) &'a str);

impl fmt::Debug for RedactedId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(SessionId::PREFIX.len() + 4).collect();
        write!(f, "{shown}…[redacted]")
    }
}

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident $(, openapi = $description:literal)?) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $(#[cfg_attr(feature = "openapi", schema(description = $description))])?
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps the text.
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            /// The secret itself. Keep it out of logs.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

secret_string! {
    /// The hosted-page URL of a session (`{public_url}/s/{id}`): a capability URL.
    ///
    /// ```
    /// use uip_types::SessionUrl;
    /// let url = SessionUrl::new("https://uip.digital/s/sess_abc");
    /// assert_eq!(format!("{url:?}"), "SessionUrl([redacted])");
    /// assert_eq!(url.expose(), "https://uip.digital/s/sess_abc");
    /// ```
    SessionUrl,
    openapi = "The hosted-page URL of a session (`{public_url}/s/{id}`): a capability URL — hand it only to the intended user."
}

secret_string! {
    /// A business API key (`uip_test_…` in the sandbox).
    ///
    /// ```
    /// let key = uip_types::ApiKey::new("uip_test_sandbox");
    /// assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    /// ```
    ApiKey,
    openapi = "A business API key (`uip_test_` + 32 base62 chars in the sandbox)."
}

secret_string! {
    /// A webhook signing secret (`uip_whsec_…`); the HMAC key is the UTF-8 bytes of the whole string.
    ///
    /// ```
    /// let s = uip_types::WebhookSecret::new("uip_whsec_sandbox");
    /// assert_eq!(format!("{s:?}"), "WebhookSecret([redacted])");
    /// ```
    WebhookSecret,
    openapi = "A webhook signing secret (`uip_whsec_…`); the HMAC key is the UTF-8 bytes of the whole string."
}

secret_string! {
    /// A hosted-page binding token (the `uip_bind` cookie / `X-UIP-Binding` header).
    ///
    /// ```
    /// let t = uip_types::BindingToken::new("abc");
    /// assert_eq!(format!("{t:?}"), "BindingToken([redacted])");
    /// ```
    BindingToken,
    openapi = "A hosted-page binding token: base64url (no padding) of 32 random bytes; the server keeps only its SHA-256."
}

/// The delivery id of a webhook event: `{session_id}:step.completed:{stage}` for step events,
/// `{session_id}:{event}` for session events. It stays the same across retries.
///
/// ```
/// use uip_types::delivery_id;
/// assert_eq!(delivery_id::for_step("sess_a", 2), "sess_a:step.completed:2");
/// assert_eq!(delivery_id::for_session_event("sess_a", "session.completed"), "sess_a:session.completed");
/// ```
pub mod delivery_id {
    /// The id of a `step.completed` delivery.
    pub fn for_step(session_id: &str, stage: u32) -> String {
        format!("{session_id}:step.completed:{stage}")
    }

    /// The id of a `session.*` delivery.
    pub fn for_session_event(session_id: &str, event: &str) -> String {
        format!("{session_id}:{event}")
    }

    /// The session id a delivery id starts with.
    ///
    /// ```
    /// assert_eq!(uip_types::delivery_id::session_id("sess_a:session.failed"), Some("sess_a"));
    /// ```
    pub fn session_id(delivery_id: &str) -> Option<&str> {
        delivery_id.split_once(':').map(|(s, _)| s)
    }
}
