//! Projects, their slugs and DSN keys: the types, their rules, how a DSN is spelt, and the
//! cache through which ingest, the API and the UI look keys up.

mod keys;

pub use keys::KeyCache;

use std::fmt;

/// A project slug: 1–50 characters of `[a-z0-9-]`, not starting with `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, String> {
        let valid = !s.is_empty()
            && s.len() <= 50
            && !s.starts_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Slug(s.to_string()))
        } else {
            Err(format!(
                "invalid project slug {s:?}: use 1-50 characters of lowercase letters, digits and '-', not starting with '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DSN public key. Tocsin issues 32 lowercase hex characters, as Relay expects; it accepts
/// any key it finds in its database, so keys imported from Sentry keep working.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicKey(String);

impl PublicKey {
    pub fn generate() -> PublicKey {
        PublicKey(random_hex(16))
    }

    /// Validates a key given on the command line (`project create --key`).
    pub fn parse(s: &str) -> Result<PublicKey, String> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(PublicKey(s.to_string()))
        } else {
            Err(format!(
                "invalid public key {s:?}: expected 32 lowercase hex characters"
            ))
        }
    }

    /// Wraps a key read from a request or the database, unchecked: lookups decide.
    pub fn from_untrusted(s: &str) -> PublicKey {
        PublicKey(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project as the rest of Tocsin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// `http://KEY@host:port[/prefix]/PROJECT_ID` from the public base URL.
pub fn dsn(public_url: &str, key: &PublicKey, project_id: i64) -> String {
    let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
    let rest = rest.trim_end_matches('/');
    format!("{scheme}://{key}@{rest}/{project_id}")
}

/// `n` random bytes as lowercase hex, from the operating system's generator.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS generator failing is not something to recover from: keys would be guessable.
    getrandom::fill(&mut buf).expect("the operating system's random generator is unavailable");
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_letters_digits_and_dashes() {
        assert!(Slug::parse("my-app-2").is_ok());
        for bad in ["", "My-App", "my_app", "-app", "a b", &"x".repeat(51)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_dsn_puts_the_key_in_the_userinfo_and_keeps_a_path_prefix() {
        let key = PublicKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            dsn("https://errors.example.com/sentry/", &key, 42),
            "https://0123456789abcdef0123456789abcdef@errors.example.com/sentry/42"
        );
        assert_eq!(
            dsn("http://127.0.0.1:8000", &key, 1),
            "http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1"
        );
    }

    #[test]
    fn generated_keys_are_32_lowercase_hex_and_differ() {
        let a = PublicKey::generate();
        assert!(PublicKey::parse(a.as_str()).is_ok());
        assert_ne!(a, PublicKey::generate());
    }
}

/// Parses a count limit typed by a person (CLI flag, form field): blank, `default` or `off`
/// clear it (`None`); otherwise a whole number from 1 to 1,000,000,000.
pub fn parse_count_limit(name: &str, text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if matches!(text.to_ascii_lowercase().as_str(), "" | "default" | "off" | "none") {
        return Ok(None);
    }
    match text.replace(['_', ','], "").parse::<i64>() {
        Ok(n) if (1..=1_000_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{name} must be a whole number from 1 to 1000000000, or blank/default/off; got {text:?}"
        )),
    }
}

/// Parses an age limit in days: blank, `default` or `off` clear it; otherwise a number of days
/// above 0 and at most 36,500 (fractions allowed: 0.5 is twelve hours).
pub fn parse_days_limit(name: &str, text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if matches!(text.to_ascii_lowercase().as_str(), "" | "default" | "off" | "none") {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(d) if d > 0.0 && d <= 36_500.0 => Ok(Some(d)),
        _ => Err(format!(
            "{name} must be a number of days above 0 and at most 36500, or blank/default; got {text:?}"
        )),
    }
}

#[cfg(test)]
mod limit_tests {
    use super::{parse_count_limit, parse_days_limit};

    #[test]
    fn limits_accept_numbers_and_words_that_clear_them() {
        assert_eq!(parse_count_limit("max_events", "10_000"), Ok(Some(10_000)));
        assert_eq!(parse_count_limit("max_events", " default "), Ok(None));
        assert_eq!(parse_count_limit("rate_limit", "off"), Ok(None));
        assert_eq!(parse_days_limit("max_age_days", "0.5"), Ok(Some(0.5)));
        assert_eq!(parse_days_limit("max_age_days", ""), Ok(None));
    }

    #[test]
    fn limits_refuse_zero_negatives_and_words() {
        for bad in ["0", "-5", "ten", "1.5", "99999999999"] {
            assert!(
                parse_count_limit("max_events", bad).unwrap_err().contains("max_events"),
                "{bad}"
            );
        }
        for bad in ["0", "-1", "NaN", "inf", "40000"] {
            assert!(parse_days_limit("max_age_days", bad).is_err(), "{bad}");
        }
    }
}
