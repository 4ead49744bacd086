//! Device code sign-in against Entra ID, and the refreshing token cache it leaves behind.

use std::collections::BTreeMap;
use std::fs;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthType, ClientId, DeviceAuthorizationResponse, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, ExtraDeviceAuthorizationFields, HttpRequest, HttpResponse,
    RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{AccessToken, AuthError, PARTNER_CENTER_SCOPE, TokenFuture, TokenProvider};
use crate::text::{self, SHOWN_CHARS};

/// Entra ID's public cloud.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// A token this close to its expiry is refreshed before it is used.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The token cache's usual place: `<user cache dir>/partner-center/token.json`.
pub fn default_cache_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("partner-center").join("token.json"))
}

/// What to show the user while the device code sign-in waits for them.
#[derive(Clone, Debug)]
pub struct DevicePrompt {
    /// Where to sign in, e.g. `https://microsoft.com/devicelogin`.
    pub verification_uri: String,
    /// The code to type there.
    pub user_code: String,
    /// Entra ID's own sentence saying both, when it sends one.
    pub message: Option<String>,
}

/// Signs a user in with the OAuth 2.0 device code flow and keeps the tokens in a cache file.
///
/// ```no_run
/// # async fn demo() -> Result<(), partner_center::auth::AuthError> {
/// use partner_center::auth::DeviceCodeLogin;
///
/// let tokens = DeviceCodeLogin::new("contoso.onmicrosoft.com", "00000000-0000-0000-0000-000000000001")
///     .login(|prompt| eprintln!("{}", prompt.message.as_deref().unwrap_or(&prompt.user_code)))
///     .await?;
/// let client = partner_center::PartnerCenter::builder().token_provider(tokens).build();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DeviceCodeLogin {
    tenant: String,
    client_id: String,
    authority: String,
    cache_path: Option<PathBuf>,
}

impl DeviceCodeLogin {
    /// Sign-in to `tenant` (a domain or tenant id) with the public client app `client_id`.
    pub fn new(tenant: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            authority: DEFAULT_AUTHORITY.to_owned(),
            cache_path: None,
        }
    }

    /// Another Entra ID host (a sovereign cloud, or a test server).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into().trim_end_matches('/').to_owned();
        self
    }

    /// Where to keep the tokens (default [`default_cache_path`]).
    pub fn cache_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cache_path = Some(path.into());
        self
    }

    /// Runs the sign-in: asks for a device code, hands `show` what to tell the user, waits
    /// until they have signed in, and writes the cache (readable by its owner only).
    pub async fn login(&self, show: impl FnOnce(&DevicePrompt)) -> Result<CachedToken, AuthError> {
        let path = match &self.cache_path {
            Some(path) => path.clone(),
            None => default_cache_path()
                .ok_or_else(|| AuthError::Cache("no cache directory on this system".into()))?,
        };
        let http = OAuthHttp::new()?;
        let entra = entra_client(&self.authority, &self.tenant, &self.client_id)?;
        let details: DeviceAuthorizationResponse<EntraDeviceFields> = entra
            .exchange_device_code()
            .add_scope(Scope::new(PARTNER_CENTER_SCOPE.into()))
            .add_scope(Scope::new("offline_access".into()))
            .request_async(&http)
            .await
            .map_err(token_error)?;
        show(&DevicePrompt {
            verification_uri: details.verification_uri().to_string(),
            user_code: details.user_code().secret().clone(),
            message: details.extra_fields().message.clone(),
        });
        let response = entra
            .exchange_device_access_token(&details)
            .request_async(&http, tokio::time::sleep, None)
            .await
            .map_err(token_error)?;
        let mut cache = CacheFile {
            authority: self.authority.clone(),
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            refresh_token: None,
            tokens: BTreeMap::new(),
            access_token: None,
            expires_at: None,
        };
        cache.update(PARTNER_CENTER_SCOPE, &response);
        cache.write(&path)?;
        Ok(CachedToken {
            path,
            http,
            state: Mutex::new(cache),
        })
    }
}

