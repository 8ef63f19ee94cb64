//! Request body decoding, with every size cap enforced *while* inflating: a 10 GB gzip bomb is
//! read until the cap plus one byte, then refused with 413 — never inflated whole.

use std::io::Read;

use base64::Engine;

use super::IngestError;

/// A Content-Encoding we can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    /// zlib-wrapped (RFC 1950, what raven sends) or raw deflate, told apart by sniffing.
    Deflate,
    Brotli,
    Zstd,
}

/// Reads `Content-Encoding`. Empty, `identity` and `utf-8` (sentry-java sends that) mean none.
/// Stacked encodings (`gzip, br`) are returned in the order they must be undone.
pub fn content_encodings(header: Option<&str>) -> Result<Vec<Encoding>, IngestError> {
    let Some(header) = header else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for token in header.split(',').rev() {
        let token = token.trim().to_ascii_lowercase();
        let encoding = match token.as_str() {
            "" | "identity" | "utf-8" | "utf8" => continue,
            "gzip" | "x-gzip" => Encoding::Gzip,
            "deflate" => Encoding::Deflate,
            "br" => Encoding::Brotli,
            "zstd" => Encoding::Zstd,
            _ => return Err(IngestError::UnsupportedEncoding(token)),
        };
        out.push(encoding);
    }
    Ok(out)
}

/// Undoes `encodings` in order; the result may be at most `limit` bytes.
pub fn decode_all(body: Vec<u8>, encodings: &[Encoding], limit: usize, what: &str) -> Result<Vec<u8>, IngestError> {
    let mut data = body;
    for &encoding in encodings {
        data = decode(&data, encoding, limit, what)?;
    }
    if data.len() > limit {
        return Err(too_large(what, limit));
    }
    Ok(data)
}

/// Undoes one encoding, reading at most `limit + 1` bytes of output.
pub fn decode(data: &[u8], encoding: Encoding, limit: usize, what: &str) -> Result<Vec<u8>, IngestError> {
    let name = match encoding {
        Encoding::Gzip => "gzip",
        Encoding::Deflate => "deflate",
        Encoding::Brotli => "brotli",
        Encoding::Zstd => "zstd",
    };
    let reader: Box<dyn Read + '_> = match encoding {
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        Encoding::Deflate if looks_like_zlib(data) => Box::new(flate2::read::ZlibDecoder::new(data)),
        Encoding::Deflate => Box::new(flate2::read::DeflateDecoder::new(data)),
        Encoding::Brotli => Box::new(brotli::Decompressor::new(data, 4096)),
        Encoding::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::with_buffer(data).map_err(|e| bad(name, what, &e.to_string()))?;
            // Bound the window a hostile frame can make us allocate (32 MiB).
            decoder
                .window_log_max(25)
                .map_err(|e| bad(name, what, &e.to_string()))?;
            Box::new(decoder)
        }
    };
    read_capped(reader, limit).map_err(|e| match e {
        CapError::TooLarge => too_large(what, limit),
        CapError::Io(msg) => bad(name, what, &msg),
    })
}

/// A zlib stream starts with a CMF/FLG pair: method 8 and a header checksum divisible by 31.
fn looks_like_zlib(data: &[u8]) -> bool {
    match data {
        [b0, b1, ..] => (b0 & 0x0F) == 8 && ((u16::from(*b0) << 8) | u16::from(*b1)) % 31 == 0,
        _ => false,
    }
}

enum CapError {
    TooLarge,
    Io(String),
}

fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, CapError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CapError::Io(e.to_string()))?;
    if out.len() > limit {
        return Err(CapError::TooLarge);
    }
    Ok(out)
}

fn bad(encoding: &str, what: &str, err: &str) -> IngestError {
    IngestError::BadEncoding(format!("the {what} is not valid {encoding} data: {err}"))
}

pub fn too_large(what: &str, limit: usize) -> IngestError {
    IngestError::TooLarge(format!("the {what} exceeds {} once decompressed", human_size(limit)))
}

pub fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The legacy `/store/` body after Content-Encoding: JSON, or base64 of JSON, or base64 of
/// zlib-compressed JSON (very old clients, sent without any Content-Encoding).
pub fn store_body(data: Vec<u8>, limit: usize) -> Result<Vec<u8>, IngestError> {
    if first_non_space(&data) == Some(b'{') {
        return Ok(data);
    }
    let compact: Vec<u8> = data.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .map_err(|_| {
            IngestError::BadEncoding("the store body is neither JSON nor base64-encoded (zlib-compressed) JSON".into())
        })?;
    if first_non_space(&decoded) == Some(b'{') {
        if decoded.len() > limit {
            return Err(too_large("event", limit));
        }
        return Ok(decoded);
    }
    decode(&decoded, Encoding::Deflate, limit, "event")
}

fn first_non_space(data: &[u8]) -> Option<u8> {
    data.iter().copied().find(|b| !b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
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
    fn a_bomb_stops_at_the_cap() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 10 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        let err = decode(&bomb, Encoding::Gzip, 1024 * 1024, "envelope").unwrap_err();
        assert!(matches!(err, IngestError::TooLarge(_)), "{err}");
        assert_eq!(err.to_string(), "the envelope exceeds 1 MiB once decompressed");
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
    }

    #[test]
    fn legacy_store_bodies_may_be_base64_of_json_or_of_zlib() {
        use base64::Engine;
        let json = br#"{"message":"hi"}"#.to_vec();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&json);
        assert_eq!(store_body(b64.into_bytes(), 1000).unwrap(), json);
        let b64z = base64::engine::general_purpose::STANDARD.encode(zlib(&json));
        assert_eq!(store_body(b64z.into_bytes(), 1000).unwrap(), json);
        assert!(store_body(b"%%%".to_vec(), 1000).is_err());
    }
}
