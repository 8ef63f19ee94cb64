//! A rule set indexed by what its rules need of a frame, so that a stack trace meets only the
//! rules that could match one of its frames.
//!
//! Most built-in rules name a module prefix (`module:android.os.*`) or an exact function
//! (`function:runMicrotasks`), and most frames of a Python, Java or JavaScript event have a
//! module whose first segment no rule names. Testing every rule against every frame cost
//! ~10 µs for a 5-frame Python event (issue 16's budget is 50 µs for the whole ingest step);
//! the index leaves only the rules that could match (path rules, category rules, the rules of
//! the frames' own module heads) and keeps their order, which the first pass depends on.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use super::parse::{Action, FrameMatcher, Matcher, Pattern, Rule, Test, parse_rules};

/// A set of rule positions.
#[derive(Debug, Clone, Default)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    fn with_len(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn union(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    /// The positions held, in increasing order.
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

/// What a rule requires of the frame it matches, when that can be looked up.
enum Key {
    /// The frame's module starts with this segment (up to the first `.` or `/`).
    ModuleHead(String),
    /// The frame's function is exactly this.
    Function(String),
    /// The frame's path (lowercased, `/`-separated) holds this text.
    Path(String),
    /// The frame's package holds this text.
    Package(String),
}

/// The first segment of a module: up to the first `.` or `/`.
pub(super) fn module_head(module: &str) -> &str {
    module.split(['.', '/']).next().unwrap_or(module)
}

/// Text that any path a path pattern matches must hold (paths and patterns are lowercase, and
/// a relative path is also tried with a leading `/`, so that `/` is left out).
fn path_literal(pattern: &Pattern) -> Option<String> {
    let text = match pattern {
        Pattern::Exact(p) | Pattern::Prefix(p) | Pattern::Contains(p) => p.as_str(),
        Pattern::Within { leading, .. } => leading.as_str(),
        // Of a glob of plain text and `*`/`?` only, its longest run of plain text.
        Pattern::Glob(g) => {
            let glob = g.glob().glob();
            if glob.contains(['[', ']', '{', '}', '\\']) {
                return None;
            }
            glob.split(['*', '?']).max_by_key(|chunk| chunk.len())?
        }
    };
    let text = text.trim_start_matches('/');
    (text.len() >= 3).then(|| text.to_string())
}

fn key(rule: &Rule) -> Option<Key> {
    let own = rule.matchers.iter().filter_map(|m| match m {
        Matcher::Frame(f @ FrameMatcher { negated: false, .. }) => Some(&f.test),
        _ => None,
    });
    let mut function = None;
    let mut path = None;
    for test in own {
        match test {
            // A literal or a prefix that ends past its first segment: a frame's module must
            // have that segment as its head.
            Test::Module(Pattern::Exact(p)) => return Some(Key::ModuleHead(module_head(p).to_string())),
            Test::Module(Pattern::Prefix(p)) if module_head(p).len() < p.len() => {
                return Some(Key::ModuleHead(module_head(p).to_string()));
            }
            Test::Function(Pattern::Exact(f)) => function = Some(Key::Function(f.clone())),
            Test::Path(p) if path.is_none() => path = path_literal(p).map(Key::Path),
            Test::Package(p) if path.is_none() => path = path_literal(p).map(Key::Package),
            _ => {}
        }
    }
    function.or(path)
}

/// Literals looked for in one pass over a text, each with the rules it keys.
#[derive(Debug)]
struct LiteralIndex {
    finder: Option<AhoCorasick>,
    rules: Vec<Bits>,
}

impl LiteralIndex {
    fn new(literals: Vec<(String, Bits)>) -> LiteralIndex {
        let finder = (!literals.is_empty())
            .then(|| AhoCorasick::new(literals.iter().map(|(l, _)| l)).expect("literal patterns build"));
        LiteralIndex {
            finder,
            rules: literals.into_iter().map(|(_, b)| b).collect(),
        }
    }

    fn add_hits(&self, text: &str, bits: &mut Bits) {
        let Some(finder) = &self.finder else { return };
        for hit in finder.find_overlapping_iter(text) {
            bits.union(&self.rules[hit.pattern().as_usize()]);
        }
    }
}

/// What the index looks up of a frame (paths and packages as matchers read them).
pub(super) struct FrameKeys<'a> {
    pub module: Option<&'a str>,
    pub function: &'a str,
    pub path: Option<&'a str>,
    pub package: Option<&'a str>,
}

/// Rules in file order, with what a pass needs to skip the rest at once.
#[derive(Debug)]
pub struct RuleSet {
    pub(super) rules: Vec<Rule>,
    /// Rules that change frames (pass 1) and rules that change grouping or the stack trace's
    /// frame limits (pass 2).
    pub(super) modifies: Vec<bool>,
    pub(super) groups: Vec<bool>,
    /// Rules that have to be tried whatever the frames' modules and functions.
    always: Bits,
    by_module_head: HashMap<String, Bits>,
    by_function: HashMap<String, Bits>,
    by_path: LiteralIndex,
    by_package: LiteralIndex,
}

