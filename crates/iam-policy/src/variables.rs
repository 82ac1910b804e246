//! Policy variables (`${aws:username}`, `${aws:PrincipalAccount}`, `${*}`, `${key, 'default'}`)
//! in `Resource` and condition values, substituted from the request context before matching.
//! Only `Version: 2012-10-17` documents have variables; older ones match `${...}` literally.

use crate::context::RequestContext;
use crate::pattern::Tok;

/// Turns `text` into a pattern, substituting its variables from `ctx` (when `vars`) and
/// treating `*`/`?` as wildcards (when `wildcards`). Substituted text is literal. `None`
/// when a variable is absent from the request and has no default: AWS then treats the
/// value as not matching.
pub(crate) fn resolve(
    text: &str,
    ctx: &RequestContext,
    vars: bool,
    wildcards: bool,
) -> Option<Vec<Tok>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if vars && rest.starts_with("${") {
            if let Some(end) = rest.find('}') {
                let inner = &rest[2..end];
                out.extend(substitute(inner, ctx)?.chars().map(Tok::Char));
                rest = &rest[end + 1..];
                continue;
            }
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(match c {
            '*' if wildcards => Tok::Star,
            '?' if wildcards => Tok::One,
            c => Tok::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

/// One variable's value: the special characters, a context key, or its default.
fn substitute(inner: &str, ctx: &RequestContext) -> Option<String> {
    match inner.trim() {
        "*" => return Some("*".into()),
        "?" => return Some("?".into()),
        "$" => return Some("$".into()),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(d);
            (k.trim(), Some(d.to_string()))
        }
        None => (inner.trim(), None),
    };
    match ctx.get(key) {
        // A multivalued key is not a variable AWS substitutes.
        Some([one]) => Some(one.clone()),
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RequestPrincipal;
    use crate::pattern::matches;

    fn ctx() -> RequestContext {
        RequestContext::new(RequestPrincipal::user("111122223333", "alice"))
    }

    #[test]
    fn substitutes_and_keeps_text_literal() {
        let p = resolve("arn:aws:s3:::b/${aws:username}/*", &ctx(), true, true).expect("var");
        assert!(matches(&p, "arn:aws:s3:::b/alice/x", false));
        assert!(!matches(&p, "arn:aws:s3:::b/bob/x", false));
        let p = resolve("a${*}b", &ctx(), true, true).expect("star");
        assert!(matches(&p, "a*b", false));
        assert!(!matches(&p, "axb", false));
    }

    #[test]
    fn missing_variables_use_their_default_or_do_not_match() {
        assert!(resolve("${aws:SourceArn}", &ctx(), true, true).is_none());
        let p = resolve("${aws:SourceArn, 'none'}", &ctx(), true, true).expect("default");
        assert!(matches(&p, "none", false));
    }

    #[test]
    fn old_versions_take_text_literally() {
        let p = resolve("${aws:username}", &ctx(), false, true).expect("literal");
        assert!(matches(&p, "${aws:username}", false));
    }
}
