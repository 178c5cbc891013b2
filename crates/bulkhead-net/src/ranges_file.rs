//! Ranges files: an IPAM export (NetBox's prefixes, a spreadsheet) with one
//! `CIDR,OWNER` per line, `#` comments and blank lines, checked beside the
//! fleet's own ranges by `net check --ranges`.

use std::path::Path;

use bulkhead_model::{Code, Diagnostic, Span};

use crate::{OwnedRange, RangeKind, Source};

/// A line of a ranges file that does not parse.
pub const RANGES_SYNTAX: Code = Code::new("ranges-syntax");

/// Parses a ranges file's text; `path` names it in diagnostics. Every bad
/// line is reported, not only the first.
///
/// # Errors
/// One diagnostic per line that is not `CIDR,OWNER`.
pub fn parse_ranges(path: &Path, text: &str) -> Result<Vec<OwnedRange>, Vec<Diagnostic>> {
    let mut ranges = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut fields = content.splitn(3, [',', '\t']).map(str::trim);
        let (cidr, owner) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        let span = Span { start, end: start + line.trim_end().len(), line: i + 1, column: 1 };
        match cidr.parse::<ipnet::IpNet>() {
            Ok(net) if !owner.is_empty() => {
                ranges.push(OwnedRange::new(owner, RangeKind::External, net, Source::Imported))
            }
            Ok(_) => problems.push(
                Diagnostic::error(RANGES_SYNTAX, path, Some(span), "the range has no owner")
                    .with_hint("write `CIDR,OWNER`, such as `10.20.0.0/16,office-berlin`"),
            ),
            // A header line, as exports have: only the first line may be one.
            Err(_) if i == 0 && (cidr.eq_ignore_ascii_case("prefix") || cidr.eq_ignore_ascii_case("cidr")) => {}
            Err(_) => problems.push(
                Diagnostic::error(RANGES_SYNTAX, path, Some(span), format!("`{cidr}` is not a CIDR"))
                    .with_hint("write `CIDR,OWNER`, such as `10.20.0.0/16,office-berlin`"),
            ),
        }
    }
    if problems.is_empty() { Ok(ranges) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_comments_and_every_bad_line() {
        let text = "prefix,owner\n10.0.0.0/8,corp # the lot\n\n10.1.0.0/16\nnope,x\n";
        let bad = parse_ranges(Path::new("r.csv"), text).unwrap_err();
        assert_eq!(bad.iter().map(|d| d.span.unwrap().line).collect::<Vec<_>>(), [4, 5]);
        let ok = parse_ranges(Path::new("r.csv"), "cidr,owner\n10.0.0.0/8,corp\n").unwrap();
        assert_eq!(ok.len(), 1);
    }

    proptest::proptest! {
        /// Any text: ranges or diagnostics whose spans lie inside the text.
        #[test]
        fn any_text_parses_or_is_reported(text in "(?s).{0,200}") {
            match parse_ranges(Path::new("r.csv"), &text) {
                Ok(_) => {}
                Err(ds) => for d in ds {
                    let span = d.span.unwrap();
                    proptest::prop_assert!(span.start <= span.end && span.end <= text.len());
                }
            }
        }
    }
}
