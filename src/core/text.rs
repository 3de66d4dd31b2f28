//! Bounds on untrusted text. Every cut of a message's text goes through here, so a bound never
//! splits a character (which would panic or leave a broken string).

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a character boundary.
pub fn prefix(s: &str, max_bytes: usize) -> &str {
    &s[..s.floor_char_boundary(max_bytes)]
}

#[cfg(test)]
mod tests {
    use super::*;

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
