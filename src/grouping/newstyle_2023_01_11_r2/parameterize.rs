//! Message parameterisation: ids, numbers, addresses and dates become placeholders, so
//! "User 42 not found" and "User 43 not found" group together (PROTOCOL.md §5.1.1). The first
//! config's, plus the date forms Sentry's snapshots show it reads (`Wed Apr 17 22:31:45 2019`).

use std::sync::LazyLock;

use regex::{Captures, Regex};

// Trimming is the first config's (frozen; copy it here before changing it for this one).
use crate::grouping::newstyle_2023_01_11::parameterize::split_lines;

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
            // ANSI C / Unix `date` ("Wed Apr 17 22:31:45 2019", "Wed Apr 17 22:31:45 UTC 2019")
            // and "Mon Jan 02, 1999" first, then ISO 8601, RFC 1123, dates and times alone.
            r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?: [A-Z]{2,5})? \d{4}\b|\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-3]\d, \d{2,4}\b|\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2,4} \d{2}:\d{2}:\d{2} (?:[A-Z]{2,5}|[+-]\d{4})|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?\b|datetime\.datetime\([^)]*\)",
        ),
        ("duration", r"\b\d+ms\b|\b\d+(?:\.\d+)?s\b"),
        // `0x…`, or 8 to 128 hex digits of one case with a digit among them (checked after the
        // match: the regex crate has no look-ahead): 8 digits and up are ids, not counts.
        ("hex", r"\b0[xX][0-9a-fA-F]+\b|\b[0-9a-f]{8,128}\b|\b[0-9A-F]{8,128}\b"),
        // Seven lowercase hex digits mixing letters and digits: an abbreviated git sha.
        ("git_sha", r"\b[0-9a-f]{7}\b"),
        ("float", r"-\d+\.\d+\b|\b\d+\.\d+\b"),
        ("int", r"-\d{1,7}\b|\b\d{1,7}\b"),
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
    "git_sha",
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
            let text = &caps[0];
            let has_digit = || text.bytes().any(|b| b.is_ascii_digit());
            let has_letter = || text.bytes().any(|b| b.is_ascii_alphabetic());
            match name {
                // What the look-aheads of Sentry's patterns rule out: all letters (a word).
                "hex" if !text.starts_with("0x") && !text.starts_with("0X") && !has_digit() => text.to_string(),
                // Seven digits alone are what `int` would have matched.
                "git_sha" if !has_letter() => "<int>".to_string(),
                "git_sha" if !has_digit() => text.to_string(),
                "quoted_str" | "bool" => format!("=<{name}>"),
                _ => format!("<{name}>"),
            }
        })
        .into_owned()
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
    fn eight_digits_and_up_are_ids_and_seven_mixed_hex_digits_a_git_sha() {
        // Sentry's `parameterization.py`: `int` is at most 7 digits, `hex` 8 to 128 hex digits of
        // one case with a digit among them (snapshot `message_with_key_pair_values`).
        assert_eq!(normalize("job 1234567 of 123456789"), "job <int> of <hex>");
        assert_eq!(
            normalize("build a1b2c3d, word deadbeef, id DEADBEEF01, mixed DeadBeef01, abcdefg"),
            "build <git_sha>, word deadbeef, id <hex>, mixed DeadBeef01, abcdefg"
        );
    }

    #[test]
    fn unix_and_month_name_dates_are_dates() {
        assert_eq!(
            normalize("Wed Apr 17 22:31:45 2019: login failed"),
            "<date>: login failed"
        );
        assert_eq!(normalize("at Wed Apr  7 22:31:45 UTC 2019 ok"), "at <date> ok");
        assert_eq!(normalize("since Mon Jan 02, 1999"), "since <date>");
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
