//! CORS for browser SDKs: any origin may post, and the rate-limit headers must be readable by
//! the SDK's JavaScript, or it falls back to a blind 60 s back-off (PROTOCOL.md §3.5).

use actix_web::{HttpResponse, HttpResponseBuilder};

const ALLOW_HEADERS: &str = "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, \
     content-type, authentication, authorization, content-encoding, transfer-encoding, sentry-trace, baggage";
const EXPOSE_HEADERS: &str = "x-sentry-error, x-sentry-rate-limits, retry-after";

/// The headers every ingest response carries, errors included: a 4xx without them reaches the
/// browser SDK as an opaque network error.
pub fn add_headers(resp: &mut HttpResponseBuilder) {
    resp.insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Access-Control-Expose-Headers", EXPOSE_HEADERS));
}

/// Answers a preflight. Preflights carry no credentials, so this needs none.
pub async fn preflight() -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    add_headers(&mut resp);
    resp.insert_header(("Access-Control-Allow-Methods", "POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", ALLOW_HEADERS))
        .insert_header(("Access-Control-Max-Age", "3600"))
        .finish()
}
