//! Native function names as Sentry groups them: a demangled C++, Rust, Swift or MSVC signature
//! cut down to the function's own name, so argument lists, return types, template arguments,
//! lambda numbering and build-specific hashes do not split issues.
//! `(anonymous namespace)::crash(int, int)` → `(anonymous namespace)::crash`,
//! `std::vector<int>::push_back(int const&)` → `std::vector<T>::push_back`,
//! `core::panicking::panic::h1a2b3c4d5e6f7a8b` → `core::panicking::panic`.

use std::sync::LazyLock;

use regex::Regex;

static LAMBDA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{lambda\(.*?\)#\d+\}|\blambda_[a-f0-9]{32}\b|\$_\d+\b").expect("the lambda pattern compiles")
});
static LAMBDA_AT_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\{lambda\(.*?\)#\d+\}|\blambda_[a-f0-9]{32}\b|\$_\d+\b)").expect("the lambda pattern compiles")
});
static MSVC_ANON_NAMESPACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\?A0x[a-f0-9]{8}::").expect("the namespace pattern compiles"));
static CPP_TRAILER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\bconst\b|&)$").expect("the trailer pattern compiles"));
static RUST_BLANKET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([A-Z] as )").expect("compiles"));
static RUST_HASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"::h[a-z0-9]{16}$").expect("compiles"));
static GNU_VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"@@?GLIBC_([0-9.]+)$").expect("compiles"));
static WINDECL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^@?(.*?)@[0-9]+$").expect("compiles"));

const ANON: &str = "〔anonymousnamespace〕";

/// The name a native frame's function groups by.
pub(crate) fn trim(function: &str, platform: &str) -> String {
    if function == "<redacted>" || function == "<unknown>" {
        return function.to_string();
    }
    let original = function;
    let mut f = function.trim().to_string();
    // Objective-C selectors are names already.
    if f.starts_with('[') || f.starts_with("+[") || f.starts_with("-[") {
        return f;
    }
    // `[clone .cold.1]` and the like mark copies of one function.
    f = replace_enclosed(&f, '[', ']', &mut |inner, _| {
        if inner.starts_with("clone .") {
            String::new()
        } else {
            format!("[{inner}]")
        }
    })
    .trim_end()
    .to_string();
    while let Some(m) = CPP_TRAILER.find(&f) {
        f = f[..m.start()].trim_end().to_string();
    }
    // Operators would unbalance the brackets: stand-ins until the end.
    f = f
        .replace("operator<<", "operator⟨⟨")
        .replace("operator<", "operator⟨")
        .replace("operator()", "operator◯")
        .replace("operator->", "operator⟿")
        .replace(" -> ", " ⟿ ")
        .replace("`anonymous namespace'", ANON);
    if f.contains("lambda") || f.contains("$_") {
        f = LAMBDA.replace_all(&f, "lambda").into_owned();
    }
    if f.contains("?A0x") {
        f = MSVC_ANON_NAMESPACE
            .replace_all(&f, format!("{ANON}::").as_str())
            .into_owned();
    }
    f = replace_enclosed(&f, '(', ')', &mut |inner, _| {
        let inner = inner.trim();
        if inner == "anonymous namespace" || inner == "operator" {
            format!("({inner})")
        } else {
            String::new()
        }
    });
    f = replace_enclosed(&f, '<', '>', &mut generics);
    let is_thunk = f.contains("thunk for ");
    let mut tokens = split_tokens(&f);
    if tokens.len() > 1 && tokens.last().map(String::as_str) == Some("<T>") {
        tokens.pop();
        if let Some(last) = tokens.last_mut() {
            last.push_str(" <T>");
        }
    }
    let func_token = if f.contains("initialization expression of") {
        tokens.iter().rposition(|t| t == "of").and_then(|at| {
            let mut token = tokens.get(at + 1)?.clone();
            if token == "static" {
                token = tokens.get(at + 2)?.clone();
            }
            Some(format!(
                "initializer expression of {}",
                token.strip_prefix(':').unwrap_or(&token)
            ))
        })
    } else if let Some(arrow) = tokens.iter().rposition(|t| t == "⟿") {
        let before = arrow.checked_sub(1).and_then(|i| tokens.get(i)).cloned();
        match before.as_deref() {
            Some("throws") => arrow.checked_sub(2).and_then(|i| tokens.get(i)).cloned(),
            _ => before,
        }
    } else {
        tokens.last().cloned()
    };
    let mut out = match func_token {
        Some(mut token) if !token.is_empty() => {
            if token.starts_with('@') && matches!(platform, "cocoa" | "swift") {
                token = format!("{}closure", if is_thunk { "thunk for " } else { "" });
            } else if tokens.iter().any(|t| t == "closure") && token != "closure" {
                token = format!("closure in {token}");
            }
            token
                .replace('⟨', "<")
                .replace('◯', "()")
                .replace('⟿', "->")
                .replace(ANON, "`anonymous namespace'")
        }
        _ => original.to_string(),
    };
    if out.contains("::h") {
        out = RUST_HASH.replace(&out, "").into_owned();
    }
    if out.contains("@GLIBC_") {
        out = GNU_VERSION.replace(&out, "").into_owned();
    }
    if out.contains('@') {
        out = WINDECL.replace(&out, "$1").into_owned();
    }
    out
}

