//! Shape coercion on the raw JSON tree, run before the typed model is deserialised. Scalars of
//! the wrong kind are converted where the meaning is clear (`"id": 42` → `"42"`); values that
//! cannot be converted are removed and recorded in the event's `errors`, Relay-style, so one
//! odd field never costs the whole event.

use serde_json::{Map, Value, json};

/// Collects what coercion changed or dropped.
#[derive(Default)]
pub struct Errors(pub Vec<Value>);

impl Errors {
    pub fn invalid(&mut self, name: &str, value: Value) {
        self.0
            .push(json!({"type": "invalid_data", "name": name, "value": value}));
    }

    pub fn push(&mut self, kind: &str, name: &str, value: Value) {
        self.0.push(json!({"type": kind, "name": name, "value": value}));
    }
}

/// What a field of a typed struct must hold.
#[derive(Clone, Copy)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Object,
}

/// Coerces each listed field of `obj` to its kind; `path` prefixes the names in `errors`.
pub fn fields(obj: &mut Map<String, Value>, spec: &[(&str, Kind)], path: &str, errors: &mut Errors) {
    for &(key, kind) in spec {
        let Some(value) = obj.get_mut(key) else {
            continue;
        };
        if value.is_null() {
            obj.remove(key);
            continue;
        }
        if !coerce(value, kind) {
            let bad = obj.remove(key).unwrap_or(Value::Null);
            errors.invalid(&join(path, key), bad);
        }
    }
}

/// Converts `value` in place; `false` when it cannot be.
fn coerce(value: &mut Value, kind: Kind) -> bool {
    match kind {
        Kind::Str => match value {
            Value::String(_) => true,
            Value::Number(n) => {
                *value = Value::String(n.to_string());
                true
            }
            Value::Bool(b) => {
                *value = Value::String(b.to_string());
                true
            }
            _ => false,
        },
        Kind::Int => match value {
            Value::Number(n) if n.is_i64() => true,
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    *value = Value::from(f as i64);
                    true
                }
                _ => false,
            },
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(n) => {
                    *value = Value::from(n);
                    true
                }
                Err(_) => false,
            },
            _ => false,
        },
        Kind::Bool => match value {
            Value::Bool(_) => true,
            Value::String(s) if matches!(s.as_str(), "true" | "false") => {
                *value = Value::Bool(s == "true");
                true
            }
            Value::Number(n) if matches!(n.as_i64(), Some(0 | 1)) => {
                *value = Value::Bool(n.as_i64() == Some(1));
                true
            }
            _ => false,
        },
        Kind::Object => value.is_object(),
    }
}

/// Turns a list, a single object, or `{"values": …}` into `{"values": [...]}`; returns `false`
/// for anything else. A `null` or missing `values` becomes an empty list.
pub fn values_wrapper(value: &mut Value) -> bool {
    match value {
        Value::Array(items) => {
            let items = std::mem::take(items);
            *value = json!({ "values": items });
            true
        }
        Value::Object(obj) => {
            match obj.get("values") {
                Some(Value::Array(_)) => {}
                Some(Value::Null) => {
                    obj.insert("values".into(), Value::Array(vec![]));
                }
                None if obj.is_empty() => {
                    obj.insert("values".into(), Value::Array(vec![]));
                }
                // A single bare item (seen in the wild for `exception`): wrap it.
                None => {
                    let item = std::mem::take(obj);
                    *value = json!({ "values": [Value::Object(item)] });
                }
                Some(_) => return false,
            }
            true
        }
        _ => false,
    }
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_converted_and_structures_are_dropped_with_an_error() {
        let mut obj = json!({"id": 42, "lineno": "12", "in_app": "true", "name": {"x": 1}})
            .as_object()
            .cloned()
            .unwrap();
        let mut errors = Errors::default();
        let spec = [
            ("id", Kind::Str),
            ("lineno", Kind::Int),
            ("in_app", Kind::Bool),
            ("name", Kind::Str),
        ];
        fields(&mut obj, &spec, "user", &mut errors);
        assert_eq!(Value::Object(obj), json!({"id": "42", "lineno": 12, "in_app": true}));
        assert_eq!(
            errors.0,
            vec![json!({"type": "invalid_data", "name": "user.name", "value": {"x": 1}})]
        );
    }

    #[test]
    fn lists_and_single_objects_get_the_values_wrapper() {
        let mut list = json!([{"type": "E"}]);
        assert!(values_wrapper(&mut list));
        assert_eq!(list, json!({"values": [{"type": "E"}]}));
        let mut single = json!({"type": "E"});
        assert!(values_wrapper(&mut single));
        assert_eq!(single, json!({"values": [{"type": "E"}]}));
        let mut null_values = json!({"values": null});
        assert!(values_wrapper(&mut null_values));
        assert_eq!(null_values, json!({"values": []}));
        assert!(!values_wrapper(&mut json!("nope")));
    }
}
