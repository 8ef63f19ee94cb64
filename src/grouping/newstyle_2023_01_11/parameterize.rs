//! Message parameterisation: ids, numbers, addresses and dates become placeholders, so
//! "User 42 not found" and "User 43 not found" group together (PROTOCOL.md §5.1.1).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// One alternation, tried left to right at each position: the first kind that matches wins.
/// `quoted_str` and `bool` count only right after `=`, which they keep.
static PARAMETERS: LazyLock<Regex> = LazyLock::new(|| {
    let kinds: &[(&str, &str)] = &[
        ("email", r"[a-zA-Z0-9._%+\-]+@[a-zA-Z0-9.\-]+\.[a-zA-Z]{2,}"),
        ("url", r"\b(?:https?|wss?|ftp)://[^\s/$.?#][^\s]*"),
        (
            "hostname",
            r"\b(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?\.)+(?:com|net|org|io|edu|gov|mil|int|info|biz|dev|cloud|uk|de|fr|jp|cn|ru|br|nl|es|ca|au|eu|us|ch|se|no|pl|local|internal)\b",
        ),
        (
            "ip",
            r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\b|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:)+:(?:[0-9a-fA-F]{1,4}:)*[0-9a-fA-F]{1,4}\b|::1\b",
        ),
        (
            "uuid",
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        ),
        ("sha1", r"\b[0-9a-fA-F]{40}\b"),
        ("md5", r"\b[0-9a-fA-F]{32}\b"),
        (
            "date",
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2,4} \d{2}:\d{2}:\d{2} (?:[A-Z]{2,5}|[+-]\d{4})|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?\b|datetime\.datetime\([^)]*\)",
        ),
        ("duration", r"\b\d+ms\b|\b\d+(?:\.\d+)?s\b"),
        ("hex", r"\b0[xX][0-9a-fA-F]+\b"),
        ("float", r"-\d+\.\d+\b|\b\d+\.\d+\b"),
        ("int", r"-\d+\b|\b\d+\b"),
        ("quoted_str", r#"=(?:'[^']*'|"[^"]*")"#),
        ("bool", r"=(?:true|false|True|False)\b"),
    ];
    let pattern = kinds
        .iter()
        .map(|(name, re)| format!("(?P<{name}>{re})"))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&pattern).expect("the parameter patterns compile")
});

const NAMES: &[&str] = &[
    "email",
    "url",
    "hostname",
    "ip",
    "uuid",
    "sha1",
    "md5",
    "date",
    "duration",
    "hex",
    "float",
    "int",
    "quoted_str",
    "bool",
];

/// The first two non-empty lines, parameterised. As in Sentry, `...` marks any change the
/// trimming made, even a dropped blank line or trailing newline: `"Disk full\n"` becomes
/// `"Disk full..."`, so it does not group with `"Disk full"`.
pub fn normalize(message: &str) -> String {
    let kept: Vec<&str> = split_lines(message).filter(|l| !l.trim().is_empty()).take(2).collect();
    let mut text = kept.join("\n");
    if text != message {
        text.push_str("...");
    }
    PARAMETERS
        .replace_all(&text, |caps: &Captures<'_>| {
            let name = NAMES
                .iter()
                .find(|n| caps.name(n).is_some())
                .copied()
                .unwrap_or("param");
            if matches!(name, "quoted_str" | "bool") {
                format!("=<{name}>")
            } else {
                format!("<{name}>")
            }
        })
        .into_owned()
}

/// Python's `str.splitlines()`, which Sentry trims with: every Unicode line boundary splits,
/// `\r\n` counts once, and a final boundary adds no empty line.
pub(in crate::grouping) fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some((at, boundary)) = rest.char_indices().find(|(_, c)| {
            matches!(
                c,
                '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
            )
        }) else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..at];
        let width = if rest[at..].starts_with("\r\n") {
            2
        } else {
            boundary.len_utf8()
        };
        rest = &rest[at + width..];
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn the_protocol_example_is_parameterised() {
        assert_eq!(
            normalize("User 42 not found at 10.0.0.1 (id=f47ac10b-58cc-4372-a567-0e02b2c3d479)"),
            "User <int> not found at <ip> (id=<uuid>)"
        );
    }

    #[test]
    fn each_kind_gets_its_placeholder() {
        let cases = [
            ("mail bob@example.org now", "mail <email> now"),
            ("GET https://api.example.com/v1/users?id=3 failed", "GET <url> failed"),
            ("cannot reach db.internal", "cannot reach <hostname>"),
            ("hash 0123456789abcdef0123456789abcdef0123abcd", "hash <sha1>"),
            ("token 0123456789abcdef0123456789abcdef", "token <md5>"),
            ("at 2026-11-24T17:59:23.697938Z", "at <date>"),
            ("took 1500ms or 1.5s", "took <duration> or <duration>"),
            ("address 0xdeadBEEF", "address <hex>"),
            ("ratio 0.75 and -3.5", "ratio <float> and <float>"),
            ("off by -1 of 12", "off by <int> of <int>"),
            ("where name='bob' and ok=true", "where name=<quoted_str> and ok=<bool>"),
            ("division by zero", "division by zero"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input}");
        }
    }

    #[test]
    fn only_the_first_two_non_empty_lines_count() {
        assert_eq!(normalize("first\n\nsecond\nthird"), "first\nsecond...");
        assert_eq!(normalize("first\nsecond"), "first\nsecond");
        assert_eq!(normalize("one line"), "one line");
    }

    #[test]
    fn any_change_made_by_trimming_is_marked() {
        assert_eq!(normalize("Disk full\n"), "Disk full...");
        assert_eq!(normalize("first\n\nsecond"), "first\nsecond...");
        assert_eq!(normalize("first\r\nsecond"), "first\nsecond...");
        assert_eq!(normalize("first\rsecond"), "first\nsecond...");
        assert_eq!(normalize("trailing spaces stay  "), "trailing spaces stay  ");
        assert_eq!(normalize(""), "");
    }
}