impl RuleSet {
    pub fn parse(text: &str) -> Result<RuleSet, String> {
        Ok(RuleSet::new(parse_rules(text)?))
    }

    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let len = rules.len();
        let mut set = RuleSet {
            modifies: rules
                .iter()
                .map(|r| {
                    r.actions
                        .iter()
                        .any(|a| matches!(a, Action::App { .. } | Action::Category(_)))
                })
                .collect(),
            groups: rules
                .iter()
                .map(|r| {
                    r.actions
                        .iter()
                        .any(|a| matches!(a, Action::Group { .. } | Action::MaxFrames(_) | Action::MinFrames(_)))
                })
                .collect(),
            always: Bits::with_len(len),
            by_module_head: HashMap::new(),
            by_function: HashMap::new(),
            by_path: LiteralIndex::new(Vec::new()),
            by_package: LiteralIndex::new(Vec::new()),
            rules: Vec::new(),
        };
        let mut paths: HashMap<String, Bits> = HashMap::new();
        let mut packages: HashMap<String, Bits> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let bits = match key(rule) {
                None => &mut set.always,
                Some(Key::ModuleHead(head)) => set.by_module_head.entry(head).or_insert_with(|| Bits::with_len(len)),
                Some(Key::Function(f)) => set.by_function.entry(f).or_insert_with(|| Bits::with_len(len)),
                Some(Key::Path(p)) => paths.entry(p).or_insert_with(|| Bits::with_len(len)),
                Some(Key::Package(p)) => packages.entry(p).or_insert_with(|| Bits::with_len(len)),
            };
            bits.insert(i);
        }
        set.by_path = LiteralIndex::new(paths.into_iter().collect());
        set.by_package = LiteralIndex::new(packages.into_iter().collect());
        set.rules = rules;
        set
    }

    /// The rules that could match a frame of a stack trace with these frames.
    pub(super) fn candidates<'a>(&self, frames: impl Iterator<Item = FrameKeys<'a>>) -> Bits {
        let mut bits = self.always.clone();
        for frame in frames {
            if let Some(b) = frame.module.and_then(|m| self.by_module_head.get(module_head(m))) {
                bits.union(b);
            }
            if let Some(b) = self.by_function.get(frame.function) {
                bits.union(b);
            }
            if let Some(path) = frame.path {
                self.by_path.add_hits(path, &mut bits);
            }
            if let Some(package) = frame.package {
                self.by_package.add_hits(package, &mut bits);
            }
        }
        bits
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_indexed_by_module_head_and_exact_function_and_keep_their_order() {
        let set = RuleSet::parse(
            "module:android.os.* category=system\n\
             path:**/node_modules/** -app\n\
             function:runMicrotasks -app -group\n\
             module:kotlin* -app\n\
             module:@babel/** -app -group\n\
             !module:java.* -group\n\
             module:newrelic -app\n\
             path:**/*logrocket*/** -app\n\
             package:\"**/libBugly.so\" category=telemetry\n\
             path:\"**/[ab]/**\" -app\n\
             path:/opt/app/** +app\n",
        )
        .unwrap();
        let picked = |module: &str, function: &str, path: Option<&str>, package: Option<&str>| -> Vec<usize> {
            let keys = FrameKeys {
                module: Some(module),
                function,
                path,
                package,
            };
            set.candidates(std::iter::once(keys)).iter().collect()
        };
        // The prefix without a whole segment, the negated matcher and the glob with a class are always tried.
        assert_eq!(picked("flask.app", "index", Some("/srv/app.py"), None), [3, 5, 9]);
        assert_eq!(
            picked("android.os.Handler", "runMicrotasks", Some("x/node_modules/y.js"), None),
            [0, 1, 2, 3, 5, 9]
        );
        assert_eq!(
            picked("@babel/runtime/helpers", "f", None, Some("/lib/libbugly.so")),
            [3, 4, 5, 8, 9]
        );
        assert_eq!(
            picked("newrelic", "f", Some("a/my-logrocket-x/b.js"), None),
            [3, 5, 6, 7, 9]
        );
        // Relative paths are tried with a leading `/`: the literal does not hold it.
        assert_eq!(picked("x", "f", Some("node_modules/y.js"), None), [1, 3, 5, 9]);
        assert_eq!(picked("x", "f", Some("opt/app/y.py"), None), [3, 5, 9, 10]);
        assert_eq!(module_head("android.os.Looper"), "android");
        assert_eq!(module_head("newrelic"), "newrelic");
    }

    #[test]
    fn bits_iterate_in_order_across_words() {
        let mut b = Bits::with_len(200);
        for i in [199, 0, 64, 63, 130] {
            b.insert(i);
        }
        assert_eq!(b.iter().collect::<Vec<_>>(), [0, 63, 64, 130, 199]);
    }
}
