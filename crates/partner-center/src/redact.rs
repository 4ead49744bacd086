//! What may be logged of a request: an allow-list, so that nothing new leaks by default.

use std::borrow::Cow;

/// Query parameters whose values are logged; any other value (`$filter` can hold customer
/// emails) is replaced by `[redacted]`.
const LOGGED_QUERY: &[&str] = &[
    "$top",
    "$skip",
    "$orderby",
    "$select",
    "$count",
    "$skiptoken",
];

/// `path?query` of `url` for logs, with the values of unlisted query parameters redacted.
pub(crate) fn url(url: &reqwest::Url) -> String {
    let mut shown = url.path().to_owned();
    let mut separator = '?';
    for (name, value) in url.query_pairs() {
        let value: Cow<'_, str> = if LOGGED_QUERY.contains(&name.as_ref()) {
            value
        } else {
            Cow::Borrowed("[redacted]")
        };
        shown.push(separator);
        shown.push_str(&name);
        shown.push('=');
        shown.push_str(&value);
        separator = '&';
    }
    shown
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_listed_query_values_are_shown() {
        let url = reqwest::Url::parse(
            "https://h/v1.0/engagements/referrals?$filter=team/any(t:t/email%20eq%20'a@b.com')&$top=5&code=xyz",
        )
        .unwrap();
        assert_eq!(
            super::url(&url),
            "/v1.0/engagements/referrals?$filter=[redacted]&$top=5&code=[redacted]"
        );
        let bare = reqwest::Url::parse("https://h/v1.0/engagements/referrals/abc").unwrap();
        assert_eq!(super::url(&bare), "/v1.0/engagements/referrals/abc");
    }
}
