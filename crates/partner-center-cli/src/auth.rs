//! Signing in: `login`, `logout`, and where a command's token comes from.

use std::path::{Path, PathBuf};

use partner_center::auth::{
    CachedToken, DeviceCodeLogin, PARTNER_CENTER_SCOPE, StaticToken, TokenProvider, WEBHOOKS_SCOPE,
    default_cache_path,
};
use partner_center::text::{SHOWN_CHARS, excerpt};

use crate::failure::Failure;

/// The token cache to use: `--token-cache`, else the user's cache directory.
pub(crate) fn cache_path(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    flag.or_else(default_cache_path)
        .ok_or(Failure::NoCacheDirectory)
}

/// Runs the device code sign-in, telling the user on stderr what to do, and caches the tokens.
pub(crate) async fn login(
    tenant: &str,
    client_id: &str,
    authority: &str,
    cache: &Path,
) -> Result<String, Failure> {
    DeviceCodeLogin::new(tenant, client_id)
        .authority(authority)
        .cache_path(cache)
        // What Entra ID sent, made safe for the terminal.
        .login(|prompt| match &prompt.message {
            Some(message) => eprintln!("{}", excerpt(message, SHOWN_CHARS)),
            None => eprintln!(
                "To sign in, open {} and enter the code {}",
                excerpt(&prompt.verification_uri, SHOWN_CHARS),
                excerpt(&prompt.user_code, SHOWN_CHARS)
            ),
        })
        .await?;
    Ok(format!("Signed in; tokens cached in {}", cache.display()))
}

/// Forgets the cached sign-in.
pub(crate) fn logout(cache: &Path) -> Result<String, Failure> {
    match CachedToken::remove(cache)? {
        true => Ok(format!("Signed out; removed {}", cache.display())),
        false => Ok("Not signed in; nothing to remove".to_owned()),
    }
}

/// The tokens for a command: `--token` / `PARTNER_CENTER_TOKEN` (the Referrals API's) and
/// `--webhooks-token` / `PARTNER_CENTER_WEBHOOKS_TOKEN` (the webhook registration API's) if
/// either is given, else the cached sign-in (refreshed as needed, one token each API).
pub(crate) fn provider(
    referrals: Option<String>,
    webhooks: Option<String>,
    cache: Option<PathBuf>,
) -> Result<Box<dyn TokenProvider>, Failure> {
    let given = [
        (PARTNER_CENTER_SCOPE, referrals),
        (WEBHOOKS_SCOPE, webhooks),
    ];
    let mut given = given
        .into_iter()
        .filter_map(|(scope, token)| Some((scope, token?)));
    if let Some((scope, token)) = given.next() {
        let tokens = given.fold(
            StaticToken::for_scope(scope, token),
            |tokens, (scope, token)| tokens.with(scope, token),
        );
        return Ok(Box::new(tokens));
    }
    let cache = cache_path(cache)?;
    if !cache.exists() {
        return Err(Failure::NoToken);
    }
    let tokens = CachedToken::load(cache)?;
    Ok(Box::new(tokens))
}
