//! App+User sign-in end to end: the device code flow, the token cache, refreshes, and the
//! token kept out of everything that is printed or logged.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use partner_center::auth::{
    AuthError, CachedToken, DeviceCodeLogin, PARTNER_CENTER_SCOPE, StaticToken, TokenProvider,
    WEBHOOKS_SCOPE,
};
use partner_center::operations::{Arguments, Call};
use partner_center::{Error, PartnerCenter};
use partner_center_tests::*;
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const ACCESS_1: &str = "access-token-one-7d1e";
const ACCESS_2: &str = "access-token-two-a9c4";
const REFRESH_1: &str = "refresh-token-one-52bf";
const REFRESH_2: &str = "refresh-token-two-0e77";

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

fn token_response(access: &str, refresh: &str, expires_in: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "scope": "https://api.partner.microsoft.com/user_impersonation",
        "expires_in": expires_in,
        "access_token": access,
        "refresh_token": refresh,
    }))
}

/// A fresh, not yet existing cache path in a directory of its own.
fn cache_path() -> PathBuf {
    std::env::temp_dir()
        .join(format!("partner-center-auth-{}", uuid::Uuid::new_v4()))
        .join("token.json")
}

/// An Entra ID double: the device code, one `authorization_pending`, then tokens.
async fn entra(expires_in: i64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains("offline_access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "device-code-secret",
            "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": "To sign in, use a web browser to open https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("device_code=device-code-secret"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "authorization_pending",
            "error_description": "AADSTS70016: pending"
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("device_code=device-code-secret"))
        .respond_with(token_response(ACCESS_1, REFRESH_1, expires_in))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn login(server: &MockServer, cache: &PathBuf) -> CachedToken {
    let shown = Arc::new(Mutex::new(None));
    let seen = shown.clone();
    let tokens = DeviceCodeLogin::new(TENANT, CLIENT_ID)
        .authority(server.uri())
        .cache_path(cache)
        .login(move |prompt| *seen.lock().unwrap() = Some(prompt.clone()))
        .await
        .unwrap();
    let prompt = shown.lock().unwrap().clone().expect("the prompt was shown");
    assert_eq!(prompt.user_code, "ABCD-EFGH");
    assert_eq!(prompt.verification_uri, "https://microsoft.com/devicelogin");
    assert!(prompt.message.unwrap().contains("ABCD-EFGH"));
    tokens
}

#[tokio::test]
async fn device_code_login_writes_a_private_cache_and_serves_its_token() {
    let server = entra(3600).await;
    let cache = cache_path();

    let tokens = login(&server, &cache).await;

    let token = tokens.token(PARTNER_CENTER_SCOPE).await.unwrap();
    assert_eq!(token.secret().expose_secret(), ACCESS_1);
    assert!(!format!("{tokens:?} {token:?}").contains(ACCESS_1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "cache mode {mode:o}");
        let dir = std::fs::metadata(cache.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir & 0o077, 0, "cache directory mode {dir:o}");
    }
    // A later process loads the cache without signing in again.
    let loaded = CachedToken::load(&cache).unwrap();
    assert_eq!(
        loaded
            .token(PARTNER_CENTER_SCOPE)
            .await
            .unwrap()
            .secret()
            .expose_secret(),
        ACCESS_1
    );
    assert!(CachedToken::remove(&cache).unwrap());
    assert!(matches!(
        CachedToken::load(&cache),
        Err(AuthError::Missing(_))
    ));
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_once_for_all_concurrent_tasks() {
    // Expires in 60 s: inside the refresh margin, so the first use refreshes it.
    let server = entra(60).await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={REFRESH_1}")))
        .respond_with(token_response(ACCESS_2, REFRESH_2, 3600))
        .expect(1)
        .mount(&server)
        .await;
    let cache = cache_path();
    let tokens = Arc::new(login(&server, &cache).await);

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token(PARTNER_CENTER_SCOPE).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().secret().expose_secret(), ACCESS_2);
    }

    // The rotated refresh token was written back.
    let saved = std::fs::read_to_string(&cache).unwrap();
    assert!(saved.contains(REFRESH_2) && saved.contains(ACCESS_2));
    server.verify().await;
}

