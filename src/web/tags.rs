//! Tag distributions: the issue page's sidebar (top values and "Other", adding up to 100 %),
//! the Tags tab (every key with its counts; a key's values paged), and the links that turn a
//! value into an issue search or a list of the events that carry it.

use super::time;
use crate::store::{IssueRecord, TagSummary, TagValue};

pub struct TagBar {
    pub value: String,
    pub count: i64,
    pub percent: u32,
    /// The project's issues with this value; none for "Other".
    pub search: Option<String>,
    /// This issue's events with this value; none for "Other".
    pub events: Option<String>,
    /// A `<time>` element, empty for "Other".
    pub last_seen: String,
}

pub struct TagPanel {
    pub key: String,
    /// Events that carry the key.
    pub total: i64,
    pub distinct: i64,
    pub bars: Vec<TagBar>,
    /// The key's page of every value.
    pub all: String,
    /// Whether the key has values beyond those shown.
    pub more: bool,
}

/// A key's top values, plus "Other" for the rest, with shares that add up to 100.
pub fn panel(tag: &TagSummary, issue: &IssueRecord, now: f64) -> TagPanel {
    TagPanel {
        bars: bars(&tag.top, tag.total, issue, now, true),
        key: tag.key.clone(),
        total: tag.total,
        distinct: tag.distinct,
        more: tag.distinct > tag.top.len() as i64,
        all: format!(
            "/issues/{}/tags/?{}",
            issue.id,
            serde_urlencoded::to_string([("key", &tag.key)]).unwrap_or_default()
        ),
    }
}

/// Bars for `values` of a key seen `total` times; with `other`, a last bar for the values left out.
pub fn bars(values: &[TagValue], total: i64, issue: &IssueRecord, now: f64, other: bool) -> Vec<TagBar> {
    let mut counts: Vec<i64> = values.iter().map(|v| v.count).collect();
    let rest = total - counts.iter().sum::<i64>();
    if other && rest > 0 {
        counts.push(rest);
    }
    let shares = shares(&counts, total);
    let mut bars: Vec<TagBar> = values
        .iter()
        .zip(&shares)
        .map(|(v, &percent)| TagBar {
            search: Some(search_link(&issue.project_slug, &v.key, &v.value)),
            events: Some(format!(
                "/issues/{}/events/?{}",
                issue.id,
                serde_urlencoded::to_string([("tag", &v.key), ("value", &v.value)]).unwrap_or_default()
            )),
            value: v.value.clone(),
            count: v.count,
            percent,
            last_seen: time::html(v.last_seen, now),
        })
        .collect();
    if counts.len() > values.len() {
        bars.push(TagBar {
            value: "Other".into(),
            count: rest,
            percent: shares[values.len()],
            search: None,
            events: None,
            last_seen: String::new(),
        });
    }
    bars
}

/// Whole percentages of `total` that add up to 100 when `counts` cover it (largest remainder
/// first), so a sidebar never reads 53 + 24 + 12 + 10 = 99.
fn shares(counts: &[i64], total: i64) -> Vec<u32> {
    if total <= 0 {
        return vec![0; counts.len()];
    }
    let exact: Vec<f64> = counts.iter().map(|&c| c as f64 * 100.0 / total as f64).collect();
    let mut out: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let covered: i64 = counts.iter().sum();
    let target = (covered as f64 * 100.0 / total as f64).round() as u32;
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut missing = target.saturating_sub(out.iter().sum());
    for i in order {
        if missing == 0 {
            break;
        }
        out[i] += 1;
        missing -= 1;
    }
    out
}

/// The project's issue list searching `key:value` (quoted when it holds spaces; a quote inside
/// becomes a `*` wildcard, which the search language cannot otherwise express).
pub fn search_link(project_slug: &str, key: &str, value: &str) -> String {
    let value = value.replace('"', "*");
    let term = if value.contains(char::is_whitespace) {
        format!("{key}:\"{value}\"")
    } else {
        format!("{key}:{value}")
    };
    format!(
        "/projects/{project_slug}/issues/?{}",
        serde_urlencoded::to_string([("query", term)]).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_a_whole_add_up_to_a_hundred() {
        assert_eq!(shares(&[53, 24, 12, 11], 100), vec![53, 24, 12, 11]);
        assert_eq!(shares(&[1, 1, 1], 3), vec![34, 33, 33]);
        let sidebar = shares(&[530, 243, 121, 106], 1000);
        assert_eq!(sidebar.iter().sum::<u32>(), 100, "{sidebar:?}");
        assert_eq!(shares(&[1, 1], 3).iter().sum::<u32>(), 67, "a part stays a part");
        assert_eq!(shares(&[0], 0), vec![0]);
    }

    #[test]
    fn search_links_quote_values_with_spaces() {
        assert_eq!(
            search_link("shop", "browser", "Chrome 120"),
            "/projects/shop/issues/?query=browser%3A%22Chrome+120%22"
        );
        assert_eq!(
            search_link("shop", "level", "error"),
            "/projects/shop/issues/?query=level%3Aerror"
        );
        assert_eq!(
            search_link("shop", "q", "say \"hi\""),
            "/projects/shop/issues/?query=q%3A%22say+*hi*%22"
        );
    }
}
