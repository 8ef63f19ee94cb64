//! Reading a request body with a cap on its size as sent (before decompression). Chunked bodies
//! without Content-Length are read the same way.

use actix_web::HttpRequest;
use actix_web::web;
use futures_util::StreamExt;

use super::IngestError;
use super::decode::human_size;

pub async fn read(
    mut payload: web::Payload,
    req: &HttpRequest,
    limit: usize,
    what: &str,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, IngestError> {
    let too_large = || IngestError::TooLarge(format!("the {what} exceeds {} as sent", human_size(limit)));
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(16 * 1024).min(limit));
    // One deadline for the whole body: a client trickling a byte at a time (slow loris) is
    // cut off instead of holding a connection and its buffer for ever.
    let read_all = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| IngestError::BodyRead(e.to_string()))?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, read_all).await {
        Ok(result) => result?,
        Err(_) => return Err(IngestError::BodyTimeout(timeout.as_secs_f64())),
    }
    Ok(buf)
}