/// The tokens of a device code sign-in, refreshed before they expire and written back to
/// their cache file. One refresh serves every task waiting for it.
///
/// The sign-in's refresh token gets the token of every scope the client asks for (the
/// Referrals API's, the webhook registration API's...), each kept apart in the cache: Entra
/// ID's refresh tokens are good for every API the app is consented to.
pub struct CachedToken {
    path: PathBuf,
    http: OAuthHttp,
    state: Mutex<CacheFile>,
}

impl CachedToken {
    /// Loads the tokens a [`DeviceCodeLogin`] left in `path`.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, AuthError> {
        let path = path.into();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuthError::Missing(format!(
                    "not signed in (no token cache at {})",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(AuthError::Cache(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut cache: CacheFile = serde_json::from_str(&text).map_err(|e| {
            AuthError::Cache(format!(
                "{} is not a token cache (line {})",
                path.display(),
                e.line()
            ))
        })?;
        cache.migrate();
        Ok(Self {
            path,
            http: OAuthHttp::new()?,
            state: Mutex::new(cache),
        })
    }

    /// Deletes the cache at `path` (signs out); `false` when there was none.
    pub fn remove(path: &Path) -> Result<bool, AuthError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(AuthError::Cache(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
        }
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Redeems the refresh token for a token of `scope`, and writes the cache.
    async fn refresh_locked(&self, cache: &mut CacheFile, scope: &str) -> Result<(), AuthError> {
        let refresh_token = cache.refresh_token.clone().ok_or_else(|| {
            AuthError::CannotRefresh("the cached sign-in has no refresh token".into())
        })?;
        let entra = entra_client(&cache.authority, &cache.tenant, &cache.client_id)?;
        let refresh_token = RefreshToken::new(refresh_token);
        let response = entra
            .exchange_refresh_token(&refresh_token)
            .add_scope(Scope::new(scope.into()))
            .add_scope(Scope::new("offline_access".into()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        cache.update(scope, &response);
        cache.write(&self.path)
    }
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenProvider for CachedToken {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let mut cache = self.state.lock().await;
            match cache.access_token(scope) {
                Some(current) if !current.expires_within(REFRESH_MARGIN) => Ok(current),
                // None: the first call to this scope's API since the sign-in.
                _ => {
                    self.refresh_locked(&mut cache, scope).await?;
                    cache.refreshed(scope)
                }
            }
        })
    }

    fn refresh<'a>(&'a self, scope: &'a str, rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async move {
            let mut cache = self.state.lock().await;
            // Another task may have refreshed while this one waited for the lock.
            let current = cache.access_token(scope);
            if current.is_none_or(|current| current.same_secret(rejected)) {
                self.refresh_locked(&mut cache, scope).await?;
            }
            cache.refreshed(scope)
        })
    }
}

/// The cache file. No `Debug`: it holds tokens.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    authority: String,
    tenant: String,
    client_id: String,
    refresh_token: Option<String>,
    /// The access token of each scope asked for since the sign-in.
    #[serde(default)]
    tokens: BTreeMap<String, ScopedToken>,
    /// The Referrals API's access token, as caches written before `tokens` kept it: read,
    /// moved into `tokens` and never written again.
    #[serde(default, skip_serializing)]
    access_token: Option<String>,
    #[serde(default, skip_serializing)]
    expires_at: Option<u64>,
}

/// One scope's access token in the cache.
#[derive(Serialize, Deserialize)]
struct ScopedToken {
    access_token: String,
    /// Seconds since the Unix epoch.
    expires_at: Option<u64>,
}

impl CacheFile {
    /// Moves the access token of an older cache into `tokens`.
    fn migrate(&mut self) {
        if let Some(access_token) = self.access_token.take() {
            let expires_at = self.expires_at.take();
            let token = ScopedToken {
                access_token,
                expires_at,
            };
            self.tokens
                .entry(PARTNER_CENTER_SCOPE.to_owned())
                .or_insert(token);
        }
    }

