use serde_json::{Value, json};

use super::hashes;
use crate::event::Event;
use crate::grouping::md5_hex;

fn event(raw: Value) -> Event {
    crate::event::test_event(raw)
}

/// PROTOCOL.md §9.1's sentry-python capture.
fn python_sample(in_app: bool) -> Value {
    json!({
        "platform": "python",
        "exception": {"values": [{
            "type": "ZeroDivisionError",
            "value": "division by zero",
            "stacktrace": {"frames": [
                {"filename": "app.py", "abs_path": "/srv/app/app.py", "function": "main", "module": "__main__",
                 "lineno": 13, "context_line": "        division(1, 0)", "in_app": in_app},
                {"filename": "app.py", "abs_path": "/srv/app/app.py", "function": "division", "module": "__main__",
                 "lineno": 9, "context_line": "    return a / b", "in_app": in_app}
            ]}
        }]}
    })
}

#[test]
fn the_worked_example_of_the_protocol_hashes_as_documented() {
    assert_eq!(
        hashes(&event(python_sample(true))),
        vec!["9d1882937020566211e39f49435a4082"]
    );
}

#[test]
fn without_in_app_frames_only_the_system_variant_hashes() {
    // Sentry's snapshot `exception_javascript_no_in_app` (newstyle@2023_01_11): the app variant,
    // type and value only, is "ignored because this variant does not have a contributing
    // stacktrace, but the system variant does". PROTOCOL.md §5.1.2 once listed
    // md5("ZeroDivisionError" + "division by zero") = 0660221c… as an app hash; it is not one.
    // What remains is the system hash: every frame and the type, the worked example's values.
    assert_eq!(
        hashes(&event(python_sample(false))),
        vec!["9d1882937020566211e39f49435a4082"]
    );
}

#[test]
fn an_exception_without_frames_groups_by_type_and_value() {
    let raw = json!({"platform": "python", "exception": {"values": [
        {"type": "ZeroDivisionError", "value": "division by zero"}
    ]}});
    assert_eq!(hashes(&event(raw)), vec!["0660221c769c6b22bdecc61188c4ece5"]);
}

#[test]
fn a_hybrid_fingerprint_expands_default_in_place() {
    let mut raw = python_sample(true);
    raw["fingerprint"] = json!(["{{ default }}", "x"]);
    let expected = md5_hex([
        "__main__",
        "main",
        "division(1, 0)",
        "__main__",
        "division",
        "return a / b",
        "ZeroDivisionError",
        "x",
    ]);
    assert_eq!(hashes(&event(raw)), vec![expected]);
}

#[test]
fn a_custom_fingerprint_ignores_the_stack() {
    let mut raw = python_sample(true);
    raw["fingerprint"] = json!(["myrpc", "POST", "/foo.bar"]);
    assert_eq!(hashes(&event(raw)), vec![md5_hex(["myrpc", "POST", "/foo.bar"])]);
}

#[test]
fn fingerprint_variables_resolve_against_the_event() {
    let mut raw = python_sample(true);
    raw["fingerprint"] = json!(["{{ type }}", "{{function}}", "{{ tags.region }}", "{{ transaction }}"]);
    raw["tags"] = json!({"region": "eu"});
    assert_eq!(
        hashes(&event(raw)),
        vec![md5_hex(["ZeroDivisionError", "division", "eu", "<no-transaction>"])]
    );
}

#[test]
fn a_checksum_overrides_everything() {
    let mut raw = python_sample(true);
    raw["checksum"] = json!("ABCDEF0123456789ABCDEF0123456789");
    assert_eq!(hashes(&event(raw)), vec!["abcdef0123456789abcdef0123456789"]);
}

#[test]
fn an_event_where_nothing_contributes_gets_the_fallback_hash() {
    assert_eq!(hashes(&event(json!({}))), vec!["d41d8cd98f00b204e9800998ecf8427e"]);
}

#[test]
fn messages_group_by_their_parameterised_template() {
    let a = event(json!({"logentry": {"message": "User %s failed", "formatted": "User bob failed"}}));
    let b = event(json!({"logentry": {"message": "User %s failed", "formatted": "User eve failed"}}));
    assert_eq!(hashes(&a), hashes(&b));
    let c = event(json!({"message": "Order 1234 failed"}));
    let d = event(json!({"message": "Order 98 failed"}));
    assert_eq!(hashes(&c), hashes(&d));
    assert_eq!(hashes(&c), vec![md5_hex(["Order <int> failed"])]);
}
