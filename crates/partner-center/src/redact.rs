//! What may be shown of a request and of what came back, in logs and in errors alike: query
//! values only where the spec marks the parameter `x-loggable`, so that nothing new leaks by
//! default, and never a token.

use std::borrow::Cow;

use partner_center_api as api;
use secrecy::{ExposeSecret, SecretString};

/// Whether the value of the query parameter `name` is shown: only when the spec marks it
/// `x-loggable` wherever an operation of any of its documents has it. Any other value (`$filter` can hold customer
/// emails) is replaced by `[redacted]`, so nothing new leaks by default.
fn shown_query(name: &str) -> bool {
    let mut found = api::spec::DOCUMENTS
        .iter()
        .flat_map(|document| document.operations)
        .flat_map(|operation| operation.parameters)
        .filter(|p| p.location == api::operation::Location::Query && p.name == name)
        .peekable();
    found.peek().is_some() && found.all(|p| p.loggable)
}

/// The shortest token looked for in text. Real ones (JWTs) are hundreds of characters.
const MIN_SECRET_CHARS: usize = 8;

/// What replaces a value that is not shown.
pub(crate) const REDACTED: &str = "[redacted]";

/// The query of `url` with the values of unlisted parameters redacted, if it has one.
fn query(url: &reqwest::Url) -> Option<String> {
    url.query()?;
    let pairs = url.query_pairs().map(|(name, value)| {
        let value = if shown_query(&name) {
            value
        } else {
            Cow::Borrowed(REDACTED)
        };
        format!("{name}={value}")
    });
    Some(pairs.collect::<Vec<_>>().join("&"))
}

