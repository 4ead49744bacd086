//! Authentication: where the bearer tokens come from.
//!
//! Partner Center's APIs take App+User (delegated) Entra ID tokens only, and each API has its
//! own audience: the Referrals API `https://api.partner.microsoft.com`, the webhook
//! registration API `https://api.partnercenter.microsoft.com`. Each spec document names the
//! scope of its calls (its security scheme's `x-token-scope`, [`PARTNER_CENTER_SCOPE`] and
//! [`WEBHOOKS_SCOPE`]), and the client asks its [`TokenProvider`] for a token of that scope
//! before each call and, when the service answers 401, for a fresh one (the client then
//! retries once). A provider that has no token for a scope says so: a token is never sent to
//! another API than its own. Providers here: [`StaticToken`], [`EnvToken`] and the device
//! code sign-in with a refresh token ([`DeviceCodeLogin`], [`CachedToken`]), which gets the
//! token of each scope from one sign-in.

mod device_code;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

pub use device_code::{
    CachedToken, DEFAULT_AUTHORITY, DeviceCodeLogin, DevicePrompt, default_cache_path,
};

/// The scope of the Referrals API's tokens (`https://api.partner.microsoft.com/.default`).
pub const PARTNER_CENTER_SCOPE: &str = partner_center_api::TOKEN_SCOPE;
/// The scope of the webhook registration API's tokens
/// (`https://api.partnercenter.microsoft.com/.default`).
pub const WEBHOOKS_SCOPE: &str = partner_center_api::webhooks::TOKEN_SCOPE;

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

/// Where the client gets its bearer tokens.
///
/// `token` is asked before every call for a token of the call's `scope` (see the module docs),
/// and should refresh a token that is about to expire. `refresh` is asked once when the
/// service rejected `rejected` with 401; concurrent callers may ask for the same rejected
/// token, and should get one refresh between them. A provider without a token for `scope`
/// answers [`AuthError::Missing`]: it never hands out a token of another audience.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token of `scope` to send now.
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;
    /// A new token of `scope`, after the service rejected `rejected`.
    fn refresh<'a>(&'a self, scope: &'a str, rejected: &'a AccessToken) -> TokenFuture<'a>;
}

impl<P: TokenProvider + ?Sized> TokenProvider for Box<P> {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        (**self).token(scope)
    }

    fn refresh<'a>(&'a self, scope: &'a str, rejected: &'a AccessToken) -> TokenFuture<'a> {
        (**self).refresh(scope, rejected)
    }
}

/// One provider can serve several clients (and refresh once for all of them).
impl<P: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<P> {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        (**self).token(scope)
    }

    fn refresh<'a>(&'a self, scope: &'a str, rejected: &'a AccessToken) -> TokenFuture<'a> {
        (**self).refresh(scope, rejected)
    }
}

/// Which scopes a [`StaticToken`] or an [`EnvToken`] serves, with what: `T` is a token or
/// the name of a variable. A short list: there are as many scopes as spec documents.
#[derive(Clone, Debug)]
enum Scoped<T> {
    /// One value for each of these scopes.
    Each(Vec<(String, T)>),
    /// One value for every scope: a sandbox or a mock serving every API on one host.
    Every(T),
}

impl<T> Scoped<T> {
    fn get(&self, scope: &str) -> Result<&T, AuthError> {
        match self {
            Self::Every(value) => Ok(value),
            Self::Each(values) => values
                .iter()
                .find(|(own, _)| own == scope)
                .map(|(_, value)| value)
                .ok_or_else(|| AuthError::Missing(format!("no token for the scope {scope}"))),
        }
    }

    fn with(self, scope: String, value: T) -> Self {
        match self {
            Self::Each(mut values) => {
                values.retain(|(own, _)| *own != scope);
                values.push((scope, value));
                Self::Each(values)
            }
            every @ Self::Every(_) => every,
        }
    }
}

/// Fixed tokens, e.g. obtained by another tool: one a scope. They cannot be refreshed.
///
/// ```
/// use partner_center::auth::{StaticToken, WEBHOOKS_SCOPE};
///
/// // The Referrals API's token, and the webhook registration API's.
/// let tokens = StaticToken::new("referrals-token").with(WEBHOOKS_SCOPE, "webhooks-token");
/// # let _ = tokens;
/// ```
#[derive(Clone)]
pub struct StaticToken(Scoped<AccessToken>);

impl StaticToken {
    /// Uses `token` for the Referrals API's calls ([`PARTNER_CENTER_SCOPE`]), and for no
    /// other API's.
    pub fn new(token: impl Into<String>) -> Self {
        Self::for_scope(PARTNER_CENTER_SCOPE, token)
    }

    /// Uses `token` for the calls of `scope` only.
    pub fn for_scope(scope: impl Into<String>, token: impl Into<String>) -> Self {
        Self(Scoped::Each(vec![(
            scope.into(),
            AccessToken::new(token, None),
        )]))
    }

    /// Uses `token` for every API: only for a sandbox or a mock that serves them all on one
    /// host (no real service takes one token for two audiences).
    pub fn for_every_scope(token: impl Into<String>) -> Self {
        Self(Scoped::Every(AccessToken::new(token, None)))
    }

