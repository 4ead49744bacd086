//! [`PartnerCenter`] and its builder.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use partner_center_api as api;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::call::Call;
use crate::error::{Error, Result};
use crate::referrals::Referrals;

/// The Partner Center host.
pub const DEFAULT_BASE_URL: &str = "https://api.partner.microsoft.com";
/// How long connecting may take, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take from start to the end of its body, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A Partner Center client. Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> partner_center::Result<()> {
/// let client = partner_center::PartnerCenter::builder()
///     .token(std::env::var("PARTNER_CENTER_TOKEN").unwrap_or_default())
///     .build()?;
/// let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
/// println!("{} is {:?}", referral.id.unwrap_or_default(), referral.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PartnerCenter {
    shared: Arc<Shared>,
}

/// What every call of one client uses.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) token: SecretString,
}

impl PartnerCenter {
    /// Starts configuring a client.
    pub fn builder() -> PartnerCenterBuilder {
        PartnerCenterBuilder::default()
    }

    /// Referrals: leads and co-sell opportunities.
    pub fn referrals(&self) -> Referrals<'_> {
        Referrals::new(self)
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// Makes one logical call: `operation` runs a generated operation on a client that sends
    /// through this call's policy ([`Call`]), and its outcome becomes this crate's types.
    pub(crate) async fn send<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        F: FnOnce(api::Client) -> Fut,
        Fut: Future<Output = api::GeneratedResult<T>>,
    {
        let call = Arc::new(Call::new(Arc::clone(&self.shared)));
        let policy: Arc<dyn api::Transport> = call.clone();
        let generated =
            api::Client::new_with_client(&self.shared.base_url, self.shared.http.clone(), policy);
        match operation(generated).await {
            Ok(response) => Ok(response.into_inner()),
            Err(error) => Err(call.map_error(error).await),
        }
    }
}

impl fmt::Debug for PartnerCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCenter")
            .field("base_url", &self.shared.base_url)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PartnerCenter`]; [`PartnerCenter::builder`] makes one.
#[derive(Default)]
pub struct PartnerCenterBuilder {
    token: Option<SecretString>,
    base_url: Option<String>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
}

impl PartnerCenterBuilder {
    /// The App+User bearer token for `https://api.partner.microsoft.com` (required).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// Where to send requests (default [`DEFAULT_BASE_URL`]); e.g. a local sandbox or mock.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// How long connecting may take (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one request may take, body included (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<PartnerCenter> {
        let token = self
            .token
            .ok_or_else(|| Error::Config("no token: set one with .token(...)".into()))?;
        if token.expose_secret().trim().is_empty() {
            return Err(Error::Config("the token is empty".into()));
        }
        if HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).is_err() {
            // Never echo the token: say what is wrong with it, not what it is.
            return Err(Error::Config(
                "the token contains characters that cannot be sent in a header".into(),
            ));
        }
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
            // The API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("partner-center-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(PartnerCenter {
            shared: Arc::new(Shared {
                http,
                base_url,
                token,
            }),
        })
    }
}

impl fmt::Debug for PartnerCenterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCenterBuilder")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// An http(s) URL without query or fragment, without a trailing slash (the generated
/// operations append `/v1.0/...`).
fn normalize_base_url(raw: &str) -> Result<String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("base URL {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "base URL {raw:?} must be an http or https URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {raw:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(
            normalize_base_url("https://api.partner.microsoft.com/").unwrap(),
            "https://api.partner.microsoft.com"
        );
        assert_eq!(
            normalize_base_url(" http://127.0.0.1:8080/prefix/ ").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for raw in [
            "",
            "not a url",
            "ftp://host",
            "https://host/?a=b",
            "https://host/#x",
        ] {
            assert!(
                matches!(normalize_base_url(raw), Err(Error::Config(_))),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_token_is_required_and_never_shown() {
        let err = PartnerCenter::builder().build().unwrap_err();
        assert!(matches!(err, Error::Config(_)));
        assert!(matches!(
            PartnerCenter::builder().token("  ").build(),
            Err(Error::Config(_))
        ));

        let secret = "very-secret\nvalue";
        let err = PartnerCenter::builder().token(secret).build().unwrap_err();
        assert!(!err.to_string().contains("very-secret"), "{err}");

        let builder = PartnerCenter::builder().token("very-secret-token");
        assert!(!format!("{builder:?}").contains("very-secret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("very-secret"));
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
    }
}
