//! Label selectors as people write them (`app=web,tier!=cache`,
//! `env in (prod, staging)`, `!legacy`), read into kube-core's `Selector`
//! so the API server does the selecting (`ListParams::labels_from`) and
//! only what matches crosses the network.
//!
//! Written here because kube-core builds a `Selector` from typed
//! expressions or a `LabelSelector` but reads no text, and sending the
//! text unread would make a typo a failed list of every resource instead
//! of one clear error before any request. The syntax is the API server's
//! (`k8s.io/apimachinery/pkg/labels`): terms joined by commas; `key`,
//! `!key`, `key=value`, `key==value`, `key!=value`, `key in (v1, v2)`,
//! `key notin (v1, v2)`; keys are an optional DNS-subdomain prefix and `/`
//! and a name of at most 63 characters; values at most 63, possibly empty.

use std::collections::BTreeSet;

use kube::core::{Expression, Selector};

use crate::Error;

/// Reads a label selector.
///
/// # Errors
/// [`Error::Selector`], naming the term that is wrong and why.
pub fn parse(text: &str) -> Result<Selector, Error> {
    let bad = |why: String| Error::Selector { text: text.to_string(), why };
    let mut selector = Selector::default();
    if text.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    for term in split_terms(text).map_err(&bad)? {
        selector.extend([expression(term.trim()).map_err(|why| bad(format!("`{}`: {why}", term.trim())))?]);
    }
    Ok(selector)
}

/// The terms of `text`: split at the commas outside parentheses.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0u32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            '(' => return Err("a `(` inside a list".into()),
            ')' if depth == 1 => depth = 0,
            ')' => return Err("a `)` without its `(`".into()),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("a `(` without its `)`".into());
    }
    terms.push(&text[start..]);
    Ok(terms)
}

/// One term.
fn expression(term: &str) -> Result<Expression, String> {
    if term.is_empty() {
        return Err("an empty term (two commas, or one at an end)".into());
    }
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Expression::DoesNotExist(key_of(key.trim())?));
    }
    for (word, set_based) in [(" notin ", false), (" in ", true)] {
        if let Some((key, list)) = term.split_once(word) {
            let list = list.trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| format!("`{}` takes a list in parentheses: `(a, b)`", word.trim()))?;
            let values: BTreeSet<String> = inner.split(',').map(|v| value_of(v.trim())).collect::<Result<_, _>>()?;
            let key = key_of(key.trim())?;
            return Ok(if set_based { Expression::In(key, values) } else { Expression::NotIn(key, values) });
        }
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(Expression::NotEqual(key_of(key.trim())?, value_of(value.trim())?));
    }
    if let Some((key, value)) = term.split_once('=') {
        let value = value.strip_prefix('=').unwrap_or(value);
        return Ok(Expression::Equal(key_of(key.trim())?, value_of(value.trim())?));
    }
    Ok(Expression::Exists(key_of(term)?))
}

/// A name part: at most 63 of `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
fn name_ok(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain.
fn key_of(key: &str) -> Result<String, String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if prefix.len() > 253 || !prefix.split('.').all(label_ok) {
            return Err(format!("`{prefix}` is not a DNS subdomain (a label key's prefix)"));
        }
    }
    if !name_ok(name) {
        return Err(format!(
            "`{key}` is not a label key: at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
        ));
    }
    Ok(key.to_string())
}

/// A label value: empty, or a name part.
fn value_of(value: &str) -> Result<String, String> {
    if value.is_empty() || name_ok(value) {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not a label value: at most 63 letters, digits, `-`, `_` or `.`"))
    }
}

#[cfg(test)]
mod tests {
    use kube::core::SelectorExt;
    use proptest::prelude::*;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn every_form_of_the_syntax_reads_and_selects() {
        let s = parse("app=web, tier!=cache,env in (prod, staging), !legacy, team, zone notin (a)").unwrap();
        assert!(s.matches(&labels(&[("app", "web"), ("env", "prod"), ("team", "x"), ("zone", "b")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev"), ("team", "x")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("env", "prod"), ("team", "x"), ("legacy", "")])));
        assert!(parse("app==web").unwrap().matches(&labels(&[("app", "web")])));
        assert!(parse("example.com/role=db").is_ok());
        for bad in ["", "a,,b", "env in prod", "env in (a", "a)", "-a=b", "a=b c", "Bad_/x", &"k".repeat(64)] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("selector"), "{bad}: {e}");
        }
    }

    fn key() -> impl Strategy<Value = String> {
        ("(([a-z0-9]{1,8}\\.)?[a-z0-9]{1,8}/)?", "[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?")
            .prop_map(|(p, n)| format!("{p}{n}"))
    }

    fn value() -> impl Strategy<Value = String> {
        "([A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?)?"
    }

    fn expression() -> impl Strategy<Value = Expression> {
        prop_oneof![
            (key(), proptest::collection::btree_set(value(), 1..4)).prop_map(|(k, v)| Expression::In(k, v)),
            (key(), proptest::collection::btree_set(value(), 1..4)).prop_map(|(k, v)| Expression::NotIn(k, v)),
            (key(), value()).prop_map(|(k, v)| Expression::Equal(k, v)),
            (key(), value()).prop_map(|(k, v)| Expression::NotEqual(k, v)),
            key().prop_map(Expression::Exists),
            key().prop_map(Expression::DoesNotExist),
        ]
    }

    proptest! {
        /// What kube-core writes (and the API server reads) reads back the same.
        #[test]
        fn a_selector_reads_back_from_its_own_text(exprs in proptest::collection::vec(expression(), 1..5)) {
            let mut selector = Selector::default();
            selector.extend(exprs);
            let text = selector.to_string();
            prop_assert_eq!(parse(&text).unwrap(), selector, "{}", text);
        }

        /// Any text is a selector or an error that says which; a selector
        /// read from text writes out as text that reads the same.
        #[test]
        fn any_text_reads_or_is_refused(text in ".{0,60}") {
            if let Ok(s) = parse(&text) {
                prop_assert_eq!(parse(&s.to_string()).unwrap(), s);
            }
        }
    }
}
