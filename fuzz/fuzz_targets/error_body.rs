//! The SDK's error for an answer it cannot use: an error status with a body in any of the
//! three error shapes (or none), or a success whose body is not a referral. Properties: no
//! panic; its report (`Display` and causes) is one line with nothing left to escape, and bounded whatever the body
//! size; the call's token appears in neither `Display` nor `Debug`, not even in part.

#![no_main]

use std::borrow::Cow;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use partner_center::error::Report;
use partner_center::fuzzing::answer_error;
use partner_center::text::{SHOWN_CHARS, one_line};
use partner_center_fuzz::{Gen, Input, Shape, input};

/// The token of raw inputs; structured ones make their own.
const TOKEN: &str = "FUZZTOKENSECRETVALUEXYZ";
/// The shortest token the SDK masks (`redact::MIN_SECRET_CHARS`): a shown piece of the token at
/// least this long is a leak.
const MIN_SECRET_CHARS: usize = 8;
/// The pieces of service text a `Display` shows: code, message (or body), challenge,
/// `Request-ID`, and the decode error's message and body excerpt.
const SHOWN_PIECES: usize = 6;
/// The longest `Display`: each piece at most `SHOWN_CHARS` characters, a character at most
/// 10 bytes once escaped (`\u{10ffff}`), plus the fixed text around them.
const MAX_SHOWN_BYTES: usize = SHOWN_PIECES * SHOWN_CHARS * 10 + 1024;

const STATUSES: &[u16] = &[200, 201, 400, 401, 403, 404, 409, 412, 429, 500, 502, 503];

static SERVICE_ERROR: [(&str, Shape); 4] = [
    ("code", Shape::Text),
    ("message", Shape::Text),
    ("target", Shape::Text),
    ("innerError", Shape::Object(&SERVICE_ERROR)),
];
static REFERRALS_SHAPE: [(&str, Shape); 1] = [("error", Shape::Object(&SERVICE_ERROR))];
static PARTNER_CENTER_SHAPE: [(&str, Shape); 4] = [
    ("code", Shape::Any),
    ("description", Shape::Text),
    ("data", Shape::Any),
    ("source", Shape::Text),
];
static THROTTLING_SHAPE: [(&str, Shape); 2] =
    [("statusCode", Shape::Whole), ("message", Shape::Text)];

/// One answer and the call it came to.
struct Answer {
    status: u16,
    body: Vec<u8>,
    token: String,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    www_authenticate: Option<String>,
}

fn answer(data: &[u8]) -> Answer {
    match input(data) {
        Input::Raw(raw) => Answer {
            status: STATUSES[raw.len() % STATUSES.len()],
            body: raw.to_vec(),
            token: TOKEN.into(),
            request_id: None,
            retry_after: None,
            www_authenticate: None,
        },
        Input::Structured(mut g) => {
            // An uppercase token: nothing but service text can put an uppercase run in a
            // `Display`, so a piece of it there comes from the token or from the answer.
            let len = g.int(MIN_SECRET_CHARS..=64);
            let token: String = (0..len)
                .map(|_| char::from(b'A' + g.int(0..=25) as u8))
                .collect();
            g.token = Some(token.clone());
            let status = match g.int(0..=3) {
                0 => g.int(100..=999) as u16,
                _ => g.pick(STATUSES),
            };
            let body = body(&mut g);
            let request_id = g.flag().then(|| g.text());
            let retry_after = g
                .flag()
                .then(|| Duration::from_millis(g.int(0..=usize::MAX) as u64));
            let www_authenticate = g.flag().then(|| g.text());
            Answer {
                status,
                body,
                token,
                request_id,
                retry_after,
                www_authenticate,
            }
        }
    }
}

fn body(g: &mut Gen) -> Vec<u8> {
    let json = match g.int(0..=9) {
        0..=2 => g.object(&REFERRALS_SHAPE, 0),
        3 | 4 => g.object(&PARTNER_CENTER_SHAPE, 0),
        5 | 6 => g.object(&THROTTLING_SHAPE, 0),
        7 => g.any(0),
        8 => return format!("<html><body>{}</body></html>", g.text()).into_bytes(),
        _ => return g.bytes(),
    };
    let bytes = json.to_bytes();
    g.maybe_cut(bytes)
}

fuzz_target!(|data: &[u8]| {
    let answer = answer(data);
    let Some(error) = answer_error(
        answer.status,
        &answer.body,
        &answer.token,
        answer.request_id.clone(),
        answer.retry_after,
        answer.www_authenticate.clone(),
    ) else {
        return;
    };
    // The error and its causes (the service's answer is the source), as the CLI shows them.
    let shown = Report::new(&error).to_string();
    let debug = format!("{error:?}");

    assert!(
        matches!(one_line(&shown), Cow::Borrowed(_)),
        "not one escaped line: {shown:?}"
    );
    assert!(
        shown.len() <= MAX_SHOWN_BYTES,
        "{} bytes shown: {shown:?}",
        shown.len()
    );
    assert!(!shown.contains(&answer.token), "token shown: {shown:?}");
    assert!(!debug.contains(&answer.token), "token in Debug: {debug:?}");
    if let Some(piece) = leaked_piece(&shown, &answer) {
        panic!("{piece:?}, a piece of the token, is shown: {shown:?}");
    }
});

/// A piece of the token (at least [`MIN_SECRET_CHARS`] long) that `shown` holds although the
/// answer has it only inside the token itself: what is left of a token cut in two.
fn leaked_piece(shown: &str, answer: &Answer) -> Option<String> {
    let token = &answer.token;
    // The texts an answer puts in an error, the token taken out of each.
    let mut texts = vec![String::from_utf8_lossy(&answer.body).into_owned()];
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
        strings(&json, &mut texts);
    }
    texts.extend(answer.request_id.clone());
    texts.extend(answer.www_authenticate.clone());
    let texts: Vec<String> = texts.iter().map(|t| t.replace(token, "\0")).collect();
    let chars: Vec<char> = token.chars().collect();
    chars.windows(MIN_SECRET_CHARS).find_map(|window| {
        let piece: String = window.iter().collect();
        (shown.contains(&piece) && !texts.iter().any(|t| t.contains(&piece))).then_some(piece)
    })
}

/// Every string and key in `json`.
fn strings(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(fields) => {
            for (name, value) in fields {
                out.push(name.clone());
                strings(value, out);
            }
        }
        _ => {}
    }
}
