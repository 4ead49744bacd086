//! What the sandbox's tests share.

#![allow(dead_code)] // Each test file uses its own part.

use partner_center_sandbox::Sandbox;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Response};
use serde_json::{Value, json};

/// The official example response, as the api crate carries it.
pub const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;

/// A referral that can be created: the four required fields and a few more.
pub fn new_referral() -> Value {
    json!({
        "name": "Fabrikam - Microsoft 365",
        "type": "Independent",
        "externalReferenceId": "CRM-000042",
        "customerProfile": {
            "name": "Fabrikam Inc",
            "address": {"country": "US", "city": "Redmond"}
        },
        "consent": {"consentToContact": true},
        "details": {"dealValue": 25000, "currency": "USD", "notes": "Roll-out"},
        "team": [{"email": "adele.vance@contoso.example"}]
    })
}

/// The path of a referral whose id is already percent-encoded (or needs no encoding).
pub fn referral_path(encoded_id: &str) -> String {
    format!("/v1.0/engagements/referrals/{encoded_id}")
}

/// Sends `method path` to the sandbox at `base_url`, with `Authorization: Bearer sandbox`
/// unless `token` is `None`.
pub async fn send(base_url: &str, method: Method, path: &str, token: Option<&str>) -> Response {
    let mut request = Client::new().request(method, format!("{base_url}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the sandbox answers")
}

/// `GET path` with a token.
pub async fn get(base_url: &str, path: &str) -> Response {
    send(base_url, Method::GET, path, Some("sandbox")).await
}

/// `value` as the JSON text of a snapshot (`insta::assert_snapshot!`), written by serde_json so
/// that numbers show their exact digits: under serde_json's `arbitrary_precision`, which the
/// models enable, insta's own serializer sees a number as a
/// `{"$serde_json::private::Number": "..."}` struct.
pub fn snapshot_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value")
}

/// A header as text.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header"))
}

/// Whether `text` is a lowercase hyphenated GUID.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

/// A sandbox with 25 generated referrals: quicker to start than the default, for tests that
/// do not page.
pub async fn small() -> Sandbox {
    sandbox(25).await
}

/// A sandbox with `count` generated referrals (besides the official example).
pub async fn sandbox(count: usize) -> Sandbox {
    Sandbox::builder()
        .referral_count(count)
        .start()
        .await
        .expect("the sandbox starts")
}

/// What [`extended_spec`] adds to the `/v1.0/engagements/referrals/{id}` path: the deprecated
/// `PUT` (`replaceReferral`), whose first example (as written; not the first by name) is a
/// short referral.
const REPLACE_REFERRAL: &str = r##"    put:
      operationId: replaceReferral
      deprecated: true
      summary: Replace a referral (deprecated; update it with PATCH)
      parameters:
        - name: If-Match
          in: header
          required: true
          schema:
            $ref: "#/components/schemas/ETag"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/Referral"
      responses:
        "200":
          description: The replaced referral.
          headers:
            Request-ID:
              $ref: "#/components/headers/RequestId"
            client-request-id:
              $ref: "#/components/headers/ClientRequestId"
            ETag:
              description: The referral's new version.
              required: true
              schema:
                type: string
              example: '"3f00ec5a-0000-0000-0000-5bf4967d0000"'
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Referral"
              examples:
                replaced:
                  value:
                    id: c5fbb3b6-be74-4795-9fb5-4324c73fed37
                    status: Active
                    substatus: Accepted
                    type: Independent
                    customerProfile:
                      name: Fabrikam Customer Inc
                    eTag: '"3f00ec5a-0000-0000-0000-5bf4967d0000"'
                official:
                  $ref: "#/components/examples/OfficialReferral"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "500":
          $ref: "#/components/responses/InternalServerError"
"##;

/// The paths [`extended_spec`] adds: a GET with query parameters only, whose answer has no
/// example (the sandbox makes one from the schema), on a literal path beside
/// `/v1.0/engagements/referrals/{id}`; a POST answered 204.
const NEW_PATHS: &str = r##"  /v1.0/engagements/referrals/summary:
    get:
      operationId: summarizeReferrals
      summary: Count referrals by status
      parameters:
        - name: top
          in: query
          required: true
          schema:
            type: integer
            format: int32
            minimum: 1
            maximum: 10
          example: 5
        - name: status
          in: query
          schema:
            $ref: "#/components/schemas/ReferralStatus"
        - name: includeClosed
          in: query
          schema:
            type: boolean
      responses:
        "200":
          description: How many referrals there are of each status.
          headers:
            Request-ID:
              $ref: "#/components/headers/RequestId"
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/ReferralSummary"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
  /v1.0/engagements/referrals/{id}/acknowledge:
    parameters:
      - $ref: "#/components/parameters/ReferralId"
    post:
      operationId: acknowledgeReferral
      summary: Acknowledge a referral
      responses:
        "204":
          description: Acknowledged.
          headers:
            Request-ID:
              $ref: "#/components/headers/RequestId"
        "401":
          $ref: "#/components/responses/Unauthorized"
"##;

/// The schemas of the answer of `summarizeReferrals`.
const NEW_SCHEMAS: &str = r##"    ReferralSummary:
      type: object
      required: [total, status, asOf, byStatus]
      properties:
        total:
          type: integer
          format: int64
          minimum: 0
        status:
          $ref: "#/components/schemas/ReferralStatus"
        asOf:
          type: string
          format: date-time
        byStatus:
          type: array
          items:
            $ref: "#/components/schemas/StatusCount"
        currency:
          $ref: "#/components/schemas/CurrencyCode"
        note:
          type: string
          nullable: true
    StatusCount:
      type: object
      required: [status, count]
      properties:
        status:
          type: string
          enum: [New, Active, Closed]
        count:
          type: integer
          minimum: 1
"##;

/// `text` with `anchor` replaced by `with`; the anchor must be there once.
pub fn edited(text: &str, anchor: &str, with: &str) -> String {
    assert_eq!(text.matches(anchor).count(), 1, "{anchor:?}");
    text.replacen(anchor, with, 1)
}

/// The built-in spec with three more operations, served from the spec: `replaceReferral`
/// (`PUT /v1.0/engagements/referrals/{id}`), `summarizeReferrals` (`GET
/// /v1.0/engagements/referrals/summary`) and `acknowledgeReferral` (`POST
/// /v1.0/engagements/referrals/{id}/acknowledge`, 204).
pub fn extended_spec() -> String {
    let spec = partner_center_api::spec::OPENAPI_YAML;
    let patch = "    patch:\n      operationId: updateReferral\n";
    let spec = edited(spec, patch, &format!("{REPLACE_REFERRAL}{patch}"));
    let spec = edited(
        &spec,
        "\ncomponents:\n",
        &format!("{NEW_PATHS}\ncomponents:\n"),
    );
    edited(
        &spec,
        "\n  schemas:\n",
        &format!("\n  schemas:\n{NEW_SCHEMAS}"),
    )
}

/// A sandbox serving `spec` as the `partner-center` document.
pub async fn serving(spec: &str) -> Sandbox {
    Sandbox::builder()
        .referral_count(3)
        .document("partner-center", spec)
        .start()
        .await
        .expect("the sandbox starts")
}
