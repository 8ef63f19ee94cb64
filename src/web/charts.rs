//! Inline SVG charts drawn on the server: no script, no external library. Each bucket is a
//! group with its own hover title (its hour or day and its count) over the whole column, so an
//! empty hour can be pointed at too; empty buckets draw no bar, only the baseline.

use time::OffsetDateTime;
use time::macros::format_description;

/// What to draw: a count per bucket (oldest first), each bucket's name for hovering, and the
/// labels under the time axis as (bucket index, text).
pub struct Series {
    pub counts: Vec<i64>,
    pub names: Vec<String>,
    pub ticks: Vec<(usize, String)>,
}

/// Room for the count axis's labels on the left and the time axis's below, when drawn.
const LEFT: f64 = 26.0;
const BOTTOM: f64 = 14.0;

/// Bars for `series` in a `width`×`height` box; `axes` adds the count and time axes with their
/// labels (the issue page), without them it is a sparkline (the issue list).
pub fn bars(series: &Series, width: u32, height: u32, label: &str, axes: bool) -> String {
    let counts = &series.counts;
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let (left, bottom) = if axes { (LEFT, BOTTOM) } else { (0.0, 0.0) };
    let plot_w = f64::from(width) - left;
    let plot_h = f64::from(height) - bottom;
    let slot = plot_w / counts.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        super::escape_html(label)
    );
    for (i, &c) in counts.iter().enumerate() {
        let x = left + i as f64 * slot;
        let name = series.names.get(i).map(String::as_str).unwrap_or("");
        svg.push_str(&format!(
            "<g><title>{}: {c} event{}</title><rect class=\"hit\" x=\"{x:.1}\" y=\"0\" width=\"{slot:.1}\" height=\"{plot_h:.1}\"/>",
            super::escape_html(name),
            if c == 1 { "" } else { "s" }
        ));
        if c > 0 {
            let bh = (c as f64 / max as f64 * (plot_h - 1.0)).max(2.0);
            svg.push_str(&format!(
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\"/>",
                x + (slot - bar) / 2.0,
                plot_h - bh
            ));
        }
        svg.push_str("</g>");
    }
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{left:.1}\" y1=\"{plot_h:.1}\" x2=\"{width}\" y2=\"{plot_h:.1}\"/>"
    ));
    if axes {
        svg.push_str(&format!(
            "<line class=\"axis\" x1=\"{left:.1}\" y1=\"0\" x2=\"{left:.1}\" y2=\"{plot_h:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"9\" text-anchor=\"end\">{max}</text>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{plot_h:.1}\" text-anchor=\"end\">0</text>",
            left - 4.0,
            left - 4.0
        ));
        for (i, text) in &series.ticks {
            let x = left + (*i as f64 + 0.5) * slot;
            let anchor = if *i == 0 {
                "start"
            } else if *i + 1 == counts.len() {
                "end"
            } else {
                "middle"
            };
            let x = match anchor {
                "start" => left + *i as f64 * slot,
                "end" => left + (*i + 1) as f64 * slot,
                _ => x,
            };
            svg.push_str(&format!(
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                height - 2,
                super::escape_html(text)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The last `hours` hours ending with the current one: counts, names (`6 Nov 14:00–15:00 UTC`)
/// and ticks every 6 hours (`-18h`, …, `now`).
pub fn hourly(points: &[(i64, i64)], now_hour: i64, hours: i64) -> Series {
    let start = now_hour - hours + 1;
    let mut counts = vec![0; hours as usize];
    for &(hour, count) in points {
        if hour >= start && hour <= now_hour {
            counts[(hour - start) as usize] += count;
        }
    }
    let format = format_description!("[day padding:none] [month repr:short] [hour]:00");
    let names = (start..=now_hour)
        .map(|h| {
            let at = OffsetDateTime::from_unix_timestamp(h * 3600).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let end = (at.hour() + 1) % 24;
            format!("{}–{end:02}:00 UTC", at.format(&format).unwrap_or_default())
        })
        .collect();
    let ticks = (0..hours)
        .filter(|i| (hours - 1 - i) % 6 == 0)
        .map(|i| {
            let ago = hours - 1 - i;
            (
                i as usize,
                if ago == 0 {
                    "now".to_string()
                } else {
                    format!("-{ago}h")
                },
            )
        })
        .collect();
    Series { counts, names, ticks }
}

/// The last `days` days (of 24 hours, UTC) ending with today: counts, names (`26 Nov`) and
/// ticks every week (`-28d`, …, `today`).
pub fn daily(points: &[(i64, i64)], now_hour: i64, days: i64) -> Series {
    let today = now_hour.div_euclid(24);
    let start = today - days + 1;
    let mut counts = vec![0; days as usize];
    for &(hour, count) in points {
        let day = hour.div_euclid(24);
        if day >= start && day <= today {
            counts[(day - start) as usize] += count;
        }
    }
    let format = format_description!("[day padding:none] [month repr:short] UTC");
    let names = (start..=today)
        .map(|d| {
            OffsetDateTime::from_unix_timestamp(d * 86_400)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                .format(&format)
                .unwrap_or_default()
        })
        .collect();
    let ticks = (0..days)
        .filter(|i| (days - 1 - i) % 7 == 0)
        .map(|i| {
            let ago = days - 1 - i;
            (
                i as usize,
                if ago == 0 {
                    "today".to_string()
                } else {
                    format!("-{ago}d")
                },
            )
        })
        .collect();
    Series { counts, names, ticks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_place_counts_by_hour_and_day() {
        assert_eq!(hourly(&[(98, 2), (100, 5), (50, 9)], 100, 3).counts, vec![2, 0, 5]);
        assert_eq!(daily(&[(0, 1), (25, 2), (47, 3)], 47, 2).counts, vec![1, 5]);
    }

    #[test]
    fn each_bucket_is_named_by_its_hour_or_day_and_ticks_count_back_from_now() {
        // Hour 493_062 is 2026-04-01 06:00 UTC.
        let h = hourly(&[], 493_062, 24);
        assert_eq!(h.names[23], "1 Apr 06:00–07:00 UTC");
        assert_eq!(h.names[0], "31 Mar 07:00–08:00 UTC");
        let ticks: Vec<&str> = h.ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(ticks, ["-18h", "-12h", "-6h", "now"]);
        let d = daily(&[], 493_062, 30);
        assert_eq!(d.names[29], "1 Apr UTC");
        assert_eq!(d.ticks.last().map(|(i, t)| (*i, t.as_str())), Some((29, "today")));
    }

    #[test]
    fn bars_hover_with_their_bucket_and_count_and_empty_buckets_draw_no_bar() {
        let series = Series {
            counts: vec![0, 3, 1],
            names: vec!["a".into(), "b".into(), "c<d".into()],
            ticks: vec![(2, "now".into())],
        };
        let svg = bars(&series, 90, 40, "x<y", true);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
        assert_eq!(svg.matches("<rect class=\"hit\"").count(), 3);
        assert!(svg.contains("<title>b: 3 events</title>") && svg.contains("<title>c&lt;d: 1 event</title>"));
        assert!(svg.contains("aria-label=\"x&lt;y\""));
        assert!(
            svg.contains(">3</text>") && svg.contains(">now</text>"),
            "count and time axes"
        );
        let spark = bars(&series, 96, 24, "s", false);
        assert!(!spark.contains("<text"), "a sparkline has no labels");
    }
}