    /// Also uses `token` for the calls of `scope` (no change to one made `for_every_scope`).
    pub fn with(self, scope: impl Into<String>, token: impl Into<String>) -> Self {
        Self(self.0.with(scope.into(), AccessToken::new(token, None)))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scopes: Vec<&str> = match &self.0 {
            Scoped::Each(tokens) => tokens.iter().map(|(scope, _)| scope.as_str()).collect(),
            Scoped::Every(_) => vec!["*"],
        };
        f.debug_struct("StaticToken")
            .field("scopes", &scopes)
            .finish()
    }
}

impl TokenProvider for StaticToken {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move { self.0.get(scope).cloned() })
    }

    fn refresh<'a>(&'a self, scope: &'a str, _rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async move {
            Err(AuthError::CannotRefresh(format!(
                "the static token for the scope {scope} was rejected"
            )))
        })
    }
}

/// Tokens read from environment variables at each call (so a rotated value is picked up):
/// one variable a scope.
///
/// ```
/// use partner_center::auth::{EnvToken, WEBHOOKS_SCOPE};
///
/// let tokens = EnvToken::new("PARTNER_CENTER_TOKEN")
///     .with(WEBHOOKS_SCOPE, "PARTNER_CENTER_WEBHOOKS_TOKEN");
/// # let _ = tokens;
/// ```
#[derive(Debug, Clone)]
pub struct EnvToken {
    variables: Scoped<String>,
}

impl EnvToken {
    /// Reads the Referrals API's token ([`PARTNER_CENTER_SCOPE`]) from `variable`, e.g.
    /// `PARTNER_CENTER_TOKEN`.
    pub fn new(variable: impl Into<String>) -> Self {
        let variables = vec![(PARTNER_CENTER_SCOPE.to_owned(), variable.into())];
        Self {
            variables: Scoped::Each(variables),
        }
    }

    /// Also reads the token of `scope`, from `variable`.
    pub fn with(self, scope: impl Into<String>, variable: impl Into<String>) -> Self {
        Self {
            variables: self.variables.with(scope.into(), variable.into()),
        }
    }

    fn read(&self, scope: &str) -> Result<(AccessToken, &str), AuthError> {
        let variable = self.variables.get(scope)?;
        match std::env::var(variable) {
            Ok(token) if !token.trim().is_empty() => Ok((AccessToken::new(token, None), variable)),
            _ => Err(AuthError::Missing(format!("{variable} is not set"))),
        }
    }
}

impl TokenProvider for EnvToken {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move { self.read(scope).map(|(token, _)| token) })
    }

    fn refresh<'a>(&'a self, scope: &'a str, rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async move {
            let (token, variable) = self.read(scope)?;
            if token.same_secret(rejected) {
                return Err(AuthError::CannotRefresh(format!(
                    "the token in {variable} was rejected"
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
        let token = provider.token(PARTNER_CENTER_SCOPE).await.unwrap();
        assert_eq!(token.secret().expose_secret(), "static-secret");
        let err = provider
            .refresh(PARTNER_CENTER_SCOPE, &token)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::CannotRefresh(_)));
        assert!(!format!("{token:?} {provider:?} {err}").contains("static-secret"));
    }

    #[tokio::test]
    async fn a_static_token_serves_its_own_scope_only() {
        let secret = |result: Result<AccessToken, AuthError>| {
            result.map(|token| token.secret().expose_secret().to_owned())
        };
        let referrals = StaticToken::new("referrals-secret");
        let err = referrals.token(WEBHOOKS_SCOPE).await.unwrap_err();
        assert!(matches!(err, AuthError::Missing(_)), "{err}");
        assert!(err.to_string().contains(WEBHOOKS_SCOPE), "{err}");

        let both = referrals.with(WEBHOOKS_SCOPE, "webhooks-secret");
        let webhooks = secret(both.token(WEBHOOKS_SCOPE).await).unwrap();
        assert_eq!(webhooks, "webhooks-secret");
        let main = secret(both.token(PARTNER_CENTER_SCOPE).await).unwrap();
        assert_eq!(main, "referrals-secret");
        let debug = format!("{both:?}");
        assert!(debug.contains(WEBHOOKS_SCOPE), "{debug}");
        assert!(!debug.contains("referrals-secret") && !debug.contains("webhooks-secret"));

        let every = StaticToken::for_every_scope("sandbox");
        for scope in [PARTNER_CENTER_SCOPE, WEBHOOKS_SCOPE, "api://other/.default"] {
            assert_eq!(secret(every.token(scope).await).unwrap(), "sandbox");
        }
    }

    #[tokio::test]
    async fn an_unset_variable_is_a_missing_token() {
        let provider = EnvToken::new("PARTNER_CENTER_TEST_UNSET_VARIABLE_4F2A");
        let unset = provider.token(PARTNER_CENTER_SCOPE).await;
        assert!(matches!(unset, Err(AuthError::Missing(_))));
        // A scope no variable is named for is missing too, whatever the environment holds.
        let err = EnvToken::new("PATH")
            .token(WEBHOOKS_SCOPE)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Missing(_)), "{err}");
    }

    #[test]
    fn expiry_margins() {
        let soon = AccessToken::new("t", Some(SystemTime::now() + Duration::from_secs(60)));
        assert!(soon.expires_within(Duration::from_secs(300)));
        assert!(!soon.expires_within(Duration::ZERO));
        assert!(!AccessToken::new("t", None).expires_within(Duration::from_secs(3600)));
    }
}
