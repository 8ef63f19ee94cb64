//! Times as people read them: "3 minutes ago", with the exact time on hover.

use crate::event::format_rfc3339;

/// `5 seconds ago`, `3 hours ago`, `2 days ago`, or `in the future`.
pub fn relative(secs: f64, now: f64) -> String {
    let delta = now - secs;
    if delta < -1.0 {
        return "in the future".into();
    }
    let d = delta.max(0.0) as u64;
    let (n, unit) = match d {
        0..=59 => (d, "second"),
        60..=3599 => (d / 60, "minute"),
        3600..=86_399 => (d / 3600, "hour"),
        86_400..=2_591_999 => (d / 86_400, "day"),
        2_592_000..=31_535_999 => (d / 2_592_000, "month"),
        _ => (d / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `2026-11-25 01:02:03 UTC`, for titles and tables.
pub fn exact(secs: f64) -> String {
    let s = format_rfc3339(secs);
    let (date, rest) = s.split_once('T').unwrap_or((&s, ""));
    let time = rest.split(['.', 'Z']).next().unwrap_or(rest);
    format!("{date} {time} UTC")
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_times_pick_the_largest_unit() {
        assert_eq!(super::relative(100.0, 105.0), "5 seconds ago");
        assert_eq!(super::relative(0.0, 60.0), "1 minute ago");
        assert_eq!(super::relative(0.0, 3.0 * 86_400.0), "3 days ago");
        assert_eq!(super::exact(1_795_543_163.5), "2026-11-24 17:59:23 UTC");
    }
}
