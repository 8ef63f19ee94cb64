use std::io::Write;

use super::*;

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn brotli(data: &[u8], lgwin: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = ::brotli::CompressorWriter::new(&mut out, 4096, 5, lgwin);
    enc.write_all(data).unwrap();
    drop(enc);
    out
}

/// Feeds `body` in `chunk`-byte pieces, as the network would.
fn decode_in_chunks(
    body: &[u8],
    encodings: &[Encoding],
    chunk: usize,
    charge: &Arc<Charge>,
) -> Result<Vec<u8>, IngestError> {
    let mut decoder = Decoder::new(encodings, 1 << 30, "body", charge)?;
    let mut out = Vec::new();
    for piece in body.chunks(chunk) {
        let mut pos = 0;
        loop {
            pos += decoder.pump(&piece[pos..])?;
            let n = decoder.ready().len();
            if n == 0 && pos == piece.len() {
                break;
            }
            out.extend_from_slice(decoder.ready());
            decoder.consume(n);
        }
    }
    while decoder.flush()? {
        out.extend_from_slice(decoder.ready());
        let n = decoder.ready().len();
        decoder.consume(n);
    }
    Ok(out)
}

fn unlimited() -> Arc<Charge> {
    Arc::new(MemoryBudget::new(usize::MAX).charge())
}

#[test]
fn deflate_is_read_as_zlib_or_raw_by_sniffing() {
    let json = br#"{"a":1}"#;
    assert_eq!(decode(&zlib(json), Encoding::Deflate, 100, "body").unwrap(), json);
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(json).unwrap();
    assert_eq!(
        decode(&raw.finish().unwrap(), Encoding::Deflate, 100, "body").unwrap(),
        json
    );
}

#[test]
fn every_encoding_decodes_the_same_whether_the_body_arrives_whole_or_a_byte_at_a_time() {
    let data: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("line {i} {}\n", i % 7).into_bytes())
        .collect();
    let zstd = ::zstd::encode_all(&data[..], 3).unwrap();
    let mut two_members = gzip(&data[..1000]);
    two_members.extend(gzip(&data[1000..]));
    let cases: Vec<(Vec<u8>, Vec<Encoding>)> = vec![
        (gzip(&data), vec![Encoding::Gzip]),
        (two_members, vec![Encoding::Gzip]),
        (zlib(&data), vec![Encoding::Deflate]),
        (brotli(&data, 22), vec![Encoding::Brotli]),
        (zstd, vec![Encoding::Zstd]),
        (gzip(&brotli(&data, 20)), vec![Encoding::Gzip, Encoding::Brotli]),
        (data.clone(), vec![]),
    ];
    for (body, encodings) in cases {
        for chunk in [1, 7, 4096, body.len()] {
            let out = decode_in_chunks(&body, &encodings, chunk, &unlimited()).unwrap();
            assert!(out == data, "{encodings:?} in {chunk}-byte chunks");
        }
    }
}

