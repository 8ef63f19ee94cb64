//! Security reports that browsers send on their own to a `report-uri`/`report-to` that points at
//! `/api/{project_id}/security/?sentry_key=…`: Content-Security-Policy violations (the legacy
//! `{"csp-report": {…}}` body and the Reporting API's `[{"type": "csp-violation", "body": {…}}]`),
//! Expect-CT and HPKP failures. Each becomes an event with the report under `csp`, `expectct`
//! or `hpkp`, as Sentry stores them, a title that says what was blocked, and tags to search by;
//! grouping then treats it as Sentry does (by directive and blocked host).

use serde_json::{Map, Value, json};

use super::IngestError;

/// Reports one request may carry (the Reporting API batches them).
pub const MAX_REPORTS: usize = 20;

/// The events for the reports in a request body.
pub fn events(body: &[u8]) -> Result<Vec<Vec<u8>>, IngestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| IngestError::BadJson(format!("the security report is not JSON: {e}")))?;
    let reports: Vec<Value> = match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| {
                let kind = item.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
                let body = item.get("body").cloned()?;
                match kind.as_str() {
                    "csp-violation" => Some(json!({ "csp-report": reporting_api_csp(&body) })),
                    _ => None,
                }
            })
            .collect(),
        other => vec![other],
    };
    if reports.is_empty() {
        return Err(IngestError::BadEvent(
            "no security report in the body: expected csp-report, expect-ct-report, hpkp or a Reporting API csp-violation".into(),
        ));
    }
    if reports.len() > MAX_REPORTS {
        return Err(IngestError::TooLarge(format!(
            "{} reports in one request; at most {MAX_REPORTS}",
            reports.len()
        )));
    }
    reports
        .iter()
        .map(|r| {
            let event = event_of(r)?;
            serde_json::to_vec(&event).map_err(|e| IngestError::BadEvent(e.to_string()))
        })
        .collect()
}

/// The Reporting API's camelCase CSP body in the legacy report's keys.
fn reporting_api_csp(body: &Value) -> Value {
    let pairs = [
        ("documentURL", "document-uri"),
        ("blockedURL", "blocked-uri"),
        ("effectiveDirective", "effective-directive"),
        ("originalPolicy", "original-policy"),
        ("referrer", "referrer"),
        ("sample", "script-sample"),
        ("disposition", "disposition"),
        ("statusCode", "status-code"),
        ("sourceFile", "source-file"),
        ("lineNumber", "line-number"),
        ("columnNumber", "column-number"),
    ];
    let mut out = Map::new();
    for (from, to) in pairs {
        if let Some(v) = body.get(from) {
            out.insert(to.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// A report's keys as Sentry stores them: `blocked-uri` → `blocked_uri`.
fn underscored(report: &Value) -> Map<String, Value> {
    report
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.replace('-', "_"), v.clone())).collect())
        .unwrap_or_default()
}

fn event_of(report: &Value) -> Result<Value, IngestError> {
    if let Some(csp) = report.get("csp-report").filter(|v| v.is_object()) {
        let mut csp = underscored(csp);
        let text = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let effective = text(&csp, "effective_directive")
            .or_else(|| text(&csp, "violated_directive").and_then(|v| v.split_whitespace().next().map(str::to_string)))
            .ok_or_else(|| IngestError::BadEvent("the CSP report names no directive".into()))?;
        csp.insert("effective_directive".into(), json!(effective));
        let blocked = text(&csp, "blocked_uri").unwrap_or_default();
        let title = csp_title(&effective, &blocked, text(&csp, "violated_directive").as_deref());
        let mut tags = vec![
            json!(["effective-directive", effective]),
            json!(["blocked-uri", blocked]),
        ];
        if let Some(doc) = text(&csp, "document_uri") {
            tags.push(json!(["document-uri", doc]));
        }
        return Ok(json!({
            "platform": "other",
            "level": "error",
            "logentry": {"formatted": title},
            "culprit": effective,
            "csp": csp,
            "tags": tags,
        }));
    }
    for (key, field, what) in [
        ("expect-ct-report", "expectct", "Expect-CT failed"),
        ("expect-staple-report", "expectstaple", "Expect-Staple failed"),
    ] {
        if let Some(r) = report.get(key).filter(|v| v.is_object()) {
            return Ok(host_report(field, what, underscored(r)));
        }
    }
    if report.get("hostname").is_some() && report.get("known-pins").is_some() {
        return Ok(host_report(
            "hpkp",
            "Public key pinning validation failed",
            underscored(report),
        ));
    }
    Err(IngestError::BadEvent(
        "not a security report: expected csp-report, expect-ct-report, expect-staple-report or an HPKP report".into(),
    ))
}

fn host_report(field: &str, what: &str, report: Map<String, Value>) -> Value {
    let host = report
        .get("hostname")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let port = report.get("port").map(|p| format!(":{p}")).unwrap_or_default();
    json!({
        "platform": "other",
        "level": "error",
        "logentry": {"formatted": format!("{what} for '{host}{port}'")},
        "culprit": host,
        field: report,
        "tags": [["hostname", host]],
    })
}

/// "Blocked 'script' from 'cdn.example.com'", as Sentry titles CSP reports.
fn csp_title(directive: &str, blocked: &str, violated: Option<&str>) -> String {
    let kind = directive.strip_suffix("-src").unwrap_or(directive);
    let kind = match kind {
        "img" => "image",
        "script-src-elem" | "script-src-attr" => "script",
        "style-src-elem" | "style-src-attr" => "style",
        other => other,
    };
    let local =
        blocked.is_empty() || blocked == "self" || blocked == "'self'" || blocked == "inline" || blocked == "eval";
    if directive.starts_with("script-src") && local {
        let violated = violated.unwrap_or_default();
        if blocked == "eval" || violated.contains("'unsafe-eval'") {
            return "Blocked unsafe eval() 'script'".into();
        }
        return "Blocked unsafe inline 'script'".into();
    }
    let host = match blocked.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or(rest).to_string(),
        None if local => "self".into(),
        None => blocked.trim_end_matches(':').to_string(),
    };
    format!("Blocked '{kind}' from '{host}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_reports_become_events_with_sentrys_title_and_keys() {
        let body = br#"{"csp-report": {"document-uri": "https://shop.example.com/cart", "blocked-uri": "https://evil.example.net/x.js", "violated-directive": "script-src 'self'"}}"#;
        let events = events(body).unwrap();
        let event: Value = serde_json::from_slice(&events[0]).unwrap();
        assert_eq!(
            event["logentry"]["formatted"],
            "Blocked 'script' from 'evil.example.net'"
        );
        assert_eq!(event["csp"]["effective_directive"], "script-src");
        assert_eq!(event["csp"]["blocked_uri"], "https://evil.example.net/x.js");
    }

    #[test]
    fn the_reporting_api_batch_is_read_and_other_report_types_skipped() {
        let body = br#"[{"type": "csp-violation", "body": {"documentURL": "https://a.example/", "blockedURL": "inline", "effectiveDirective": "script-src-elem"}},
                        {"type": "deprecation", "body": {}}]"#;
        let events = events(body).unwrap();
        assert_eq!(events.len(), 1);
        let event: Value = serde_json::from_slice(&events[0]).unwrap();
        assert_eq!(event["logentry"]["formatted"], "Blocked unsafe inline 'script'");
    }

    #[test]
    fn something_else_is_a_clear_error() {
        assert!(matches!(events(b"{\"hello\": 1}"), Err(IngestError::BadEvent(_))));
        assert!(matches!(events(b"not json"), Err(IngestError::BadJson(_))));
    }
}
