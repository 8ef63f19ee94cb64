//! Event timestamps arrive as float epoch seconds (JS, Rust) or RFC 3339 strings with or without
//! an offset or a fraction (Python, raven). Internally they are float epoch seconds.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Seconds since the epoch, now.
pub fn unix_now() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs_f64()
}

/// Reads a timestamp in any of the accepted forms.
pub fn parse(value: &Value) -> Option<f64> {
    let secs = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => parse_str(s.trim())?,
        _ => return None,
    };
    secs.is_finite().then_some(secs)
}

fn parse_str(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(to_secs(dt));
    }
    // Naive strings (no offset) are UTC; a space may stand for the `T`.
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]][optional [Z]]"
    );
    PrimitiveDateTime::parse(s, &naive)
        .ok()
        .map(|dt| to_secs(dt.assume_utc()))
}

fn to_secs(dt: OffsetDateTime) -> f64 {
    dt.unix_timestamp_nanos() as f64 / 1e9
}

/// Formats epoch seconds as RFC 3339 UTC with microseconds, as the JSON API shows dates.
pub fn format_rfc3339(secs: f64) -> String {
    let nanos = (secs * 1e9) as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|dt| dt.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_raven_and_js_forms_all_parse() {
        let py = parse(&json!("2026-11-24T17:59:23.697938Z")).unwrap();
        let raven = parse(&json!("2026-11-24T17:59:23Z")).unwrap();
        let naive = parse(&json!("2026-11-24T17:59:23")).unwrap();
        let offset = parse(&json!("2026-11-24T18:59:23+01:00")).unwrap();
        let js = parse(&json!(1795543163.0)).unwrap();
        assert!((py - 1795543163.697938).abs() < 1e-5, "{py}");
        assert_eq!(raven, 1795543163.0);
        assert_eq!(naive, raven);
        assert_eq!(offset, raven);
        assert_eq!(js, raven);
    }

    #[test]
    fn nonsense_is_not_a_timestamp() {
        assert_eq!(parse(&json!("yesterday")), None);
        assert_eq!(parse(&json!({"t": 1})), None);
    }

    #[test]
    fn formatting_is_rfc3339_utc() {
        assert_eq!(format_rfc3339(1795543163.5), "2026-11-24T17:59:23.5Z");
    }
}
