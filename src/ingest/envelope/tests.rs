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
    assert!(parse(b"").is_err());
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

/// Feeds `body` a few bytes at a time, keeping events (up to `cap`) and skipping the rest.
fn read_events(body: &[u8], step: usize, cap: usize, charge: Arc<Charge>) -> Result<Envelope, EnvelopeError> {
    let mut keep = |ty: &str, _: &[Item]| {
        if ty == "event" { Keep::UpTo(cap) } else { Keep::Skip }
    };
    let mut reader = Reader::new(charge);
    for piece in body.chunks(step) {
        let mut pos = 0;
        while pos < piece.len() {
            pos += reader.feed(&piece[pos..], &mut keep)?;
            reader.resume();
        }
    }
    reader.finish(&mut keep)
}

#[test]
fn skipped_items_stream_past_and_only_kept_ones_are_held() {
    let mut body = b"{}\n{\"type\":\"attachment\",\"length\":3000000}\n".to_vec();
    body.extend(vec![b'a'; 3_000_000]);
    body.extend(b"\n{\"type\":\"replay_recording\"}\n");
    body.extend(vec![b'b'; 2_000_000]);
    body.extend(b"\n{\"type\":\"event\"}\n{\"message\":\"kept\"}\n");
    let budget = MemoryBudget::new(usize::MAX);
    let charge = Arc::new(budget.charge());
    for step in [1, 1000, body.len()] {
        let env = read_events(&body, step, 1024, charge.clone()).unwrap();
        assert_eq!(env.items.len(), 1);
        assert_eq!(env.items[0].payload, b"{\"message\":\"kept\"}");
    }
    assert!(budget.used() < 10_000, "only the event was charged: {}", budget.used());
}

#[test]
fn a_kept_item_is_refused_when_it_passes_its_cap_or_declares_more() {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    let declared = b"{}\n{\"type\":\"event\",\"length\":2000}\n";
    let err = read_events(declared, 64, 1000, charge.clone()).unwrap_err();
    assert!(
        matches!(&err, EnvelopeError::TooLarge(m) if m.contains("event item exceeds 1000 bytes")),
        "{err:?}"
    );
    let mut line = b"{}\n{\"type\":\"event\"}\n".to_vec();
    line.extend(vec![b' '; 5000]);
    let err = read_events(&line, 64, 1000, charge).unwrap_err();
    assert!(matches!(err, EnvelopeError::TooLarge(_)), "{err:?}");
}

#[test]
fn a_header_line_without_end_is_refused_at_64_kib() {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    let err = read_events(&vec![b'{'; 200_000], 4096, 1000, charge).unwrap_err();
    assert!(matches!(err, EnvelopeError::TooLarge(_)), "{err:?}");
}

#[test]
fn the_reader_pauses_after_the_header_line_so_the_dsn_can_be_checked_first() {
    let charge = Arc::new(MemoryBudget::new(usize::MAX).charge());
    let mut reader = Reader::new(charge);
    let body = b"{\"dsn\":\"http://k@h/1\"}\n{\"type\":\"event\"}\n{}\n";
    let mut keep = |_: &str, _: &[Item]| Keep::UpTo(100);
    let n = reader.feed(body, &mut keep).unwrap();
    assert!(reader.paused());
    assert_eq!(&body[..n], b"{\"dsn\":\"http://k@h/1\"}\n");
    assert_eq!(reader.headers().unwrap()["dsn"], "http://k@h/1");
    reader.resume();
    assert_eq!(reader.feed(&body[n..], &mut keep).unwrap(), body.len() - n);
    assert_eq!(reader.finish(&mut keep).unwrap().items.len(), 1);
}

#[test]
fn random_bytes_and_damaged_envelopes_give_an_answer_never_a_panic() {
    let good = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":7}\n{\"a\":1}\n{\"type\":\"attachment\"}\nxyz\n{\"type\":\"user_report\",\"length\":0}\n\n";
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut body = good.to_vec();
        if round % 3 == 0 {
            body = (0..(next() % 200)).map(|_| next() as u8).collect();
        } else {
            for _ in 0..=(next() % 6) {
                let at = (next() as usize) % body.len();
                body[at] = [b'\n', b'{', b'}', b'"', b'0', b'9', 0xff][(next() % 7) as usize];
            }
        }
        let step = 1 + (next() as usize % 40);
        let charge = Arc::new(MemoryBudget::new(1 << 20).charge());
        if let Ok(env) = read_events(&body, step, 64, charge) {
            assert!(env.items.iter().all(|item| item.payload.len() <= 64));
        }
    }
}
