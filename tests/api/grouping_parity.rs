//! Grouping parity with Sentry, measured (issue 16): every grouping input of Sentry's own
//! snapshot tests that we hold (`tests/grouping/sentry/`, sources and commits in
//! `expected.json` and the README there) goes through the ingest path (lenient JSON parse,
//! default scrubbing, normalisation, grouping), and Tocsin's hashes are compared with the hashes
//! Sentry's snapshots record for config `newstyle:2023-01-11`.
//!
//! The test prints every disagreement and the totals, and holds a ratchet: agreement may only
//! grow. When a fix raises a figure, raise its floor here in the same commit.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tocsin::event::scrub::{ScrubConfig, scrub};
use tocsin::event::{NormalizeInput, normalize, parse_lenient};
use tocsin::grouping::{ProjectRules, calculate_with};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grouping/sentry");

/// How many Sentry inputs the set holds. Removing one makes this test fail: the set is not
/// trimmed to look good. Adding one means raising this number.
const INPUTS: usize = 130;

// The ratchet, as measured when the harness was written; raise each as fixes land.
/// Inputs whose first (primary) hash is Sentry's.
const MIN_PRIMARY_AGREEMENT: usize = 129;
/// Inputs whose whole hash list is Sentry's, in order.
const MIN_FULL_AGREEMENT: usize = 129;
/// Pairs of inputs that Sentry puts in one issue and Tocsin does too.
const MIN_PAIRS_KEPT: usize = 55;
/// Pairs of inputs that Tocsin puts in one issue and Sentry does not; may only fall.
const MAX_PAIRS_MERGED_WRONGLY: usize = 0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    #[allow(dead_code)]
    about: String,
    inputs: Vec<Input>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Sentry's input name (its file name without `.json`).
    name: String,
    /// The file in `tests/grouping/sentry/`.
    file: String,
    /// Where the input was read: path and commit in getsentry/sentry.
    #[allow(dead_code)]
    source: Source,
    /// Where the hashes were read.
    #[allow(dead_code)]
    snapshot: Source,
    /// Sentry's hashes in its order (`get_hashes_and_variants`: every variant with a hash, the
    /// system variant last); the first is the primary hash.
    hashes: Vec<String>,
    /// The variant each hash comes from, in the same order.
    variants: Vec<String>,
    /// Fields left out of the copy (none for most inputs; see the README).
    #[serde(default)]
    #[allow(dead_code)]
    trimmed: Option<String>,
    /// What the copier noticed (project rules in `_grouping`, where the hashes came from).
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    #[allow(dead_code)]
    path: String,
    #[allow(dead_code)]
    commit: String,
    #[serde(default)]
    #[allow(dead_code)]
    created: Option<String>,
}

fn load_expected() -> Expected {
    let path = Path::new(DIR).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The project rules an input carries, as Sentry's tests apply them: `_grouping.enhancements`
/// (stack-trace rules, as text) and `_fingerprinting_rules` (fingerprint rules, as JSON: each
/// `{"matchers": [[key, value], …], "fingerprint": [...], "attributes": {"title": …}}`), the
/// latter written back in the rule syntax a project owner types.
fn project_rules_of(raw: &serde_json::Value) -> Result<ProjectRules, String> {
    let stack = raw
        .pointer("/_grouping/enhancements")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let quoted = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut fingerprints = String::new();
    for rule in raw
        .get("_fingerprinting_rules")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let matchers = rule["matchers"]
            .as_array()
            .ok_or("a fingerprint rule without matchers")?;
        for m in matchers {
            let (key, value) = (m[0].as_str().unwrap_or_default(), m[1].as_str().unwrap_or_default());
            let (negated, key) = key.strip_prefix('!').map_or(("", key), |k| ("!", k));
            fingerprints.push_str(&format!("{negated}{key}:{} ", quoted(value)));
        }
        fingerprints.push_str("->");
        for value in rule["fingerprint"].as_array().into_iter().flatten() {
            fingerprints.push_str(&format!(" {}", quoted(value.as_str().unwrap_or_default())));
        }
        if let Some(title) = rule.pointer("/attributes/title").and_then(|t| t.as_str()) {
            fingerprints.push_str(&format!(" title={}", quoted(title)));
        }
        fingerprints.push('\n');
    }
    ProjectRules::parse(stack, &fingerprints)
}

