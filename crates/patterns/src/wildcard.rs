//! The `wildcard` operator: `*` stands for any run of characters (none included), `\*` for
//! a literal star and `\\` for a literal backslash. As EventBridge documents and its
//! engine enforces, two stars in a row and any other escape are refused, the position
//! counted in UTF-8 bytes as Event Ruler counts it.

/// A compiled wildcard: the literal pieces between the stars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wildcard {
    /// `pieces.len()` is the number of stars plus one; a pattern without stars has one
    /// piece and matches only itself.
    pieces: Vec<String>,
}

impl Wildcard {
    pub(crate) fn parse(text: &str) -> Result<Wildcard, String> {
        let bytes = text.as_bytes();
        let mut pieces = vec![String::new()];
        let mut chars = text.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '*' => {
                    if bytes.get(pos + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {pos}"));
                    }
                    pieces.push(String::new());
                }
                '\\' => match chars.peek() {
                    Some(&(_, next @ ('*' | '\\'))) => {
                        last(&mut pieces).push(next);
                        chars.next();
                    }
                    _ => return Err(format!("Invalid escape character at pos {pos}")),
                },
                c => last(&mut pieces).push(c),
            }
        }
        Ok(Wildcard { pieces })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let (first, rest) = self.pieces.split_first().expect("at least one piece");
        let Some((end, middle)) = rest.split_last() else {
            return s == first;
        };
        if s.len() < first.len() + end.len() || !s.starts_with(first.as_str()) {
            return false;
        }
        if !s.ends_with(end.as_str()) {
            return false;
        }
        // Between the fixed ends, each middle piece taken at its leftmost place leaves the
        // most room for the ones after it, so a greedy scan decides the match.
        let mut window = &s[first.len()..s.len() - end.len()];
        for piece in middle {
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

fn last(pieces: &mut [String]) -> &mut String {
    pieces.last_mut().expect("at least one piece")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(p: &str) -> Wildcard {
        Wildcard::parse(p).expect("valid wildcard")
    }

    #[test]
    fn stars_match_any_run() {
        assert!(w("dir/*.png").matches("dir/a.png"));
        assert!(w("dir/*.png").matches("dir/.png"));
        assert!(!w("dir/*.png").matches("dir/a.jpg"));
        assert!(w("*/lib/*").matches("/usr/lib/x"));
        assert!(!w("*/lib/*").matches("/usr/libx"));
        assert!(w("a*b*c").matches("abc"));
        assert!(w("a*b*c").matches("a-b-b-c"));
        assert!(!w("a*b*c").matches("ac"));
        assert!(!w("ab*ba").matches("aba"), "the ends must not overlap");
        assert!(w("*").matches(""));
        assert!(w("exact").matches("exact"));
        assert!(!w("exact").matches("exactly"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(w(r"a\*b").matches("a*b"));
        assert!(!w(r"a\*b").matches("axb"));
        assert!(w(r"a\\*").matches(r"a\anything"));
    }

    #[test]
    fn malformed_wildcards_are_refused() {
        assert_eq!(
            Wildcard::parse("ab**c").expect_err("consecutive"),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            Wildcard::parse(r"a\b").expect_err("bad escape"),
            "Invalid escape character at pos 1"
        );
        assert_eq!(
            Wildcard::parse(r"ab\").expect_err("trailing escape"),
            "Invalid escape character at pos 2"
        );
    }

    proptest! {
        #[test]
        fn a_star_between_two_literals_matches_any_middle(
            a in "[a-z]{0,5}", mid in "[a-z*]{0,8}", b in "[a-z]{0,5}"
        ) {
            let pattern = Wildcard::parse(&format!("{a}*{b}")).expect("valid");
            let text = format!("{a}{mid}{b}");
            prop_assert!(pattern.matches(&text));
        }

        #[test]
        fn without_stars_only_equal_strings_match(p in "[a-c]{0,4}", s in "[a-c]{0,4}") {
            prop_assert_eq!(Wildcard::parse(&p).expect("valid").matches(&s), p == s);
        }
    }
}
