//! Text from the network made fit to show: on one line, with nothing a terminal would act on,
//! and bounded.
//!
//! The service (or a gateway in front of it) chooses every byte of an error message, a body
//! and a field value. Shown raw, a `\n` splits one error into several lines, and an escape
//! sequence (`ESC[2J`, `ESC]0;...BEL`) clears the screen or retitles the window. Errors of
//! this crate show service text through [`excerpt`]; a program printing service text itself
//! (a table of referrals, say) uses [`one_line`].

use std::borrow::Cow;
use std::fmt;

/// How many characters of one piece of service text an error shows.
pub const SHOWN_CHARS: usize = 512;

/// `text` with every character a terminal could act on written as an escape: `\n`, `\r`,
/// `\t`, and `\u{..}` for the other control characters (C0, DEL, C1, such as `ESC`), the
/// line and paragraph separators, and the bidirectional overrides that reorder what a reader
/// sees. Everything else is kept as it is, so the result is one line that reads as the
/// original. Text with nothing to escape is returned as it is, without copying.
///
/// ```
/// use partner_center::text::one_line;
///
/// assert_eq!(one_line("two\nlines"), "two\\nlines");
/// assert_eq!(one_line("\u{1b}[2Jcleared"), "\\u{1b}[2Jcleared");
/// assert_eq!(one_line("Fabrikam Customer Inc"), "Fabrikam Customer Inc");
/// ```
pub fn one_line(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(needs_escape) else {
        return Cow::Borrowed(text);
    };
    let mut shown = String::with_capacity(text.len() + 8);
    shown.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if needs_escape(c) => shown.extend(c.escape_unicode()),
            c => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

/// Whether a terminal (or a reader) could take `c` for something other than text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Line and paragraph separators.
            '\u{2028}' | '\u{2029}'
            // Bidirectional marks, embeddings, overrides and isolates.
            | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// At most `max_chars` characters of `text`, cut on a character boundary, as [`one_line`];
/// when cut, followed by how many characters were left out. For an error's `Display`.
///
/// ```
/// use partner_center::text::excerpt;
///
/// let message = "x".repeat(600);
/// let shown = excerpt(&message, 10).to_string();
/// assert_eq!(shown, "xxxxxxxxxx... [590 more characters]");
/// ```
pub fn excerpt(text: &str, max_chars: usize) -> Excerpt<'_> {
    let (kept, cut) = match text.char_indices().nth(max_chars) {
        Some((end, _)) => (&text[..end], text[end..].chars().count()),
        None => (text, 0),
    };
    Excerpt { kept, cut }
}

/// The start of a piece of service text, made fit to show ([`excerpt`]).
#[derive(Clone, Copy, Debug)]
pub struct Excerpt<'a> {
    kept: &'a str,
    cut: usize,
}

impl Excerpt<'_> {
    /// The same excerpt, saying that `more` characters were left out before it was made (a
    /// body already cut when it was read).
    pub(crate) fn with_cut(self, more: usize) -> Self {
        Self {
            cut: self.cut + more,
            ..self
        }
    }
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&one_line(self.kept))?;
        match self.cut {
            0 => Ok(()),
            1 => f.write_str("... [1 more character]"),
            n => write!(f, "... [{n} more characters]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_bidi_overrides_are_escaped() {
        for (raw, shown) in [
            ("a\nb\r\nc\td", "a\\nb\\r\\nc\\td"),
            ("\u{1b}]0;pwned\u{7}", "\\u{1b}]0;pwned\\u{7}"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("del\u{7f}", "del\\u{7f}"),
            ("nul\u{0}", "nul\\u{0}"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}iso\u{2069}", "\\u{2066}iso\\u{2069}"),
        ] {
            assert_eq!(one_line(raw), shown, "{raw:?}");
            assert!(!one_line(raw).chars().any(needs_escape));
        }
    }

    #[test]
    fn ordinary_text_is_kept_and_not_copied() {
        for text in [
            "",
            "Fabrikam Customer Inc",
            "caf\u{e9} \u{65e5}\u{672c}",
            "a\\nb",
            "\u{1f600}",
        ] {
            assert!(matches!(one_line(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = one_line("a\n\u{1b}b").into_owned();
        assert_eq!(one_line(&once), once);
    }

    #[test]
    fn excerpts_cut_on_a_character_boundary_and_say_how_much() {
        let text = "\u{e9}".repeat(SHOWN_CHARS + 3);
        let shown = excerpt(&text, SHOWN_CHARS).to_string();
        assert_eq!(
            shown,
            format!("{}... [3 more characters]", "\u{e9}".repeat(SHOWN_CHARS))
        );
        assert_eq!(excerpt("ab", 1).to_string(), "a... [1 more character]");
        assert_eq!(excerpt("ab", 2).to_string(), "ab");
        assert_eq!(excerpt("a\nb", 2).to_string(), "a\\n... [1 more character]");
        assert_eq!(
            excerpt("abc", 2).with_cut(10).to_string(),
            "ab... [11 more characters]"
        );
    }
}