    fn access_token(&self, scope: &str) -> Option<AccessToken> {
        self.tokens.get(scope).map(|token| {
            let expires_at = token
                .expires_at
                .map(|s| UNIX_EPOCH + Duration::from_secs(s));
            AccessToken::new(token.access_token.clone(), expires_at)
        })
    }

    /// The token of `scope` that a refresh has just stored.
    fn refreshed(&self, scope: &str) -> Result<AccessToken, AuthError> {
        self.access_token(scope).ok_or_else(|| {
            AuthError::Service(format!("the sign-in service sent no token for {scope}"))
        })
    }

    fn update(&mut self, scope: &str, response: &BasicTokenResponse) {
        // Entra ID may rotate the refresh token; keep the old one when it does not send one.
        if let Some(refresh) = response.refresh_token() {
            self.refresh_token = Some(refresh.secret().clone());
        }
        let expires_at = response.expires_in().and_then(|lifetime| {
            (SystemTime::now() + lifetime)
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs())
        });
        let access_token = response.access_token().secret().clone();
        let token = ScopedToken {
            access_token,
            expires_at,
        };
        self.tokens.insert(scope.to_owned(), token);
    }

    /// Writes the cache atomically (a temporary file renamed over it), readable by its owner
    /// only, in a directory only its owner can enter.
    fn write(&self, path: &Path) -> Result<(), AuthError> {
        let cache_error =
            |e: std::io::Error| AuthError::Cache(format!("cannot write {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(cache_error)?;
        }
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temporary).and_then(|mut file| {
            let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
            file.write_all(&json)?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&temporary, path)) {
            let _ = fs::remove_file(&temporary);
            return Err(cache_error(e));
        }
        Ok(())
    }
}

/// Entra ID's device code answer carries a ready-made `message` for the user.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct EntraDeviceFields {
    message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for EntraDeviceFields {}

type EntraClient =
    BasicClient<EndpointNotSet, EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn entra_client(authority: &str, tenant: &str, client_id: &str) -> Result<EntraClient, AuthError> {
    let endpoint = |leaf: &str| format!("{authority}/{tenant}/oauth2/v2.0/{leaf}");
    let bad_url = |e| AuthError::Service(format!("bad authority URL {authority:?}: {e}"));
    Ok(BasicClient::new(ClientId::new(client_id.to_owned()))
        // A public client: the client id goes in the body, there is no secret.
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(endpoint("devicecode")).map_err(bad_url)?,
        )
        .set_token_uri(TokenUrl::new(endpoint("token")).map_err(bad_url)?))
}

/// oauth2's HTTP client, on this crate's reqwest (redirects off: a token request must not be
/// sent anywhere else).
struct OAuthHttp(reqwest::Client);

impl OAuthHttp {
    fn new() -> Result<Self, AuthError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map(Self)
            .map_err(|e| AuthError::Service(format!("cannot build the HTTP client: {e}")))
    }
}

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let mut answer = HttpResponse::new(response.bytes().await?.to_vec());
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok(answer)
        })
    }
}

/// oauth2's errors, without anything that could hold a token (a body that failed to parse),
/// and with what the sign-in service wrote on one bounded line.
fn token_error<T: oauth2::ErrorResponse>(error: RequestTokenError<reqwest::Error, T>) -> AuthError {
    let shown = |text: &str| text::excerpt(text, SHOWN_CHARS).to_string();
    match error {
        RequestTokenError::ServerResponse(response) => {
            AuthError::Rejected(shown(&response.to_string()))
        }
        RequestTokenError::Request(e) => {
            AuthError::Service(format!("cannot reach the sign-in service: {e}"))
        }
        RequestTokenError::Parse(e, _body) => AuthError::Service(format!(
            "unreadable answer from the sign-in service at `{}`",
            shown(&e.path().to_string())
        )),
        RequestTokenError::Other(message) => AuthError::Service(shown(&message)),
    }
}
