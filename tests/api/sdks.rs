//! Real SDKs, end to end: the current sentry-sdk in a Flask app, and the legacy raven 6.10.

use crate::helpers::spawn_app;
use crate::python::run_script;

#[tokio::test]
async fn the_python_sdk_reports_a_flask_division_by_zero_with_frames_locals_and_request() {
    let app = spawn_app().await;
    let out = run_script("flask_division.py", &[&app.dsn]);
    let ids = out["event_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "one event for /division/6/0: {out}");
    let event = app.event_json("default", ids[0].as_str().unwrap()).await;

    let exception = &event["exception"]["values"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(exception["type"], "ZeroDivisionError");
    assert_eq!(exception["value"], "division by zero");
    assert_eq!(exception["mechanism"]["handled"], false);
    let frames = exception["stacktrace"]["frames"].as_array().unwrap();
    let division = frames
        .iter()
        .find(|f| f["function"] == "division")
        .expect("a frame in division");
    assert_eq!(
        division["context_line"].as_str().unwrap().trim(),
        "return str(numerator / denominator)"
    );
    assert_eq!(division["vars"]["numerator"], "6");
    assert_eq!(division["vars"]["denominator"], "0");
    assert_eq!(event["request"]["url"], out["url"]);
    assert_eq!(event["request"]["method"], "GET");
    assert!(
        event["sdk"]["name"].as_str().unwrap().starts_with("sentry.python"),
        "{}",
        event["sdk"]
    );
    assert_eq!(event["sdk"]["version"], out["sdk_version"]);
    assert_eq!(event["release"], "tocsin-e2e@1.0.0");
    assert_eq!(event["environment"], "e2e");
}

#[tokio::test]
async fn raven_6_reports_a_division_by_zero_through_the_deflated_store_endpoint() {
    let app = spawn_app().await;
    let out = run_script("raven_division.py", &[&app.dsn]);
    assert_eq!(out["sent"], true, "raven reports a failed send: {out}");
    let event = app.event_json("default", out["event_id"].as_str().unwrap()).await;
    assert_eq!(event["sdk"]["name"], "raven-python");
    assert_eq!(event["sdk"]["version"], "6.10.0");
    // raven sends the Python logging level 40; Tocsin stores the name.
    assert_eq!(event["level"], "error");
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "ZeroDivisionError");
    let frames = exception["stacktrace"]["frames"].as_array().unwrap();
    let divide = frames
        .iter()
        .find(|f| f["function"] == "divide")
        .expect("a frame in divide");
    assert_eq!(
        divide["context_line"].as_str().unwrap().trim(),
        "return numerator / denominator"
    );
    assert_eq!(divide["vars"]["denominator"], "0");
    // raven's top-level message becomes the logentry.
    assert_eq!(event["logentry"]["formatted"], "ZeroDivisionError: division by zero");
}
