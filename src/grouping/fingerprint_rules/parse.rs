//! Reading fingerprint rules: one line, one rule (see the module above for the syntax).

use globset::{GlobBuilder, GlobMatcher};

use super::{FingerprintMatch, Matcher, Rule, Test};

/// A line's text still to read.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    /// Nothing but spaces or a `#` comment is left.
    fn at_end(&mut self) -> bool {
        self.rest = self.rest.trim_start();
        self.rest.is_empty() || self.rest.starts_with('#')
    }

    fn eat(&mut self, prefix: &str) -> bool {
        self.rest.strip_prefix(prefix).map(|rest| self.rest = rest).is_some()
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    /// A `"…"` string at the cursor. `\"` and `\\` are escapes; any other backslash stays, for
    /// the glob (`\*` is a literal star).
    fn quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    Some((_, e)) => out.extend(['\\', e]),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("an unclosed quote".into())
    }

    /// A quoted string, or the characters up to one of `stop`.
    fn value(&mut self, stop: impl Fn(char) -> bool) -> Result<String, String> {
        match self.rest.starts_with('"') {
            true => self.quoted(),
            false => Ok(self.take_while(|c| !stop(c)).to_string()),
        }
    }
}

pub(super) fn parse_rule(line: &str) -> Result<Option<Rule>, String> {
    let mut cur = Cursor { rest: line };
    if cur.at_end() {
        return Ok(None);
    }
    let (mut matchers, mut text) = (Vec::new(), Vec::new());
    let no_arrow = "no `->` between the matchers and the fingerprint";
    loop {
        if cur.at_end() {
            return Err(no_arrow.into());
        }
        if cur.eat("->") {
            break;
        }
        // Without an arrow ahead, a word that is no matcher is most likely the fingerprint.
        let arrow_ahead = cur.rest.contains("->");
        let (matcher, written) = parse_matcher(&mut cur).map_err(|e| if arrow_ahead { e } else { no_arrow.into() })?;
        matchers.push(matcher);
        text.push(written);
    }
    if matchers.is_empty() {
        return Err("no matcher before `->`".into());
    }
    let mut fingerprint = Vec::new();
    let mut title = None;
    while !cur.at_end() {
        if cur.rest.starts_with("{{") {
            let end = cur.rest.find("}}").ok_or("an unclosed `{{`")? + 2;
            let (var, rest) = cur.rest.split_at(end);
            cur.rest = rest;
            let name = variable(var).ok_or_else(|| format!("{var:?} is not a variable like {{{{ default }}}}"))?;
            fingerprint.push(format!("{{{{ {name} }}}}"));
        } else if cur.rest.starts_with(',') {
            return Err("a `,` without a value before it".into());
        } else {
            let value = cur.value(|c| c.is_whitespace() || c == ',' || c == '"')?;
            match value.strip_suffix('=') {
                // `key="…"` is an attribute; Sentry knows only `title`.
                Some(key) if cur.rest.starts_with('"') => match key {
                    "title" => title = Some(cur.quoted()?),
                    other => return Err(format!("unknown attribute {other:?} (only title=\"…\")")),
                },
                _ if value.starts_with("title=") => return Err("title needs a quoted value: title=\"…\"".into()),
                _ => fingerprint.push(match variable(&value) {
                    Some(name) => format!("{{{{ {name} }}}}"),
                    None => value,
                }),
            }
        }
        cur.at_end();
        cur.eat(",");
    }
    if fingerprint.is_empty() {
        return Err("an empty fingerprint after `->`".into());
    }
    // One canonical spelling (short keys, quoted patterns) that parses back to the same rule.
    text.push("->".into());
    text.extend(fingerprint.iter().map(|v| if bare(v) { v.clone() } else { quote(v) }));
    text.extend(title.as_deref().map(|t| format!("title={}", quote(t))));
    let result = FingerprintMatch {
        text: text.join(" "),
        fingerprint,
        title,
    };
    Ok(Some(Rule { matchers, result }))
}

/// A matcher, and its canonical text.
fn parse_matcher(cur: &mut Cursor<'_>) -> Result<(Matcher, String), String> {
    let negated = cur.eat("!");
    let key = cur.value(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))?;
    if key.is_empty() || !cur.eat(":") {
        let found = cur.take_while(|c| !c.is_whitespace());
        return Err(format!(
            "expected a matcher `key:value`, found {:?}",
            format!("{key}{found}")
        ));
    }
    let pattern = cur.value(char::is_whitespace)?;
    if pattern.is_empty() {
        return Err(format!("matcher {key:?} has no value"));
    }
    let glob_as = |kind| glob(&pattern, kind);
    let list = || pattern.split(',').map(|v| v.trim().to_string()).collect();
    let (short, test) = match key.as_str() {
        "message" => ("message", Test::Message(glob_as(Kind::IgnoreCase)?)),
        "type" | "error.type" => ("type", Test::Type(glob_as(Kind::Exact)?)),
        "value" | "error.value" => ("value", Test::Value(glob_as(Kind::IgnoreCase)?)),
        "function" | "stack.function" => ("function", Test::Function(glob_as(Kind::Exact)?)),
        "module" | "stack.module" => ("module", Test::Module(glob_as(Kind::Exact)?)),
        "path" | "stack.abs_path" => ("path", Test::Path(glob_as(Kind::Path)?)),
        "package" | "stack.package" => ("package", Test::Package(glob_as(Kind::Path)?)),
        "app" => ("app", Test::App(yes_no(&pattern)?)),
        "logger" => ("logger", Test::Logger(glob_as(Kind::Exact)?)),
        "level" => ("level", Test::Level(glob_as(Kind::IgnoreCase)?)),
        "release" => ("release", Test::Release(glob_as(Kind::Path)?)),
        "family" => ("family", Test::Family(list())),
        "sdk" => ("sdk", Test::Sdk(list())),
        tag if tag.len() > 5 && tag.starts_with("tags.") => {
            (tag, Test::Tag(tag[5..].to_string(), glob_as(Kind::Exact)?))
        }
        other => return Err(format!("unknown matcher {other:?}")),
    };
    let text = format!("{}{short}:{}", if negated { "!" } else { "" }, quote(&pattern));
    Ok((Matcher { negated, test }, text))
}

fn yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" => Ok(true),
        "0" | "no" | "false" => Ok(false),
        _ => Err(format!("app:{value} (yes or no)")),
    }
}

/// How a pattern compares, per field as Sentry's matchers do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `*` matches anything, case counts.
    Exact,
    IgnoreCase,
    /// Case-insensitive, `\` read as `/`, `*` within one folder and `**` across.
    Path,
}

fn glob(pattern: &str, kind: Kind) -> Result<GlobMatcher, String> {
    let pattern = match kind {
        Kind::Path => pattern.replace('\\', "/"),
        _ => pattern.to_string(),
    };
    GlobBuilder::new(&pattern)
        .case_insensitive(kind != Kind::Exact)
        .literal_separator(kind == Kind::Path)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("bad pattern {pattern:?}: {e}"))
}

/// The name in `{{ name }}`, any spaces inside the braces.
fn variable(value: &str) -> Option<&str> {
    let name = value.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A fingerprint value that reads back the same unquoted.
fn bare(value: &str) -> bool {
    variable(value).is_some()
        || !(value.is_empty() || value.contains(|c: char| c.is_whitespace() || "\",#{}=\\".contains(c)))
}
