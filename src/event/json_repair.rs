//! Old Python agents (raven-python, early sentry-python) serialise float NaN and infinities as
//! the bare tokens `NaN`, `Infinity` and `-Infinity`, which are not JSON. Relay repairs them;
//! so do we, by turning each such token outside a string into `null`, but only after a strict
//! parse failed, so well-formed bodies pay nothing.

use serde_json::Value;

/// Parses JSON, tolerating `NaN`/`Infinity` tokens outside strings.
pub fn parse_lenient(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(first) => match repair(bytes) {
            Some(repaired) => serde_json::from_slice(&repaired).map_err(|_| first),
            None => Err(first),
        },
    }
}

/// Returns the repaired text, or `None` when there was nothing to repair.
fn repair(bytes: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut i = 0;
    'outer: while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            for token in TOKENS {
                if bytes[i..].starts_with(token) {
                    out.extend_from_slice(b"null");
                    i += token.len();
                    changed = true;
                    continue 'outer;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nan_and_infinities_outside_strings_become_null() {
        let v = parse_lenient(br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN"}"#).unwrap();
        assert_eq!(v, json!({"a": null, "b": [null, null], "c": "NaN"}));
    }

    #[test]
    fn other_malformed_json_still_fails() {
        assert!(parse_lenient(br#"{"a": nope}"#).is_err());
        assert!(parse_lenient(br#"{"a": "\"NaN"#).is_err());
    }
}
