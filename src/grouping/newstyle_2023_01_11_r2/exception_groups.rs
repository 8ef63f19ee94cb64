//! Exception groups (Python's `ExceptionGroup`, .NET's `AggregateException`, JS's
//! `AggregateError`): which exceptions of the chain group the event, as Sentry decides it
//! (its RFC 79). Exceptions name their place in the tree with `mechanism.exception_id` and
//! `parent_id`, and a group says `is_exception_group`. The "top-level" exceptions are the
//! first ones below the root that are not groups themselves:
//! - when they are all alike (the same contributing values), the event groups as that one
//!   exception and the first path of its children: `Group[E, E, E]` is one `E`;
//! - otherwise by one of each kind, ordered by type (descending), and the root group last.
//!
//! Anything that does not make a tree (an exception without an id, no root, a cycle) groups
//! by the whole chain, as Sentry falls back when its filter fails.

use std::collections::HashMap;

use serde_json::Value;

use super::{StackContributes, Variants};
use crate::event::Exception;

/// Deeper trees than this are treated as broken (a cycle, or an attack).
const MAX_DEPTH: usize = 64;

#[derive(Default)]
struct Node {
    exception: Option<usize>,
    children: Vec<usize>,
}

fn mechanism_int(e: &Exception, key: &str) -> Option<i64> {
    e.mechanism.as_ref()?.get(key)?.as_i64()
}

fn is_group(e: &Exception) -> bool {
    e.mechanism
        .as_ref()
        .and_then(|m| m.get("is_exception_group"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The indices of `exceptions` that group the event, in hashing order.
pub(super) fn filter(exceptions: &[Exception], each: &[(Variants, StackContributes)]) -> Vec<usize> {
    let all: Vec<usize> = (0..exceptions.len()).collect();
    if exceptions.len() <= 1 {
        return all;
    }
    let mut tree: HashMap<i64, Node> = HashMap::new();
    // Newest first, as Sentry builds it: children end up in reverse order of the chain.
    for i in (0..exceptions.len()).rev() {
        let Some(id) = mechanism_int(&exceptions[i], "exception_id") else {
            return all;
        };
        tree.entry(id).or_default().exception = Some(i);
        if let Some(parent) = mechanism_int(&exceptions[i], "parent_id") {
            // An exception that is its own parent is no tree: Sentry hashes the whole chain
            // (`exception-groups-bad-inner-self-parenting`).
            if parent == id {
                return all;
            }
            tree.entry(parent).or_default().children.push(i);
        }
    }
    let Some(root) = tree.get(&0).and_then(|n| n.exception) else {
        return all;
    };
    let children = |i: usize| -> &[usize] {
        mechanism_int(&exceptions[i], "exception_id")
            .and_then(|id| tree.get(&id))
            .map_or(&[], |n| n.children.as_slice())
    };
    let mut top = Vec::new();
    if !top_level(root, exceptions, &children, 0, &mut top) {
        return all;
    }
    // By type, descending; a stable sort keeps the tree's order among equal types.
    top.sort_by(|&a, &b| type_name(&exceptions[b]).cmp(type_name(&exceptions[a])));
    let mut distinct: Vec<usize> = Vec::new();
    for i in top {
        let same_as_last = distinct.last().is_some_and(|&j| same_values(&each[i].0, &each[j].0));
        if !same_as_last {
            distinct.push(i);
        }
    }
    if distinct.len() == 1 {
        // The one exception and the first path of its children.
        let mut path = vec![distinct[0]];
        let mut at = distinct[0];
        while let Some(&first) = children(at).first() {
            if path.len() > MAX_DEPTH {
                return all;
            }
            path.push(first);
            at = first;
        }
        return path;
    }
    distinct.push(root);
    distinct
}

/// The first exceptions below `i` that are not groups; `false` for a tree too deep to be one.
fn top_level<'a>(
    i: usize,
    exceptions: &[Exception],
    children: &impl Fn(usize) -> &'a [usize],
    depth: usize,
    out: &mut Vec<usize>,
) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if !is_group(&exceptions[i]) {
        out.push(i);
        return true;
    }
    children(i)
        .iter()
        .all(|&c| top_level(c, exceptions, children, depth + 1, out))
}

/// Python's `str(exception.type)`: a missing type is "None".
fn type_name(e: &Exception) -> &str {
    e.ty.as_deref().unwrap_or("None")
}

fn same_values(a: &Variants, b: &Variants) -> bool {
    a.app.hash_values() == b.app.hash_values() && a.system.hash_values() == b.system.hash_values()
}
