//! The envelope format (PROTOCOL.md §3.2.1): a JSON header line, then items, each a JSON header
//! line and a payload of `length` bytes, or up to the next newline when `length` is absent.

use serde_json::{Map, Value};

/// A parsed envelope, borrowing its payloads from the body.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub headers: Map<String, Value>,
    pub items: Vec<Item<'a>>,
}

#[derive(Debug)]
pub struct Item<'a> {
    /// The item's `type` (unknown types are kept here and skipped by the caller).
    pub ty: String,
    pub headers: Map<String, Value>,
    pub payload: &'a [u8],
}

/// Parses a whole envelope; errors name the byte offset or item that is wrong.
pub fn parse(body: &[u8]) -> Result<Envelope<'_>, String> {
    let (header_line, mut pos) = line_at(body, 0);
    let headers = json_object(header_line).map_err(|e| format!("envelope header: {e}"))?;
    let mut items = Vec::new();
    while pos < body.len() {
        let (line, next) = line_at(body, pos);
        // Tolerate blank lines between items (some hand-written envelopes have them).
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            pos = next;
            continue;
        }
        let n = items.len() + 1;
        let headers = json_object(line).map_err(|e| format!("item {n} header: {e}"))?;
        let ty = match headers.get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(format!("item {n} header has no \"type\"")),
        };
        let (payload, after) = match headers.get("length") {
            None | Some(Value::Null) => line_at(body, next),
            Some(len) => {
                let len = len
                    .as_u64()
                    .and_then(|l| usize::try_from(l).ok())
                    .ok_or_else(|| format!("item {n} has an invalid length {len}"))?;
                let end = next
                    .checked_add(len)
                    .filter(|&end| end <= body.len())
                    .ok_or_else(|| format!("item {n} ({ty}) declares {len} bytes but the envelope ends first"))?;
                match body.get(end) {
                    None => (&body[next..end], end),
                    Some(b'\n') => (&body[next..end], end + 1),
                    Some(_) => {
                        return Err(format!("item {n} ({ty}) payload is not followed by a newline"));
                    }
                }
            }
        };
        items.push(Item { ty, headers, payload });
        pos = after;
    }
    Ok(Envelope { headers, items })
}

/// The line starting at `start` (without its `\n`) and the offset after it.
fn line_at(body: &[u8], start: usize) -> (&[u8], usize) {
    let start = start.min(body.len());
    match body[start..].iter().position(|&b| b == b'\n') {
        Some(i) => (&body[start..start + i], start + i + 1),
        None => (&body[start..], body.len()),
    }
}

fn json_object(line: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("invalid JSON ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_with_and_without_length_and_no_final_newline() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":7}\n{\"a\":1}\n{\"type\":\"client_report\"}\n{\"b\":2}";
        let env = parse(body).unwrap();
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].ty, "event");
        assert_eq!(env.items[0].payload, b"{\"a\":1}");
        assert_eq!(env.items[1].payload, b"{\"b\":2}");
    }

    #[test]
    fn the_develop_spec_edge_cases_parse() {
        // An attachment whose length covers a BOM and a CRLF.
        let body = b"{}\n{\"type\":\"attachment\",\"length\":10}\n\xef\xbb\xbfHello\r\n\n";
        let env = parse(body).unwrap();
        assert_eq!(env.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        // Two empty attachments, each followed by an empty line.
        let body = b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"attachment\",\"length\":0}\n\n";
        let env = parse(body).unwrap();
        assert_eq!(env.items.len(), 2);
        assert!(env.items.iter().all(|i| i.payload.is_empty()));
        // An implicit-length payload ending at EOF.
        let env = parse(b"{}\n{\"type\":\"session\"}\n{\"started\":\"2020-02-07T14:16:00Z\"}").unwrap();
        assert_eq!(env.items[0].payload, b"{\"started\":\"2020-02-07T14:16:00Z\"}");
    }

    #[test]
    fn a_header_only_envelope_has_no_items() {
        assert!(parse(b"{}").unwrap().items.is_empty());
        assert!(parse(b"{}\n").unwrap().items.is_empty());
    }

    #[test]
    fn truncated_and_garbled_envelopes_are_errors() {
        assert!(parse(b"not json\n").is_err());
        assert!(
            parse(b"{}\n{\"type\":\"event\",\"length\":50}\n{}")
                .unwrap_err()
                .contains("ends first")
        );
        assert!(
            parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}X")
                .unwrap_err()
                .contains("newline")
        );
        assert!(parse(b"{}\n{\"length\":2}\n{}").unwrap_err().contains("type"));
        assert!(parse(b"{}\n{\"type\":\"event\",\"length\":-1}\n{}").is_err());
        assert!(parse(b"[]").is_err());
    }
}
