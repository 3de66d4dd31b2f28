//! Bounds on untrusted text. Every cut of a message's text goes through here, so a bound never
//! splits a character (which would panic or leave a broken string).

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a character boundary.
pub fn prefix(s: &str, max_bytes: usize) -> &str {
    &s[..s.floor_char_boundary(max_bytes)]
}

/// Untrusted text (a subject, a sender) made safe to print on one line of a list: control
/// characters and the Unicode bidirectional controls (which can make a line read backwards in a
/// mail program) become spaces, runs of whitespace one space, and the result is at most
/// `max_bytes` bytes, ending in `…` when it was cut.
pub fn one_line(s: &str, max_bytes: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let folded = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.len() <= max_bytes {
        return folded;
    }
    let ellipsis = '…';
    let cut = prefix(&folded, max_bytes.saturating_sub(ellipsis.len_utf8()));
    format!("{}{ellipsis}", cut.trim_end())
}

/// The Unicode bidirectional formatting characters (embeddings, overrides, isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strips_controls_and_bounds_the_text() {
        let table = [
            ("Out of office", 50, "Out of office"),
            ("a\r\nb\tc\u{0}d", 50, "a b c d"),
            ("x\u{202E}gpj.exe", 50, "x gpj.exe"),
            ("  spaced   out  ", 50, "spaced out"),
            ("abcdefghij", 8, "abcde…"),
            ("ééééé", 7, "éé…"),
            ("", 5, ""),
        ];
        for (input, max, want) in table {
            let got = one_line(input, max);
            assert_eq!(got, want, "{input:?}");
            assert!(got.len() <= max, "{input:?}");
        }
    }

    #[test]
    fn prefix_never_splits_a_character() {
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix("aé", 3), "aé");
        assert_eq!(prefix("\u{e9}\u{e9}", 3), "\u{e9}");
        assert_eq!(prefix("ab", 5), "ab");
        assert_eq!(prefix("\u{20AC}", 2), "");
        assert_eq!(prefix("", 0), "");
    }
}