#[tokio::test]
async fn a_401_refreshes_through_the_cache_and_the_call_succeeds() {
    let server = entra(3600).await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(token_response(ACCESS_2, REFRESH_2, 3600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {ACCESS_1}")))
        .respond_with(json_response(
            401,
            r#"{"error":{"code":"unauthenticated","message":"Token revoked."}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(referral_path(OFFICIAL_ID)))
        .and(header("authorization", format!("Bearer {ACCESS_2}")))
        .respond_with(json_response(200, OFFICIAL_EXAMPLE))
        .mount(&server)
        .await;
    let client = signed_in_client(&server).await;

    let referral = client.referrals().get(OFFICIAL_ID).await.unwrap();

    assert_eq!(referral.id.as_deref(), Some(OFFICIAL_ID));
    server.verify().await;
}

#[tokio::test]
async fn a_revoked_refresh_token_is_an_auth_error_without_secrets() {
    let server = entra(60).await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": format!(
                "AADSTS700082: The refresh token has expired due to inactivity.\r\n\u{1b}[2J{}",
                "x".repeat(4000)
            )
        })))
        .mount(&server)
        .await;
    let client = signed_in_client(&server).await;

    let err = client.referrals().get(OFFICIAL_ID).await.unwrap_err();

    let Error::Auth(AuthError::Rejected(reason)) = &err else {
        panic!("{err:?}")
    };
    assert!(
        reason.contains("invalid_grant") && reason.contains("AADSTS700082"),
        "{reason}"
    );
    // What Entra ID wrote is shown on one inert, bounded line.
    assert!(!reason.chars().any(char::is_control), "{reason:?}");
    assert!(reason.contains(r"inactivity.\r\n\u{1b}[2J"), "{reason}");
    assert!(
        reason.len() < 1024 && reason.ends_with(" more characters]"),
        "{reason}"
    );
    let shown = format!("{err} {err:?}");
    for secret in [ACCESS_1, REFRESH_1, "device-code-secret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

/// The `Authorization` values `server` received.
async fn bearers(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    let values = requests
        .iter()
        .filter_map(|r| r.headers.get("authorization"));
    values
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .collect()
}

/// The webhook registration API's event list, through `client`.
async fn webhook_events(client: &PartnerCenter) -> partner_center::Result<serde_json::Value> {
    let call = Call::new("listWebhookEvents", Arguments::new())?;
    Ok(client
        .execute(&call)
        .await?
        .into_inner()
        .json
        .unwrap_or_default())
}

#[tokio::test]
async fn each_api_gets_the_token_of_its_own_audience_from_one_sign_in() {
    const WEBHOOKS_ACCESS: &str = "access-token-webhooks-33f0";
    let entra_and_referrals = entra(3600).await;
    // The sign-in's refresh token, redeemed for the other audience on its first call.
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            "api.partnercenter.microsoft.com%2F.default",
        ))
        .respond_with(token_response(WEBHOOKS_ACCESS, REFRESH_2, 3600))
        .expect(1)
        .mount(&entra_and_referrals)
        .await;
    Mock::given(method("GET"))
        .and(path(referral_path(OFFICIAL_ID)))
        .respond_with(json_response(200, OFFICIAL_EXAMPLE))
        .mount(&entra_and_referrals)
        .await;
    let webhooks = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/webhooks/v1/registration/events"))
        .respond_with(json_response(
            200,
            r#"["referral-created","referral-updated"]"#,
        ))
        .mount(&webhooks)
        .await;
    let cache = cache_path();
    let client = PartnerCenter::builder()
        .base_url(entra_and_referrals.uri())
        .document_base_url("webhooks", webhooks.uri())
        .token_provider(login(&entra_and_referrals, &cache).await)
        .build()
        .unwrap();

    client.referrals().get(OFFICIAL_ID).await.unwrap();
    let events = webhook_events(&client).await.unwrap();
    let events_again = webhook_events(&client).await.unwrap();
    client.referrals().get(OFFICIAL_ID).await.unwrap();

    assert_eq!(events, json!(["referral-created", "referral-updated"]));
    assert_eq!(events, events_again);
    let expected = format!("Bearer {WEBHOOKS_ACCESS}");
    assert_eq!(bearers(&webhooks).await, [expected.clone(), expected]);
    let expected = format!("Bearer {ACCESS_1}");
    assert_eq!(
        bearers(&entra_and_referrals).await,
        [expected.clone(), expected]
    );
    // Both are cached, apart: a later process needs no refresh for either.
    let loaded = CachedToken::load(&cache).unwrap();
    for (scope, expected) in [
        (PARTNER_CENTER_SCOPE, ACCESS_1),
        (WEBHOOKS_SCOPE, WEBHOOKS_ACCESS),
    ] {
        let token = loaded.token(scope).await.unwrap();
        assert_eq!(token.secret().expose_secret(), expected, "{scope}");
    }
    entra_and_referrals.verify().await;
}

