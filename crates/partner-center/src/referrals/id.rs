//! Referral ids: what can travel as one path segment.

use crate::error::{Error, Result};

/// Refuses an id that cannot travel as exactly one path segment of the URL.
pub(crate) fn checked_id(id: &str) -> Result<&str> {
    let problem = if id.is_empty() {
        "is empty"
    } else if id.trim().is_empty() {
        "is blank"
    } else if id.trim() != id {
        "has leading or trailing whitespace"
    } else if id == "." || id == ".." {
        // URL parsing resolves dot segments, even percent-encoded ones.
        "is a dot segment"
    } else if id.contains('\\') {
        // http URLs treat a backslash as a path separator.
        "contains a backslash"
    } else if id.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(id);
    };
    Err(Error::InvalidInput(format!("referral id {id:?} {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_one_path_segment_are_accepted() {
        for id in [
            "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
            "a/b",
            "a b",
            "%41",
            "?x#y",
            "...",
            "\u{e9}",
        ] {
            assert_eq!(checked_id(id).unwrap(), id);
        }
    }

    #[test]
    fn ids_that_cannot_be_one_segment_are_refused() {
        for (id, problem) in [
            ("", "is empty"),
            ("   ", "is blank"),
            (" abc", "leading or trailing whitespace"),
            (".", "dot segment"),
            ("..", "dot segment"),
            ("a\\b", "backslash"),
            ("a\u{0}b", "control character"),
            ("a\nb", "control character"),
        ] {
            let err = checked_id(id).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.contains(problem)),
                "{id:?}: {err}"
            );
        }
    }
}
