use serde_json::{Value, json};

use super::*;

const NOW: f64 = 1_795_543_200.0;

fn input() -> NormalizeInput<'static> {
    NormalizeInput {
        envelope_event_id: None,
        client_ip: Some("203.0.113.9"),
        received: NOW,
    }
}

fn norm(raw: Value) -> Event {
    normalize(raw, &input()).expect("normalises")
}

#[test]
fn a_raven_6_event_gets_modern_keys_and_a_named_level() {
    let event = norm(json!({
        "event_id": "fc6d8c0c43fc4630ad850ee518f1b9d0",
        "level": 40,
        "message": "User %s failed",
        "sentry.interfaces.Message": {"message": "User %s failed", "params": ["'bob'"], "formatted": null},
        "timestamp": "2026-11-24T17:59:48Z",
        "project": "42",
    }));
    assert_eq!(event.level, Level::Error);
    let entry = event.logentry.expect("logentry from the legacy interface");
    assert_eq!(entry.message.as_deref(), Some("User %s failed"));
    assert_eq!(
        entry.formatted.as_deref(),
        Some("User 'bob' failed"),
        "formatted from params"
    );
    assert_eq!(event.other["project"], json!("42"), "unknown fields are kept");
    // The top-level message stays beside the logentry it duplicates: nothing is lost.
    assert_eq!(event.other["message"], json!("User %s failed"));
}

#[test]
fn a_bare_message_string_becomes_the_formatted_logentry() {
    let event = norm(json!({"message": "division service is degraded", "level": "warning"}));
    assert_eq!(
        event.logentry.unwrap().formatted.as_deref(),
        Some("division service is degraded")
    );
    assert_eq!(event.ty, "default");
    assert_eq!(event.platform, "other");
}

#[test]
fn the_envelope_event_id_wins_and_a_missing_one_is_generated() {
    let header = EventId::parse("22d00b3f-d1b1-4b5d-8d20-49d138cd8a9c").unwrap();
    let with_header = NormalizeInput {
        envelope_event_id: Some(header),
        ..input()
    };
    let event = normalize(json!({"event_id": "fc6d8c0c43fc4630ad850ee518f1b9d0"}), &with_header).unwrap();
    assert_eq!(event.event_id, header);
    let a = norm(json!({}));
    let b = norm(json!({}));
    assert_ne!(a.event_id, b.event_id);
}

#[test]
fn absurd_timestamps_are_clamped_to_the_receive_time_and_recorded() {
    let past = norm(json!({"timestamp": NOW - 40.0 * 86400.0}));
    assert_eq!(past.timestamp, NOW);
    assert_eq!(past.errors[0]["type"], "past_timestamp");
    let future = norm(json!({"timestamp": "2099-01-01T00:00:00Z"}));
    assert_eq!(future.timestamp, NOW);
    assert_eq!(future.errors[0]["type"], "future_timestamp");
    let fine = norm(json!({"timestamp": NOW - 5.5}));
    assert_eq!(fine.timestamp, NOW - 5.5);
    assert!(fine.errors.is_empty());
}

#[test]
fn tags_as_pairs_or_object_become_string_pairs() {
    let from_pairs = norm(json!({"tags": [["demo", "x"], ["n", 3], ["gone", null]]}));
    let from_object = norm(json!({"tags": {"demo": "x", "n": 3, "gone": null}}));
    let expected = vec![
        ("demo".to_string(), "x".to_string()),
        ("n".to_string(), "3".to_string()),
    ];
    assert_eq!(from_pairs.tags, expected);
    assert_eq!(from_object.tags, expected);
}

#[test]
fn the_auto_ip_is_filled_from_the_connection() {
    let event = norm(json!({"user": {"ip_address": "{{auto}}", "id": 42}}));
    let user = event.user.unwrap();
    assert_eq!(user.ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(user.id.as_deref(), Some("42"));
}

#[test]
fn exceptions_in_every_accepted_shape_end_up_in_values() {
    for exception in [
        json!({"values": [{"type": "E", "value": "v"}]}),
        json!([{"type": "E", "value": "v"}]),
        json!({"type": "E", "value": "v"}),
    ] {
        let event = norm(json!({ "exception": exception }));
        let values = event.exception.expect("exception").values;
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].ty.as_deref(), Some("E"));
        assert_eq!(event.ty, "error");
    }
}

#[test]
fn badly_typed_frame_fields_are_dropped_into_errors_not_fatal() {
    let event = norm(json!({"exception": {"values": [{"type": "E", "stacktrace": {"frames": [
        {"function": "f", "lineno": "12", "in_app": "yes", "vars": {"a": "1"}},
        "not a frame"
    ]}}]}}));
    let exception = event.exception.clone().unwrap();
    let frames = &exception.values[0].stacktrace.as_ref().unwrap().frames;
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].lineno, Some(12));
    assert_eq!(frames[0].in_app, None);
    assert_eq!(frames[0].other["vars"], json!({"a": "1"}));
    let names: Vec<&str> = event.errors.iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(
        names.contains(&"exception.values.0.stacktrace.frames.0.in_app"),
        "{names:?}"
    );
    assert!(names.contains(&"exception.values.0.stacktrace.frames.1"), "{names:?}");
}

#[test]
fn a_payload_that_is_not_an_object_is_refused() {
    assert!(matches!(
        normalize(json!([1]), &input()),
        Err(NormalizeError::NotAnObject(_))
    ));
}

#[test]
fn unknown_levels_default_to_error_with_a_note() {
    let event = norm(json!({"level": "loud"}));
    assert_eq!(event.level, Level::Error);
    assert_eq!(event.errors[0]["name"], "level");
}

#[test]
fn a_template_with_params_and_no_formatted_text_is_formatted() {
    let event = norm(json!({
        "sentry.interfaces.Message": {"message": "User %s failed %d times (100%%)", "params": ["'bob'", 3]},
    }));
    let entry = event.logentry.unwrap();
    assert_eq!(entry.formatted.as_deref(), Some("User 'bob' failed 3 times (100%)"));
    assert_eq!(
        entry.message.as_deref(),
        Some("User %s failed %d times (100%%)"),
        "the template is kept"
    );
}
