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

/// `in 5 hours`, `in 3 days`: how far ahead a future time is (`now` once it has passed).
pub fn ahead(secs: f64, now: f64) -> String {
    if secs <= now {
        return "now".into();
    }
    format!("in {}", relative(now, secs).trim_end_matches(" ago"))
}

/// `2026-11-25 01:02:03 UTC`, for titles and tables.
pub fn exact(secs: f64) -> String {
    let s = format_rfc3339(secs);
    let (date, rest) = s.split_once('T').unwrap_or((&s, ""));
    let time = rest.split(['.', 'Z']).next().unwrap_or(rest);
    format!("{date} {time} UTC")
}

/// A time as every page shows it: relative, with the exact time on hover. The `datetime`
/// attribute lets the page's script show that exact time in the viewer's own time zone.
pub fn html(secs: f64, now: f64) -> String {
    let iso = format_rfc3339(secs);
    format!(
        "<time datetime=\"{iso}\" title=\"{}\">{}</time>",
        exact(secs),
        relative(secs, now)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_times_pick_the_largest_unit() {
        assert_eq!(super::relative(100.0, 105.0), "5 seconds ago");
        assert_eq!(super::relative(0.0, 60.0), "1 minute ago");
        assert_eq!(super::relative(0.0, 3.0 * 86_400.0), "3 days ago");
        assert_eq!(super::exact(1_795_543_163.5), "2026-11-24 17:59:23 UTC");
        assert_eq!(super::ahead(7_200.0, 0.0), "in 2 hours");
    }

    #[test]
    fn a_time_element_carries_the_relative_text_the_exact_title_and_the_machine_time() {
        assert_eq!(
            super::html(1_795_543_163.0, 1_795_543_223.0),
            "<time datetime=\"2026-11-24T17:59:23Z\" title=\"2026-11-24 17:59:23 UTC\">1 minute ago</time>"
        );
    }
}