/// Template arguments become `<T>`, except a Rust trait qualifier at the start
/// (`<Foo as Bar>::baz` keeps `Foo`) and lambdas.
fn generics(inner: &str, start: usize) -> String {
    if inner == "lambda" || LAMBDA_AT_START.is_match(inner) {
        return format!("<{inner}>");
    }
    if start > 0 {
        return "<T>".into();
    }
    let inner = RUST_BLANKET.replace(inner, "").into_owned();
    let inner = replace_enclosed(&inner, '<', '>', &mut generics);
    inner.split(" as ").next().unwrap_or(&inner).to_string()
}

/// Each outermost `open … close` span replaced by what `replace` makes of its inside (and its
/// position, in characters).
fn replace_enclosed(s: &str, open: char, close: char, replace: &mut dyn FnMut(&str, usize) -> String) -> String {
    if !s.contains(open) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    // Signed, as in Sentry: after an unbalanced closer nothing is kept until an opener.
    let mut depth = 0isize;
    let mut start = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        if c == open {
            if depth == 0 {
                start = i;
            }
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                let inner: String = chars[(start + 1).min(i)..i].iter().collect();
                out.push_str(&replace(&inner, start));
            }
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// Whitespace-separated tokens, keeping bracketed spans (`foo(int, int)`) whole.
fn split_tokens(s: &str) -> Vec<String> {
    if !s
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '(' | '{' | '<' | '['))
    {
        return vec![s.to_string()];
    }
    let chars: Vec<char> = s.chars().collect();
    let closer = |c: char| match c {
        '(' => Some(')'),
        '{' => Some('}'),
        '[' => Some(']'),
        '<' => Some('>'),
        _ => None,
    };
    let (mut rv, mut buf, mut stack): (Vec<String>, Vec<String>, Vec<char>) = (Vec::new(), Vec::new(), Vec::new());
    let mut end = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        if let Some(close) = closer(c) {
            stack.push(close);
        } else if stack.last() == Some(&c) {
            stack.pop();
            if stack.is_empty() {
                buf.push(chars[end..=i].iter().collect());
                end = i + 1;
            }
        } else if stack.is_empty() {
            if c.is_whitespace() {
                if !buf.is_empty() {
                    rv.push(buf.concat());
                }
                buf.clear();
            } else {
                buf.push(chars[end..=i].iter().collect());
            }
            end = i + 1;
        }
    }
    if !buf.is_empty() {
        rv.push(buf.concat());
    }
    rv
}

#[cfg(test)]
mod tests {
    use super::trim;

    #[test]
    fn signatures_become_names() {
        let cases = [
            ("(anonymous namespace)::crash(int, int)", "(anonymous namespace)::crash"),
            ("`anonymous namespace'::start()", "`anonymous namespace'::start"),
            ("std::vector<int>::push_back(int const&)", "std::vector<T>::push_back"),
            ("core::panicking::panic::h1a2b3c4d5e6f7a8b", "core::panicking::panic"),
            ("unsigned int whatever(char*) const", "whatever"),
            ("<Foo as Bar>::baz", "Foo::baz"),
            ("main", "main"),
            ("-[UIApplication _run]", "-[UIApplication _run]"),
            ("memcpy@@GLIBC_2.14", "memcpy"),
            ("foo(int) [clone .cold.1]", "foo"),
        ];
        for (raw, name) in cases {
            assert_eq!(trim(raw, "native"), name, "{raw}");
        }
    }
}
