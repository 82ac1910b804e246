//! IAM's wildcard patterns: `*` (any run of characters, empty included) and `?` (exactly
//! one character), used by `Action`, `Resource`, `StringLike` and `ArnLike`. A pattern is a
//! sequence of tokens so that text substituted from a policy variable stays literal:
//! `${aws:username}` resolving to `a*` matches only `a*`.

/// One token of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Char(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    One,
}

/// Compiles a literal-free pattern: every `*` and `?` is a wildcard.
pub(crate) fn compile(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Char(c),
        })
        .collect()
}

/// Text as a pattern of literal characters only.
#[cfg(test)]
pub(crate) fn literal(text: &str) -> Vec<Tok> {
    text.chars().map(Tok::Char).collect()
}

fn eq(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.to_lowercase().eq(b.to_lowercase()))
}

/// Whether `text` matches the whole pattern. Linear-time backtracking over the last `*`
/// (the classic two-pointer glob match), so adversarial patterns cannot blow up.
pub(crate) fn matches(pattern: &[Tok], text: &str, fold_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Tok::Char(c)) if eq(*c, text[t], fold_case) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|tok| *tok == Tok::Star)
}

/// Splits a compiled ARN pattern at its first five colons (the sixth part, the resource,
/// may hold colons of its own), or `None` when it has fewer than six parts.
fn arn_parts(pattern: &[Tok]) -> Option<Vec<&[Tok]>> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, tok) in pattern.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *tok == Tok::Char(':') {
            parts.push(&pattern[start..i]);
            start = i + 1;
        }
    }
    if parts.len() < 5 {
        return None;
    }
    parts.push(&pattern[start..]);
    Some(parts)
}

/// ARN matching as IAM does it for `Resource` and the `Arn*` operators: each of the six
/// colon-separated parts is matched on its own, case-sensitively, so a wildcard never spans
/// a part boundary (`arn:aws:*` is not `arn:aws:lambda:...`); a pattern of fewer than six
/// parts matches only as `*` does.
pub(crate) fn arn_matches(pattern: &[Tok], arn: &str) -> bool {
    if pattern == [Tok::Star] {
        return true;
    }
    let Some(pparts) = arn_parts(pattern) else {
        return false;
    };
    let aparts: Vec<&str> = arn.splitn(6, ':').collect();
    if aparts.len() != 6 {
        return false;
    }
    pparts.iter().zip(aparts).all(|(p, a)| matches(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, t: &str) -> bool {
        matches(&compile(p), t, false)
    }

    #[test]
    fn globs() {
        assert!(m("*", ""));
        assert!(m("a*", "abc"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*b*", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("a*c*e", "abcde"));
        assert!(!m("a*c*e", "abcdf"));
        assert!(matches(&compile("lambda:get*"), "lambda:GetFunction", true));
        assert!(!matches(
            &compile("lambda:get*"),
            "lambda:GetFunction",
            false
        ));
    }

    #[test]
    fn substituted_text_is_literal() {
        let mut p = compile("arn:aws:s3:::b/");
        p.extend(literal("a*"));
        assert!(matches(&p, "arn:aws:s3:::b/a*", false));
        assert!(!matches(&p, "arn:aws:s3:::b/ab", false));
    }

    #[test]
    fn arns_match_part_by_part() {
        let a = "arn:aws:lambda:us-east-1:000000000000:function:f:prod";
        assert!(arn_matches(&compile("*"), a));
        assert!(arn_matches(&compile("arn:aws:lambda:*:*:function:f:*"), a));
        assert!(arn_matches(&compile("arn:aws:lambda:*:*:function:*"), a));
        assert!(!arn_matches(&compile("arn:aws:lambda:*:*:function:f"), a));
        // A wildcard does not span parts.
        assert!(!arn_matches(&compile("arn:aws:*"), a));
        assert!(!arn_matches(&compile("arn:aws:lambda*:function:f:prod"), a));
        assert!(arn_matches(&compile("arn:aws:lambda:us-east-?:*:*"), a));
        // Case-sensitive.
        assert!(!arn_matches(&compile("arn:aws:lambda:*:*:function:F:*"), a));
    }

    proptest! {
        #[test]
        fn a_star_matches_everything(t in ".{0,40}") {
            prop_assert!(m("*", &t));
        }

        #[test]
        fn a_literal_matches_itself(t in "[a-z:/]{0,30}") {
            prop_assert!(matches(&literal(&t), &t, false));
        }

        #[test]
        fn prefix_star_matches_extensions(p in "[a-z]{0,10}", s in "[a-z*?]{0,10}") {
            let pat = format!("{}*", p);
            let text = format!("{}{}", p, s);
            prop_assert!(m(&pat, &text));
        }
    }
}
