//! What every HTTP surface (ingest, UI) shares about the request itself.

use actix_web::HttpRequest;

/// The client's address: the peer, or the first `X-Forwarded-For` hop when the operator said a
/// proxy in front of Tocsin sets that header (otherwise clients could claim any address).
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<std::net::IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|first| first.trim().parse::<std::net::IpAddr>().ok());
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip()))
}