#[tokio::test]
async fn a_token_is_never_sent_to_another_api_than_its_own() {
    let referrals = MockServer::start().await;
    let webhooks = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_response(200, "[]"))
        .mount(&webhooks)
        .await;
    let client = |tokens: StaticToken| {
        PartnerCenter::builder()
            .base_url(referrals.uri())
            .document_base_url("webhooks", webhooks.uri())
            .token_provider(tokens)
            .build()
            .unwrap()
    };

    // The Referrals API's token only: the webhooks call fails before anything is sent.
    let err = webhook_events(&client(StaticToken::new("referrals-only")))
        .await
        .unwrap_err();
    let Error::Auth(AuthError::Missing(why)) = &err else {
        panic!("{err:?}")
    };
    assert!(why.contains(WEBHOOKS_SCOPE), "{why}");
    assert!(!err.to_string().contains("referrals-only"), "{err}");
    assert!(webhooks.received_requests().await.unwrap().is_empty());

    let both = StaticToken::new("referrals-only").with(WEBHOOKS_SCOPE, "webhooks-only");
    webhook_events(&client(both)).await.unwrap();
    assert_eq!(bearers(&webhooks).await, ["Bearer webhooks-only"]);
    assert!(referrals.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_cache_written_before_scopes_still_serves_its_token() {
    let cache = cache_path();
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let old = json!({
        "authority": "https://login.microsoftonline.com", "tenant": TENANT,
        "client_id": CLIENT_ID, "access_token": ACCESS_1, "refresh_token": REFRESH_1,
        "expires_at": 4_102_444_800u64
    });
    std::fs::write(&cache, old.to_string()).unwrap();

    let loaded = CachedToken::load(&cache).unwrap();

    let token = loaded.token(PARTNER_CENTER_SCOPE).await.unwrap();
    assert_eq!(token.secret().expose_secret(), ACCESS_1);
}

/// A client of `server` signed in through `server`'s Entra ID double.
async fn signed_in_client(server: &MockServer) -> PartnerCenter {
    let tokens = login(server, &cache_path()).await;
    PartnerCenter::builder()
        .base_url(server.uri())
        .token_provider(tokens)
        .retry(fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_logs_tell_the_story_of_a_call_and_never_show_a_token() {
    let captured = Captured::default();
    let _guard = captured.install();

    let server = entra(3600).await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(token_response(ACCESS_2, REFRESH_2, 3600))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {ACCESS_1}")))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {ACCESS_2}")))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after-ms", "10"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", format!("Bearer {ACCESS_2}")))
        .respond_with(json_response(200, OFFICIAL_EXAMPLE))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = signed_in_client(&server).await;

    client.referrals().get(OFFICIAL_ID).await.unwrap();

    let logs = captured.text();
    for expected in [
        "operation=\"get_referral\"",
        "client_request_id=",
        "token refreshed after a 401",
        "outcome=503",
        "retrying",
        "outcome=200",
    ] {
        assert!(
            logs.contains(expected),
            "{expected:?} missing from:\n{logs}"
        );
    }
    for secret in [
        ACCESS_1,
        ACCESS_2,
        REFRESH_1,
        REFRESH_2,
        "device-code-secret",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
