//! The golden grouping corpus, `tests/grouping/corpus.json`: events shaped as real SDKs send
//! them, in sets that Sentry (config `newstyle:2023-01-11`, PROTOCOL.md §5) puts in one issue or
//! in different ones, each with the reason. Every event goes through the same normalisation and
//! grouping as ingest does (with the JavaScript processing ingest does before grouping).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;
use tocsin::event::{Event, NormalizeInput, normalize};
use tocsin::grouping::calculate;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grouping/corpus.json");
const MIN_CASES: usize = 40;
/// md5(""): the hash of an event where nothing contributes. A corpus event that gets only this
/// hash was mistyped, and would make a "same" case pass for the wrong reason.
const FALLBACK_HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    reason: String,
    expect: Expect,
    events: Vec<Value>,
    /// The issue title the first event gives, if the case checks it.
    #[serde(default)]
    title: Option<String>,
    /// The culprit the first event gives, if the case checks it.
    #[serde(default)]
    culprit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Same,
    Different,
}

/// Two events land in the same issue when their hash lists share a hash: the writer looks each
/// hash up in turn, and an issue created for an event owns all of its hashes.
fn same_issue(a: &Event, b: &Event) -> bool {
    let a = calculate(a).hashes;
    calculate(b).hashes.iter().any(|h| a.contains(h))
}

fn load_corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(CORPUS).unwrap_or_else(|e| panic!("reading {CORPUS}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {CORPUS}: {e}"))
}

fn normalized(raw: &Value) -> Result<Event, String> {
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: 1_795_543_200.0,
    };
    let mut event = normalize(raw.clone(), &input).map_err(|e| e.to_string())?;
    // What ingest does to JavaScript events before grouping, as Sentry's processing does.
    tocsin::sourcemaps::generate_modules(&mut event);
    Ok(event)
}

/// Everything wrong with one case, as lines of a report; empty when the case holds.
fn check_case(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    if case.reason.trim().is_empty() {
        problems.push("the case gives no reason".to_string());
    }
    if case.events.len() < 2 {
        problems.push(format!(
            "a case needs at least two events, it has {}",
            case.events.len()
        ));
    }
    for (i, a) in case.events.iter().enumerate() {
        for (j, b) in case.events.iter().enumerate().skip(i + 1) {
            if a == b {
                problems.push(format!("events {i} and {j} are identical: the case proves nothing"));
            }
        }
    }
    let mut events = Vec::with_capacity(case.events.len());
    for (i, raw) in case.events.iter().enumerate() {
        match normalized(raw) {
            Ok(event) => events.push(event),
            Err(e) => problems.push(format!("event {i} does not normalise: {e}")),
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    let groupings: Vec<_> = events.iter().map(calculate).collect();
    for (i, g) in groupings.iter().enumerate() {
        if g.hashes == [FALLBACK_HASH] {
            problems.push(format!("event {i} has nothing that contributes to grouping"));
        }
    }

    match case.expect {
        Expect::Same => {
            for (i, event) in events.iter().enumerate().skip(1) {
                if !same_issue(&events[0], event) {
                    problems.push(format!("event {i} is not in the issue of event 0"));
                }
            }
        }
        Expect::Different => {
            for (i, a) in events.iter().enumerate() {
                for (j, b) in events.iter().enumerate().skip(i + 1) {
                    if same_issue(a, b) {
                        problems.push(format!("events {i} and {j} share an issue"));
                    }
                }
            }
        }
    }

    let first = &groupings[0];
    if let Some(title) = &case.title
        && &first.title != title
    {
        problems.push(format!("title of event 0 is {:?}, expected {title:?}", first.title));
    }
    if let Some(culprit) = &case.culprit
        && first.culprit.as_ref() != Some(culprit)
    {
        problems.push(format!(
            "culprit of event 0 is {:?}, expected {culprit:?}",
            first.culprit
        ));
    }

    if !problems.is_empty() {
        for (i, g) in groupings.iter().enumerate() {
            problems.push(format!("event {i} hashes: {:?}", g.hashes));
        }
    }
    problems
}

fn report(case: &Case, problems: &[String]) -> String {
    let expect = match case.expect {
        Expect::Same => "same",
        Expect::Different => "different",
    };
    let mut out = format!("case `{}` (expect {expect}): {}\n", case.name, case.reason);
    for p in problems {
        out.push_str("    ");
        out.push_str(p);
        out.push('\n');
    }
    out
}

#[test]
fn every_case_of_the_grouping_corpus_groups_as_sentry_does() {
    let corpus = load_corpus();
    assert!(
        corpus.len() >= MIN_CASES,
        "the corpus has {} cases, it needs at least {MIN_CASES}",
        corpus.len()
    );
    let mut names = HashSet::new();
    for case in &corpus {
        assert!(names.insert(case.name.as_str()), "two cases are named `{}`", case.name);
    }

    let failures: Vec<String> = corpus
        .iter()
        .filter_map(|case| {
            let problems = check_case(case);
            (!problems.is_empty()).then(|| report(case, &problems))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases fail:\n\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_checks_titles_and_culprits_and_both_expectations() {
    let corpus = load_corpus();
    let count = |f: fn(&Case) -> bool| corpus.iter().filter(|c| f(c)).count();
    assert!(count(|c| c.expect == Expect::Same) >= 10);
    assert!(count(|c| c.expect == Expect::Different) >= 10);
    assert!(count(|c| c.title.is_some()) >= 3);
    assert!(count(|c| c.culprit.is_some()) >= 3);
}

#[test]
fn the_checker_reports_a_case_whose_expectation_is_wrong() {
    // Each case, with its expectation flipped, must fail: neither the checker nor a case can
    // pass whatever grouping does.
    for case in load_corpus() {
        let mut flipped = case.clone();
        flipped.expect = match case.expect {
            Expect::Same => Expect::Different,
            Expect::Different => Expect::Same,
        };
        assert!(
            !check_case(&flipped).is_empty(),
            "case `{}` passes with its expectation flipped",
            case.name
        );
    }
}

#[test]
fn the_checker_reports_a_wrong_title_or_culprit() {
    let corpus = load_corpus();
    let case = corpus
        .iter()
        .find(|c| c.title.is_some() && c.culprit.is_some())
        .expect("a case that checks a title and a culprit");
    let mut wrong_title = case.clone();
    wrong_title.title = Some("not the title".into());
    assert!(!check_case(&wrong_title).is_empty());
    let mut wrong_culprit = case.clone();
    wrong_culprit.culprit = Some("not the culprit".into());
    assert!(!check_case(&wrong_culprit).is_empty());
}
