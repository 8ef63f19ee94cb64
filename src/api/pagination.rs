//! Sentry-style cursor pagination: `?cursor=<value>:<offset>:<is_prev>` and a `Link` header with
//! `previous` and `next` links carrying `results="true|false"`, which Sentry clients follow.

use actix_web::HttpRequest;

use super::ApiError;

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

impl Page {
    /// Reads `cursor` and `limit` (or Sentry's `per_page`) from the query.
    pub fn from_query(params: &[(String, String)]) -> Result<Page, ApiError> {
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let offset = match get("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => {
                let parts: Vec<&str> = cursor.split(':').collect();
                match parts.as_slice() {
                    [_, offset, _] => offset.parse::<i64>().ok().filter(|o| *o >= 0),
                    _ => None,
                }
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid cursor {cursor:?}: expected value:offset:is_prev"))
                })?
            }
        };
        let limit = match get("limit").or_else(|| get("per_page")) {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| ApiError::BadRequest(format!("invalid limit {l:?}: use 1 to {MAX_LIMIT}")))?,
        };
        Ok(Page { offset, limit })
    }

    /// The `Link` header for this page; `more` says whether a next page exists.
    pub fn link_header(&self, req: &HttpRequest, public_url: &str, params: &[(String, String)], more: bool) -> String {
        let base = format!("{}{}", public_url, req.path());
        let link = |offset: i64, is_prev: u8, rel: &str, results: bool| {
            let cursor = format!("0:{offset}:{is_prev}");
            let mut query: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "cursor").cloned().collect();
            query.push(("cursor".into(), cursor.clone()));
            let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
            format!("<{base}?{qs}>; rel=\"{rel}\"; results=\"{results}\"; cursor=\"{cursor}\"")
        };
        let previous = link((self.offset - self.limit).max(0), 1, "previous", self.offset > 0);
        let next = link(self.offset + self.limit, 0, "next", more);
        format!("{previous}, {next}")
    }
}

/// The request's query string as pairs.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}
