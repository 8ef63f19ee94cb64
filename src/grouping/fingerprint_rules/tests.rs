use serde_json::{Value, json};

use super::*;

fn rules(text: &str) -> FingerprintRules {
    FingerprintRules::parse(text).unwrap()
}

/// Asserts, for each line of `hits` and `misses` (a rule's matchers), whether it matches.
fn check(raw: Value, hits: &'static str, misses: &'static str) {
    let event = crate::event::test_event(raw);
    let lines = |text: &'static str, expected| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(move |l| (l, expected))
    };
    for (matchers, expected) in lines(hits, true).chain(lines(misses, false)) {
        let found = rules(&format!("{matchers} -> x")).matching(&event).is_some();
        assert_eq!(found, expected, "{matchers}");
    }
}

fn python_error(frames: Value) -> Value {
    json!({"platform": "python", "exception": {"values": [
        {"type": "ConnectionError", "value": "Could not reach db-1", "stacktrace": {"frames": frames}},
        {"type": "OperationalError", "value": "  server closed the connection  "}
    ]}})
}

#[test]
fn rules_read_quotes_comments_negation_variables_and_titles() {
    let r = rules(
        r#"# a comment

        error.type:"Bad \"quoted\" \\ type" -> {{ default }} "two words", x  # trailing
        !app:yes stack.function:"*" -> {{type}} "{{  message}}" title="DB is down"
        "#,
    );
    assert_eq!(r.len(), 2);
    let [first, second] = [&r.rules[0].result, &r.rules[1].result];
    assert_eq!(
        first.text,
        r#"type:"Bad \"quoted\" \\ type" -> {{ default }} "two words" x"#
    );
    assert_eq!(&rules(&first.text).rules[0].result.text, &first.text);
    assert_eq!(first.fingerprint, ["{{ default }}", "two words", "x"]);
    assert!(r.rules[1].matchers[0].negated && !r.rules[1].matchers[1].negated);
    assert_eq!(second.fingerprint, ["{{ type }}", "{{ message }}"]);
    assert_eq!(second.title.as_deref(), Some("DB is down"));
    assert!(rules("  # only comments\n").is_empty());
    assert_eq!(rules(r#"type:X -> "",x"#).rules[0].result.fingerprint, ["", "x"]);
}

#[test]
fn a_bad_rule_is_an_error_naming_its_line_and_the_mistake() {
    let cases = [
        ("type:X x", "line 1: no `->`"),
        ("# ok\n\nfoo:bar -> x", "line 3: unknown matcher \"foo\""),
        ("type:X ->   # nothing", "line 1: an empty fingerprint"),
        ("type:X -> title=\"t\"", "line 1: an empty fingerprint"),
        ("-> x", "line 1: no matcher"),
        ("type:\"X -> x", "line 1: an unclosed quote"),
        ("app:maybe -> x", "line 1: app:maybe (yes or no)"),
        ("type:X -> x color=\"red\"", "line 1: unknown attribute \"color\""),
        ("type:X -> {{ a b }}", "is not a variable"),
        ("type:X -> title=t", "title needs a quoted value"),
        ("type X -> x", "expected a matcher `key:value`, found \"type\""),
        ("type:X -> a,,b", "line 1: a `,` without a value"),
    ];
    for (text, expected) in cases {
        let err = FingerprintRules::parse(text).unwrap_err();
        assert!(err.starts_with(expected) || err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn type_and_value_match_any_exception_of_the_chain_value_ignoring_case() {
    let hits = r#"type:OperationalError
                  value:"server closed*"
                  error.value:"COULD NOT*""#;
    // Both read exceptions, so one exception has to satisfy both.
    let misses = r#"type:operationalerror
                    type:OperationalError value:"could*""#;
    check(python_error(json!([])), hits, misses);
}

#[test]
fn message_matches_the_log_message_or_any_exception_value_ignoring_case() {
    let log = json!({"logentry": {"message": "User %s failed", "params": ["bob"]}});
    check(log, r#"message:"user bob *""#, r#"message:"user %s *""#);
    check(python_error(json!([])), r#"message:"*CLOSED the*""#, "");
}

#[test]
fn a_rules_frame_matchers_must_all_hold_for_one_frame() {
    let frames = json!([
        {"function": "connect", "module": "app.db", "in_app": true},
        {"function": "send", "module": "psycopg2.net"}
    ]);
    let hits = "function:connect module:app.*
                function:connect app:yes
                function:send !app:yes";
    // A frame without in_app is neither in the app nor out of it.
    let misses = "function:send module:app.*
                  stack.function:CONNECT
                  function:send app:no";
    check(python_error(frames), hits, misses);
}

#[test]
fn paths_match_ignoring_case_with_double_stars_across_folders_and_backslashes_as_slashes() {
    let frames = json!([
        {"function": "connect", "abs_path": "/srv/App/db.py"},
        {"function": "send", "filename": "net\\socket.py", "package": "/usr/lib/libpq.so"}
    ]);
    let hits = "path:**/app/*.py
                stack.abs_path:/net/*.py function:send
                package:**/LIBPQ*";
    check(python_error(frames), hits, "path:/srv/*.py");
}

#[test]
fn family_reads_the_event_platform() {
    let cocoa = json!({"platform": "cocoa", "exception": {"values": [{"type": "NSException"}]}});
    check(
        cocoa,
        "family:native type:NSException\nfamily:all",
        "family:javascript,other",
    );
}

#[test]
fn tags_level_logger_release_and_sdk_match_what_the_event_says() {
    let raw = json!({
        "level": "warning", "logger": "db.pool", "release": "backend@2.1.0", "transaction": "/checkout",
        "tags": {"region": "eu-west"}, "sdk": {"name": "sentry.python.django", "version": "2.0"},
        "message": "pool exhausted"
    });
    let hits = "tags.region:eu-*
                tags.transaction:/checkout
                level:WARNING
                logger:db.*
                release:BACKEND@2.*
                sdk:sentry.python
                sdk:sentry.python.django";
    let misses = "tags.region:us-*
                  tags.missing:*
                  level:error
                  sdk:sentry.go";
    check(raw, hits, misses);
}

#[test]
fn a_negated_matcher_holds_for_any_item_the_positive_one_misses() {
    // Sentry's reading: "some exception is not X", not "no exception is X". Without frames
    // there is nothing for a frame matcher to hold for, negated or not.
    let misses = "!type:*Error
                  !function:anything";
    check(
        python_error(json!([])),
        "!type:OperationalError\n!tags.missing:*",
        misses,
    );
}

#[test]
fn the_first_matching_rule_wins_and_gives_its_title_and_text() {
    let r = rules("type:Nope -> a\ntype:ConnectionError -> {{ default }} b title=\"B\"\ntype:* -> c");
    let event = crate::event::test_event(python_error(json!([])));
    let expected = FingerprintMatch {
        fingerprint: vec!["{{ default }}".into(), "b".into()],
        title: Some("B".into()),
        text: r#"type:"ConnectionError" -> {{ default }} b title="B""#.into(),
    };
    assert_eq!(r.matching(&event), Some(expected));
    assert_eq!(FingerprintRules::default().matching(&event), None);
}

#[test]
fn without_exception_frames_the_crashing_threads_frames_are_matched_with_native_names_trimmed() {
    let raw = json!({"platform": "native", "threads": {"values": [
        {"id": 1, "stacktrace": {"frames": [{"function": "idle"}]}},
        {"id": 2, "crashed": true, "stacktrace": {"frames": [{"function": "std::vector<int>::push_back(int)"}]}}
    ]}});
    check(raw, "function:std::vector<T>::push_back", "function:idle");
}

#[test]
fn sentrys_builtin_hydration_rule_reads_and_matches_by_transaction() {
    let rule =
        r#"family:javascript tags.transaction:"*" message:"Hydration failed*" -> hydrationerror, {{tags.transaction}}"#;
    let raw = json!({"platform": "javascript", "transaction": "/cart",
        "exception": {"values": [{"type": "Error", "value": "Hydration failed because of x"}]}});
    let found = rules(rule).matching(&crate::event::test_event(raw)).unwrap();
    assert_eq!(found.fingerprint, ["hydrationerror", "{{ tags.transaction }}"]);
}