#[test]
fn truncated_and_corrupt_streams_are_refused() {
    let data = vec![b'x'; 10_000];
    for (body, encoding) in [
        (gzip(&data), Encoding::Gzip),
        (zlib(&data), Encoding::Deflate),
        (brotli(&data, 22), Encoding::Brotli),
        (::zstd::encode_all(&data[..], 3).unwrap(), Encoding::Zstd),
    ] {
        let cut = &body[..body.len() - 3];
        let err = decode(cut, encoding, 1 << 20, "body").unwrap_err();
        assert!(matches!(err, IngestError::BadEncoding(_)), "{encoding:?}: {err}");
    }
    let mut corrupt = gzip(&data);
    let n = corrupt.len();
    corrupt[n - 6] ^= 1; // the CRC
    let err = decode(&corrupt, Encoding::Gzip, 1 << 20, "body").unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn a_bomb_stops_at_the_cap() {
    let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
    let err = decode(&bomb, Encoding::Gzip, 1024 * 1024, "envelope").unwrap_err();
    assert!(matches!(err, IngestError::TooLarge(_)), "{err}");
    assert_eq!(err.to_string(), "the envelope exceeds 1 MiB once decompressed");
    // A bomb inside a bomb is capped at each layer.
    let nested = gzip(&gzip(&vec![0u8; 10 * 1024 * 1024]));
    let err = decode_all(nested, &[Encoding::Gzip, Encoding::Gzip], 1024 * 1024, "envelope").unwrap_err();
    assert!(matches!(err, IngestError::TooLarge(_)), "{err}");
}

#[test]
fn a_brotli_window_the_budget_cannot_hold_is_refused_as_busy() {
    let body = brotli(&vec![b'a'; 8 * 1024 * 1024], 24);
    // 16 MiB would fit one request of a 64 MiB budget, but 40 MiB are held elsewhere.
    let budget = MemoryBudget::new(64 * 1024 * 1024);
    let others = [budget.charge(), budget.charge()];
    for other in &others {
        other.grow(20 * 1024 * 1024).unwrap();
    }
    let charge = Arc::new(budget.charge());
    let err = decode_in_chunks(&body, &[Encoding::Brotli], 4096, &charge).unwrap_err();
    assert!(matches!(err, IngestError::MemoryBusy), "{err}");
    drop(others);
    let charge = Arc::new(budget.charge());
    let mut decoder = Decoder::new(&[Encoding::Brotli], 1 << 30, "body", &charge).unwrap();
    // Stop at the first decoded bytes: the decoder holds its ring buffer now.
    decoder.pump(&body).unwrap();
    assert!(!decoder.ready().is_empty());
    assert!(
        charge.held() >= 8 * 1024 * 1024,
        "the ring buffer is charged: {}",
        charge.held()
    );
    drop(decoder);
    assert!(
        charge.held() < 100_000,
        "a dropped decoder gives its window back: {}",
        charge.held()
    );
}

#[test]
fn a_zstd_window_is_charged_and_windows_over_8_mib_are_refused() {
    let data = vec![b'z'; 100_000];
    let charge = unlimited();
    decode_in_chunks(
        &::zstd::encode_all(&data[..], 3).unwrap(),
        &[Encoding::Zstd],
        5,
        &charge,
    )
    .unwrap();
    assert!(charge.held() >= 128 * 1024, "{}", charge.held());
    let mut enc = ::zstd::stream::Encoder::new(Vec::new(), 19).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    let big_window = enc.finish().unwrap();
    let err = decode(&big_window, Encoding::Zstd, 1 << 30, "body").unwrap_err();
    assert!(err.to_string().contains("exceeds 8 MiB"), "{err}");
}

#[test]
fn encodings_are_parsed_leniently_and_unknown_ones_refused() {
    assert_eq!(content_encodings(Some("")).unwrap(), vec![]);
    assert_eq!(content_encodings(Some("UTF-8")).unwrap(), vec![]);
    assert_eq!(
        content_encodings(Some("gzip, br")).unwrap(),
        vec![Encoding::Brotli, Encoding::Gzip]
    );
    assert!(matches!(
        content_encodings(Some("lzma")),
        Err(IngestError::UnsupportedEncoding(_))
    ));
    assert!(content_encodings(Some("gzip,gzip,gzip,gzip,gzip")).is_err());
}

#[test]
fn legacy_store_bodies_may_be_base64_of_json_or_of_zlib() {
    let json = br#"{"message":"hi"}"#.to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&json);
    assert_eq!(store_body(b64.into_bytes(), 1000).unwrap(), json);
    let b64z = base64::engine::general_purpose::STANDARD.encode(zlib(&json));
    assert_eq!(store_body(b64z.into_bytes(), 1000).unwrap(), json);
    assert!(store_body(b"%%%".to_vec(), 1000).is_err());
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn damaged_streams_of_every_encoding_in_random_pieces_give_an_answer_never_a_panic() {
    let data: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
        .collect();
    let valid: Vec<(Vec<u8>, Vec<Encoding>)> = vec![
        (gzip(&data), vec![Encoding::Gzip]),
        (zlib(&data), vec![Encoding::Deflate]),
        (brotli(&data, 22), vec![Encoding::Brotli]),
        (::zstd::encode_all(&data[..], 3).unwrap(), vec![Encoding::Zstd]),
        (gzip(&zlib(&data)), vec![Encoding::Gzip, Encoding::Deflate]),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for (body, encodings) in &valid {
        for _ in 0..150 {
            let mut damaged = body.clone();
            match rng.below(3) {
                0 => {
                    for _ in 0..=rng.below(8) {
                        let at = rng.below(damaged.len());
                        damaged[at] ^= 1 << rng.below(8);
                    }
                }
                1 => damaged.truncate(rng.below(damaged.len())),
                _ => {
                    let at = rng.below(damaged.len());
                    let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                    damaged.splice(at..at, junk);
                }
            }
            let chunk = 1 + rng.below(5000);
            // Any answer will do; a panic fails the test.
            let _ = decode_in_chunks(&damaged, encodings, chunk, &unlimited());
        }
    }
}
