//! Inline SVG charts drawn on the server: no script, no external library.

/// Bars for `counts` (oldest first) in a `width`×`height` box; empty buckets get a hairline.
pub fn bars(counts: &[i64], width: u32, height: u32, label: &str) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = counts.len().max(1) as f64;
    let slot = f64::from(width) / n;
    let bar = (slot * 0.8).max(1.0);
    let h = f64::from(height);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        super::escape_html(label)
    );
    for (i, &c) in counts.iter().enumerate() {
        let bh = if c == 0 {
            1.0
        } else {
            (c as f64 / max * (h - 1.0)).max(2.0)
        };
        let x = i as f64 * slot;
        let class = if c == 0 { "empty" } else { "bar" };
        svg.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\"><title>{c}</title></rect>",
            h - bh
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Hour buckets ending with the current hour: `hours` counts, oldest first.
pub fn hourly(points: &[(i64, i64)], now_hour: i64, hours: i64) -> Vec<i64> {
    let start = now_hour - hours + 1;
    let mut out = vec![0; hours as usize];
    for &(hour, count) in points {
        if hour >= start && hour <= now_hour {
            out[(hour - start) as usize] += count;
        }
    }
    out
}

/// Day buckets (24 hours each) ending with the current hour's day.
pub fn daily(points: &[(i64, i64)], now_hour: i64, days: i64) -> Vec<i64> {
    let today = now_hour.div_euclid(24);
    let start = today - days + 1;
    let mut out = vec![0; days as usize];
    for &(hour, count) in points {
        let day = hour.div_euclid(24);
        if day >= start && day <= today {
            out[(day - start) as usize] += count;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_place_counts_by_hour_and_day() {
        assert_eq!(hourly(&[(98, 2), (100, 5), (50, 9)], 100, 3), vec![2, 0, 5]);
        assert_eq!(daily(&[(0, 1), (25, 2), (47, 3)], 47, 2), vec![1, 5]);
    }

    #[test]
    fn bars_draw_one_rect_per_bucket() {
        let svg = bars(&[0, 3, 1], 30, 10, "a<b");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("aria-label=\"a&lt;b\""));
    }
}
