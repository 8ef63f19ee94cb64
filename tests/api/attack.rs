//! Hostile request bodies, shared by the memory tests and the `hostile` benchmark (which
//! includes this file): decompression bombs of every encoding Tocsin decodes and envelopes made
//! mostly of attachments.

use std::io::Write;

use serde_json::Value;

/// `mib` MiB of zeros: no envelope at all.
pub fn zeros(mib: usize) -> Vec<u8> {
    vec![0u8; mib * 1024 * 1024]
}

/// A well-formed envelope whose item of `ty` (no length) is `mib` MiB of zeros.
pub fn envelope_of_zeros(ty: &str, mib: usize) -> Vec<u8> {
    let mut body = format!("{{}}\n{{\"type\":\"{ty}\"}}\n").into_bytes();
    body.extend(zeros(mib));
    body
}

/// Each way a body can be encoded, with its `Content-Encoding`.
pub const ENCODINGS: [&str; 6] = ["gzip", "deflate", "deflate (raw)", "br", "zstd", "br, gzip"];

pub fn encode(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        "deflate" => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        "deflate (raw)" => {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        "br" => {
            // The largest window brotli has (16 MiB), to make the decoder want the most memory.
            let mut out = Vec::new();
            let mut enc = brotli::CompressorWriter::new(&mut out, 64 * 1024, 5, 24);
            enc.write_all(data).unwrap();
            drop(enc);
            out
        }
        "zstd" => {
            // Streamed (no content size), with the largest window HTTP allows (8 MiB).
            let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
            enc.window_log(23).unwrap();
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        "br, gzip" => encode("gzip", &encode("br", data)),
        other => panic!("no encoding {other}"),
    }
}

pub fn content_encoding(encoding: &str) -> &str {
    if encoding == "deflate (raw)" {
        "deflate"
    } else {
        encoding
    }
}

/// An envelope of `mib` MiB as sent: one small event, then attachments of 1 MiB each.
pub fn envelope_of_attachments(event: &Value, mib: usize) -> Vec<u8> {
    let mut body = format!("{{}}\n{{\"type\":\"event\"}}\n{event}\n").into_bytes();
    for i in 0..mib {
        let payload = vec![b'a' + (i % 26) as u8; 1024 * 1024 - 100];
        body.extend(
            format!(
                "{{\"type\":\"attachment\",\"length\":{},\"filename\":\"dump{i}.bin\"}}\n",
                payload.len()
            )
            .into_bytes(),
        );
        body.extend(payload);
        body.push(b'\n');
    }
    body
}
