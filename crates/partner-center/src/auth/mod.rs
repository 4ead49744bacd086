//! Authentication: where the bearer token comes from.
//!
//! Partner Center's Referrals API takes App+User (delegated) Entra ID tokens only. A
//! [`TokenProvider`] hands the client a token before each call and, when the service answers
//! 401, a fresh one (the client then retries once). Providers here: [`StaticToken`],
//! [`EnvToken`] and the device code sign-in with a refresh token ([`DeviceCodeLogin`],
//! [`CachedToken`]).

mod device_code;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

pub use device_code::{
    CachedToken, DEFAULT_AUTHORITY, DeviceCodeLogin, DevicePrompt, PARTNER_CENTER_SCOPE,
    default_cache_path,
};

/// A bearer token and when it expires. Its `Debug` never shows the token. Cheap to clone: a
/// token (a JWT of a kilobyte or two) is handed to every call, and copied by none.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<SecretString>,
    expires_at: Option<SystemTime>,
}

impl AccessToken {
    /// A token, and its expiry if known.
    pub fn new(secret: impl Into<String>, expires_at: Option<SystemTime>) -> Self {
        Self {
            secret: Arc::new(SecretString::from(secret.into())),
            expires_at,
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// When it expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether it expires within `margin` from now (never, when the expiry is unknown).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= SystemTime::now() + margin)
    }

    pub(crate) fn same_secret(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.secret, &other.secret)
            || self.secret.expose_secret() == other.secret.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a token could not be had. Never contains a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// There is no token to use (an unset variable, no cached sign-in).
    #[error("no token: {0}")]
    Missing(String),
    /// This provider cannot get another token (a static token was rejected).
    #[error("the token cannot be refreshed: {0}")]
    CannotRefresh(String),
    /// The sign-in service refused: an expired or revoked refresh token, a declined sign-in.
    #[error("sign-in refused: {0}")]
    Rejected(String),
    /// The sign-in service could not be reached or answered nonsense.
    #[error("sign-in service error: {0}")]
    Service(String),
    /// The token cache could not be read or written.
    #[error("token cache: {0}")]
    Cache(String),
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Where the client gets its bearer token.
///
/// `token` is asked before every call and should refresh a token that is about to expire.
/// `refresh` is asked once when the service rejected `rejected` with 401; concurrent callers
/// may ask for the same rejected token, and should get one refresh between them.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token to send now.
    fn token(&self) -> TokenFuture<'_>;
    /// A new token, after the service rejected `rejected`.
    fn refresh<'a>(&'a self, rejected: &'a AccessToken) -> TokenFuture<'a>;
}

impl<P: TokenProvider + ?Sized> TokenProvider for Box<P> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }

    fn refresh<'a>(&'a self, rejected: &'a AccessToken) -> TokenFuture<'a> {
        (**self).refresh(rejected)
    }
}

/// One provider can serve several clients (and refresh once for all of them).
impl<P: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<P> {
    fn token(&self) -> TokenFuture<'_> {
        (**self).token()
    }

    fn refresh<'a>(&'a self, rejected: &'a AccessToken) -> TokenFuture<'a> {
        (**self).refresh(rejected)
    }
}

/// A fixed token, e.g. one obtained by another tool. It cannot be refreshed.
#[derive(Debug, Clone)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// Uses `token` for every call.
    pub fn new(token: impl Into<String>) -> Self {
        Self(AccessToken::new(token, None))
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn refresh<'a>(&'a self, _rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async {
            Err(AuthError::CannotRefresh(
                "a static token was rejected".into(),
            ))
        })
    }
}

/// A token read from an environment variable at each call (so a rotated value is picked up).
#[derive(Debug, Clone)]
pub struct EnvToken {
    variable: String,
}

impl EnvToken {
    /// Reads the token from `variable`, e.g. `PARTNER_CENTER_TOKEN`.
    pub fn new(variable: impl Into<String>) -> Self {
        Self {
            variable: variable.into(),
        }
    }

    fn read(&self) -> Result<AccessToken, AuthError> {
        match std::env::var(&self.variable) {
            Ok(token) if !token.trim().is_empty() => Ok(AccessToken::new(token, None)),
            _ => Err(AuthError::Missing(format!("{} is not set", self.variable))),
        }
    }
}

impl TokenProvider for EnvToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move { self.read() })
    }

    fn refresh<'a>(&'a self, rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async move {
            let token = self.read()?;
            if token.same_secret(rejected) {
                return Err(AuthError::CannotRefresh(format!(
                    "the token in {} was rejected",
                    self.variable
                )));
            }
            Ok(token)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_static_token_is_served_but_not_refreshed() {
        let provider = StaticToken::new("static-secret");
        let token = provider.token().await.unwrap();
        assert_eq!(token.secret().expose_secret(), "static-secret");
        let err = provider.refresh(&token).await.unwrap_err();
        assert!(matches!(err, AuthError::CannotRefresh(_)));
        assert!(!format!("{token:?} {provider:?} {err}").contains("static-secret"));
    }

    #[tokio::test]
    async fn an_unset_variable_is_a_missing_token() {
        let provider = EnvToken::new("PARTNER_CENTER_TEST_UNSET_VARIABLE_4F2A");
        assert!(matches!(provider.token().await, Err(AuthError::Missing(_))));
    }

    #[test]
    fn expiry_margins() {
        let soon = AccessToken::new("t", Some(SystemTime::now() + Duration::from_secs(60)));
        assert!(soon.expires_within(Duration::from_secs(300)));
        assert!(!soon.expires_within(Duration::ZERO));
        assert!(!AccessToken::new("t", None).expires_within(Duration::from_secs(3600)));
    }
}