/// Tocsin's hashes for one input file, through the steps ingest takes, with the project rules
/// the input carries; an error names the step.
fn tocsin_hashes(file: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("unreadable: {e}"))?;
    let mut raw = parse_lenient(&bytes).map_err(|e| format!("does not parse: {e}"))?;
    let rules = project_rules_of(&raw).map_err(|e| format!("its project rules do not parse: {e}"))?;
    scrub(&mut raw, &ScrubConfig::default());
    let input = NormalizeInput {
        envelope_event_id: None,
        client_ip: None,
        received: 1_795_543_200.0,
    };
    let event = normalize(raw, &input).map_err(|e| format!("does not normalise: {e}"))?;
    Ok(calculate_with(&event, &rules).hashes)
}

struct Outcome<'a> {
    input: &'a Input,
    tocsin: Result<Vec<String>, String>,
}

impl Outcome<'_> {
    fn primary_agrees(&self) -> bool {
        matches!(&self.tocsin, Ok(h) if h.first() == self.input.hashes.first())
    }
    fn full_agrees(&self) -> bool {
        matches!(&self.tocsin, Ok(h) if *h == self.input.hashes)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Measurement {
    inputs: usize,
    primary: usize,
    full: usize,
    sentry_pairs: usize,
    pairs_kept: usize,
    pairs_merged_wrongly: usize,
    report: String,
}

fn share_a_hash(a: &[String], b: &[String]) -> bool {
    a.iter().any(|h| b.contains(h))
}

fn measure(inputs: &[Input], hashes_of: impl Fn(&Input) -> Result<Vec<String>, String>) -> Measurement {
    let outcomes: Vec<Outcome> = inputs
        .iter()
        .map(|input| Outcome {
            input,
            tocsin: hashes_of(input),
        })
        .collect();
    let mut m = Measurement {
        inputs: inputs.len(),
        primary: outcomes.iter().filter(|o| o.primary_agrees()).count(),
        full: outcomes.iter().filter(|o| o.full_agrees()).count(),
        ..Measurement::default()
    };

    let mut report = String::new();
    report.push_str("Inputs where Tocsin's primary hash is not Sentry's:\n");
    report.push_str(&format!(
        "{:<58} {:<44} Tocsin's hashes\n",
        "input", "Sentry's primary (variant)"
    ));
    for o in outcomes.iter().filter(|o| !o.primary_agrees()) {
        let sentry = format!(
            "{} ({})",
            o.input.hashes.first().map_or("-", String::as_str),
            o.input.variants.first().map_or("-", String::as_str)
        );
        let tocsin = match &o.tocsin {
            Ok(h) => h.join(" "),
            Err(e) => format!("ERROR {e}"),
        };
        report.push_str(&format!("{:<58} {:<44} {}\n", o.input.name, sentry, tocsin));
    }
    report.push_str("\nInputs where the primary hash agrees but the hash list does not:\n");
    for o in outcomes.iter().filter(|o| o.primary_agrees() && !o.full_agrees()) {
        let tocsin = o.tocsin.as_ref().map(|h| h.join(" ")).unwrap_or_default();
        report.push_str(&format!(
            "{:<58} Sentry {} / Tocsin {}\n",
            o.input.name,
            o.input.hashes.join(" "),
            tocsin
        ));
    }

    let mut lost = Vec::new();
    let mut merged = Vec::new();
    for (i, a) in outcomes.iter().enumerate() {
        for b in &outcomes[i + 1..] {
            let sentry = share_a_hash(&a.input.hashes, &b.input.hashes);
            let tocsin = match (&a.tocsin, &b.tocsin) {
                (Ok(x), Ok(y)) => share_a_hash(x, y),
                _ => false,
            };
            match (sentry, tocsin) {
                (true, true) => {
                    m.sentry_pairs += 1;
                    m.pairs_kept += 1;
                }
                (true, false) => {
                    m.sentry_pairs += 1;
                    lost.push(format!("{} + {}", a.input.name, b.input.name));
                }
                (false, true) => {
                    m.pairs_merged_wrongly += 1;
                    merged.push(format!("{} + {}", a.input.name, b.input.name));
                }
                (false, false) => {}
            }
        }
    }
    report.push_str("\nPairs Sentry groups together and Tocsin does not:\n");
    for p in &lost {
        report.push_str(&format!("    {p}\n"));
    }
    report.push_str("\nPairs Tocsin groups together and Sentry does not:\n");
    for p in &merged {
        report.push_str(&format!("    {p}\n"));
    }
    report.push_str(&format!(
        "\nTotals: primary hash {}/{}, full hash list {}/{}, pairs Sentry groups together kept {}/{}, \
         pairs merged that Sentry keeps apart {}\n",
        m.primary, m.inputs, m.full, m.inputs, m.pairs_kept, m.sentry_pairs, m.pairs_merged_wrongly
    ));
    m.report = report;
    m
}

fn input_path(input: &Input) -> PathBuf {
    Path::new(DIR).join(&input.file)
}

#[test]
fn tocsin_groups_sentrys_own_grouping_inputs_at_least_as_sentry_does_as_when_last_measured() {
    let expected = load_expected();
    let inputs = &expected.inputs;

    // The set is whole: the count, one entry per file, one file per entry, sane hashes.
    assert_eq!(
        inputs.len(),
        INPUTS,
        "expected.json lists {} inputs, not {INPUTS}",
        inputs.len()
    );
    let mut names = HashSet::new();
    for input in inputs {
        assert!(names.insert(input.name.as_str()), "`{}` is listed twice", input.name);
        assert!(
            input_path(input).is_file(),
            "`{}` has no file {}",
            input.name,
            input.file
        );
        assert!(!input.hashes.is_empty(), "`{}` has no Sentry hash", input.name);
        assert_eq!(
            input.hashes.len(),
            input.variants.len(),
            "`{}`: one variant per hash",
            input.name
        );
        for h in &input.hashes {
            assert!(
                h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()),
                "`{}`: {h:?} is not a hash",
                input.name
            );
        }
    }
    let listed: BTreeSet<&str> = inputs.iter().map(|i| i.file.as_str()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(DIR)
        .expect("the input directory")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "expected.json")
        .collect();
    let unlisted: Vec<&String> = on_disk.iter().filter(|f| !listed.contains(f.as_str())).collect();
    assert!(
        unlisted.is_empty(),
        "input files that expected.json does not list: {unlisted:?}"
    );

    let m = measure(inputs, |input| tocsin_hashes(&input_path(input)));
    println!("{}", m.report);

    let floors = [
        ("primary-hash agreement", m.primary, MIN_PRIMARY_AGREEMENT),
        ("full hash-list agreement", m.full, MIN_FULL_AGREEMENT),
        (
            "pairs Sentry groups together that Tocsin keeps together",
            m.pairs_kept,
            MIN_PAIRS_KEPT,
        ),
    ];
    for (what, got, floor) in floors {
        assert!(
            got >= floor,
            "{what} fell to {got}, below the floor {floor}:\n{}",
            m.report
        );
    }
    // (`checked_sub`: with a ceiling of 0, `<=` is a comparison clippy calls absurd.)
    assert!(
        MAX_PAIRS_MERGED_WRONGLY.checked_sub(m.pairs_merged_wrongly).is_some(),
        "Tocsin now merges {} pairs of inputs that Sentry keeps apart, more than {MAX_PAIRS_MERGED_WRONGLY}:\n{}",
        m.pairs_merged_wrongly,
        m.report
    );
}

#[test]
fn the_parity_measurement_counts_a_wrong_hash_against_tocsin() {
    // The counting itself: one altered Sentry hash costs exactly one primary agreement, one
    // full agreement, and every pair that input was in.
    let expected = load_expected();
    let inputs = &expected.inputs;
    let hashes_of = |input: &Input| tocsin_hashes(&input_path(input));
    let before = measure(inputs, hashes_of);
    let Some(victim) = inputs.iter().position(|i| hashes_of(i).is_ok_and(|h| h == i.hashes)) else {
        panic!("no input agrees fully; the self-check needs one");
    };
    let mut altered = inputs.clone();
    altered[victim].hashes = vec!["0123456789abcdef0123456789abcdef".to_string()];
    altered[victim].variants = vec!["app".to_string()];
    let after = measure(&altered, hashes_of);
    assert_eq!(after.primary + 1, before.primary);
    assert_eq!(after.full + 1, before.full);
    assert!(after.pairs_kept <= before.pairs_kept);
    assert!(after.report.contains(&altered[victim].name));
}