/// `path?query` of `url` for logs, with the values of unlisted query parameters redacted.
pub(crate) fn path_and_query(url: &reqwest::Url) -> String {
    match query(url) {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `url` as errors show it: whole, but with the query redacted as in logs, and without any
/// user name or password.
pub(crate) fn redact_url(url: &mut reqwest::Url) {
    let query = query(url);
    url.set_query(query.as_deref());
    // Both fail only for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// A link from the service as errors show it: redacted like a URL when it is one.
pub(crate) fn link(link: &str) -> String {
    match reqwest::Url::parse(link) {
        Ok(mut url) => {
            redact_url(&mut url);
            url.into()
        }
        // A relative link: shown against a placeholder base, then without it.
        Err(_) => match reqwest::Url::parse("relative:/").and_then(|base| base.join(link)) {
            Ok(url) => path_and_query(&url),
            Err(_) => link.to_owned(),
        },
    }
}

/// Masks secrets in text that came back from the network: the call's own token wherever it
/// appears (a gateway page that reflects the request headers), and the value of anything
/// that reads `Bearer <value>`.
///
/// A token shorter than [`MIN_SECRET_CHARS`] (a sandbox's `t`) is not looked for: it is no
/// secret, and masking it would garble every word that holds it.
#[derive(Clone, Debug)]
pub(crate) struct Secrets {
    token: SecretString,
}

impl Secrets {
    pub(crate) fn new(token: SecretString) -> Self {
        Self { token }
    }

    /// `text` with every secret replaced by `[redacted]`; borrowed when there is none.
    pub(crate) fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let token = self.token.expose_secret();
        let text = if token.len() >= MIN_SECRET_CHARS && text.contains(token) {
            Cow::Owned(text.replace(token, REDACTED))
        } else {
            Cow::Borrowed(text)
        };
        match bearer_values(&text) {
            None => text,
            Some(masked) => Cow::Owned(masked),
        }
    }

    /// [`Secrets::mask`] for `text` that is the start of a longer text cut after it (an
    /// excerpt): the start of a token the cut went through is masked too, when it is as long
    /// as a token looked for.
    pub(crate) fn mask_cut<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let masked = self.mask(text);
        let token = self.token.expose_secret();
        if token.len() < MIN_SECRET_CHARS {
            return masked;
        }
        // The earliest (so the longest) end of `masked` that the token starts with.
        let earliest = masked.len().saturating_sub(token.len() - 1);
        let latest = masked.len().checked_sub(MIN_SECRET_CHARS);
        let start = latest.and_then(|latest| {
            (earliest..=latest)
                .find(|&i| masked.is_char_boundary(i) && token.starts_with(&masked[i..]))
        });
        match start {
            None => masked,
            Some(start) => Cow::Owned(format!("{}{REDACTED}", &masked[..start])),
        }
    }
}

/// `text` with the value after each `Bearer ` (any case) masked, or `None` when there is none.
fn bearer_values(text: &str) -> Option<String> {
    const WORD: &str = "bearer";
    let lower = text.to_ascii_lowercase();
    let mut masked = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(WORD) {
        let after = from + found + WORD.len();
        from = after;
        let spaces = text[after..].len() - text[after..].trim_start_matches([' ', '\t']).len();
        let value_start = after + spaces;
        let value_len = text[value_start..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(text.len() - value_start);
        let value = &text[value_start..value_start + value_len];
        // A word such as "bearers", "Bearer" with nothing after it, and the parameters of a
        // challenge (`Bearer realm="", error="invalid_token"`) hide nothing.
        let parameter = text[value_start + value_len..].starts_with('"')
            || value.trim_end_matches('=').contains('=');
        if spaces == 0 || value.is_empty() || parameter {
            continue;
        }
        masked.push_str(&text[copied..value_start]);
        masked.push_str(REDACTED);
        copied = value_start + value_len;
        from = copied;
    }
    if copied == 0 {
        return None;
    }
    masked.push_str(&text[copied..]);
    Some(masked)
}

/// The characters of an RFC 6750 bearer token (`b64token`).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_query_values_the_spec_marks_loggable_are_shown() {
        let url = reqwest::Url::parse(
            "https://h/v1.0/engagements/referrals?$filter=team/any(t:t/email%20eq%20'a@b.com')&$top=5&code=xyz",
        )
        .unwrap();
        assert_eq!(
            path_and_query(&url),
            "/v1.0/engagements/referrals?$filter=[redacted]&$top=5&code=[redacted]"
        );
        let bare = reqwest::Url::parse("https://h/v1.0/engagements/referrals/abc").unwrap();
        assert_eq!(path_and_query(&bare), "/v1.0/engagements/referrals/abc");
    }

    #[test]
    fn urls_in_errors_keep_the_host_and_lose_credentials_and_unlisted_values() {
        let mut url = reqwest::Url::parse(
            "https://me:pw@h:8443/v1.0/engagements/referrals?$filter=email%20eq%20'a@b.com'&$skiptoken=abc",
        )
        .unwrap();
        redact_url(&mut url);
        assert_eq!(
            url.as_str(),
            "https://h:8443/v1.0/engagements/referrals?$filter=[redacted]&$skiptoken=abc"
        );
        assert_eq!(
            link("/v1.0/engagements/referrals?$filter=x&$top=5"),
            "/v1.0/engagements/referrals?$filter=[redacted]&$top=5"
        );
    }

    #[test]
    fn the_token_and_bearer_values_are_masked() {
        let secrets = Secrets::new("eyJ0eXAi.payload.sig".into());
        for (text, masked) in [
            (
                "authorization: Bearer eyJ0eXAi.payload.sig\nhost: h",
                "authorization: Bearer [redacted]\nhost: h",
            ),
            ("token=eyJ0eXAi.payload.sig;", "token=[redacted];"),
            (
                "AUTHORIZATION: bearer   other-token== x",
                "AUTHORIZATION: bearer   [redacted] x",
            ),
            ("<td>Bearer</td><td>abc</td>", "<td>Bearer</td><td>abc</td>"),
            ("bearers of news", "bearers of news"),
            ("Bearer", "Bearer"),
            (
                r#"Bearer realm="", error="invalid_token", error_description="expired""#,
                r#"Bearer realm="", error="invalid_token", error_description="expired""#,
            ),
            ("Bearer error=invalid_token", "Bearer error=invalid_token"),
            ("Bearer abc/def+ghi==, next", "Bearer [redacted], next"),
            ("nothing here", "nothing here"),
        ] {
            assert_eq!(secrets.mask(text), masked, "{text:?}");
        }
        assert!(matches!(secrets.mask("plain"), Cow::Borrowed(_)));

        // An excerpt that ends inside the token.
        for (cut, masked) in [
            ("page: eyJ0eXAi.payl", "page: [redacted]"),
            ("page: eyJ0eXAi.payload.si", "page: [redacted]"),
            ("eyJ0eXAi.payload.sig eyJ0eXAi", "[redacted] [redacted]"),
            // Shorter than a token looked for: no more than the start of any word.
            ("page: eyJ0eXA", "page: eyJ0eXA"),
            ("page: \u{e9}eyJ0", "page: \u{e9}eyJ0"),
        ] {
            assert_eq!(secrets.mask_cut(cut), masked, "{cut:?}");
        }
        assert!(matches!(secrets.mask_cut("plain text"), Cow::Borrowed(_)));
        let short = Secrets::new("t".into());
        assert_eq!(short.mask("itemNotFound"), "itemNotFound");
    }
}
