//! The values of the search's non-tag filters: relative and absolute times (`-24h`, `+7d`,
//! `>2024-05-01`, `2024-05-01T10:00:00`), counts with comparisons (`>5`, `<=10`), and `*`
//! wildcards.

use crate::store::{Compare, FieldFilter, IssueField};

/// Splits a leading comparison off a value: `>=5` → (Ge, "5"); none means equality.
fn comparison(value: &str) -> (Compare, &str) {
    for (prefix, op) in [
        (">=", Compare::Ge),
        ("<=", Compare::Le),
        (">", Compare::Gt),
        ("<", Compare::Lt),
        ("=", Compare::Eq),
    ] {
        if let Some(rest) = value.strip_prefix(prefix) {
            return (op, rest);
        }
    }
    (Compare::Eq, value)
}

/// `times_seen:>5`, `users_seen:10`: one filter on a count.
pub fn count(field: IssueField, key: &str, value: &str) -> Result<FieldFilter, String> {
    let (op, number) = comparison(value);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("\"{key}:{value}\": not a count; use a whole number, optionally after >, >=, < or <="))?;
    Ok(FieldFilter {
        field,
        op,
        value: n as f64,
    })
}

/// `-24h`: seconds in a duration of `s`, `m`, `h`, `d` or `w`.
fn duration(text: &str) -> Option<f64> {
    let unit = text.chars().last()?;
    let n: f64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86_400.0,
        'w' => 604_800.0,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n * seconds)
}

/// `2024-05-01` → the start of that UTC day, and that it was a whole day.
fn date(text: &str) -> Option<(f64, bool)> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(text, &day) {
        return Some((d.midnight().assume_utc().unix_timestamp() as f64, true));
    }
    // A time of day needs the `T` (or a space) so that a bare number is never read as epoch
    // seconds.
    if !text.contains(['T', ' ']) {
        return None;
    }
    crate::event::timestamp::parse(&serde_json::Value::String(text.to_string())).map(|t| (t, false))
}

/// `lastSeen:-24h` (within the last day), `lastSeen:+24h` (longer ago), `firstSeen:>2024-05-01`,
/// `firstSeen:2024-05-01` (that day): one or two filters on a time.
pub fn time(field: IssueField, key: &str, value: &str, now: f64) -> Result<Vec<FieldFilter>, String> {
    let bad = || {
        format!(
            "\"{key}:{value}\": not a time; use -24h (within), +7d (longer ago), or a date such as \
             >2024-05-01 or 2024-05-01T10:00:00"
        )
    };
    let at = |op, value| FieldFilter { field, op, value };
    if let Some(rest) = value.strip_prefix('-') {
        return Ok(vec![at(Compare::Ge, now - duration(rest).ok_or_else(bad)?)]);
    }
    if let Some(rest) = value.strip_prefix('+') {
        return Ok(vec![at(Compare::Lt, now - duration(rest).ok_or_else(bad)?)]);
    }
    let (op, text) = comparison(value);
    let (start, whole_day) = date(text).ok_or_else(bad)?;
    Ok(match (op, whole_day) {
        (Compare::Eq, true) => vec![at(Compare::Ge, start), at(Compare::Lt, start + 86_400.0)],
        // After a day means after its end; up to a day includes it.
        (Compare::Gt, true) => vec![at(Compare::Ge, start + 86_400.0)],
        (Compare::Le, true) => vec![at(Compare::Lt, start + 86_400.0)],
        (op, _) => vec![at(op, start)],
    })
}

pub use crate::store::like_escape;

/// A tag value with `*` wildcards as a `LIKE` pattern; `None` when it has none.
pub fn like_pattern(value: &str) -> Option<String> {
    value.contains('*').then(|| like_escape(value).replace('*', "%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_714_557_600.0; // 2024-05-01T10:00:00Z

    #[test]
    fn relative_times_count_back_from_now() {
        let within = time(IssueField::LastSeen, "lastSeen", "-24h", NOW).unwrap();
        assert_eq!(within[0].op, Compare::Ge);
        assert_eq!(within[0].value, NOW - 86_400.0);
        let older = time(IssueField::FirstSeen, "firstSeen", "+2w", NOW).unwrap();
        assert_eq!((older[0].op, older[0].value), (Compare::Lt, NOW - 1_209_600.0));
    }

    #[test]
    fn a_date_alone_means_that_whole_utc_day() {
        let day = time(IssueField::FirstSeen, "firstSeen", "2024-05-01", NOW).unwrap();
        let bounds: Vec<_> = day.iter().map(|f| (f.op, f.value)).collect();
        assert_eq!(
            bounds,
            vec![(Compare::Ge, 1_714_521_600.0), (Compare::Lt, 1_714_608_000.0)]
        );
        let after = time(IssueField::FirstSeen, "firstSeen", ">2024-05-01", NOW).unwrap();
        assert_eq!((after[0].op, after[0].value), (Compare::Ge, 1_714_608_000.0));
        let exact = time(IssueField::LastSeen, "lastSeen", "<2024-05-01T10:00:00", NOW).unwrap();
        assert_eq!((exact[0].op, exact[0].value), (Compare::Lt, NOW));
    }

    #[test]
    fn bad_times_and_counts_say_what_is_expected() {
        for bad in ["yesterday", "-24x", "5", ">", "-h"] {
            let err = time(IssueField::LastSeen, "lastSeen", bad, NOW).unwrap_err();
            assert!(err.contains("not a time"), "{bad}: {err}");
        }
        assert!(
            count(IssueField::TimesSeen, "times_seen", ">five")
                .unwrap_err()
                .contains("not a count")
        );
        let n = count(IssueField::TimesSeen, "times_seen", ">=5").unwrap();
        assert_eq!((n.op, n.value), (Compare::Ge, 5.0));
    }

    #[test]
    fn stars_are_wildcards_and_like_characters_are_literal() {
        assert_eq!(like_pattern("Chrome*").as_deref(), Some("Chrome%"));
        assert_eq!(like_pattern("100%_*").as_deref(), Some("100\\%\\_%"));
        assert_eq!(like_pattern("plain"), None);
    }
}
