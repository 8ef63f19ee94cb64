//! Where a request's credentials are: `X-Sentry-Auth`, `Authorization: Sentry …`, the query
//! string (browser SDKs), or, for envelopes, the `dsn` header (PROTOCOL.md §2).

use actix_web::HttpRequest;

use super::IngestError;

/// The newest protocol version we speak.
const MAX_PROTOCOL_VERSION: u32 = 7;
/// Keys longer than this cannot be ours; refuse them without a database look-up.
pub const MAX_KEY_LEN: usize = 128;

/// Credentials a client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub key: String,
    /// `sentry_client`, e.g. `sentry.python/2.75.0`.
    pub client: Option<String>,
}

/// Reads credentials from headers and query. `Ok(None)` means none were sent (an envelope may
/// still carry a DSN).
pub fn from_request(req: &HttpRequest) -> Result<Option<Auth>, IngestError> {
    let headers = req.headers();
    for name in ["x-sentry-auth", "authorization"] {
        let Some(value) = headers.get(name) else {
            continue;
        };
        let value = value
            .to_str()
            .map_err(|_| IngestError::BadAuthHeader(format!("{name} is not valid ASCII")))?;
        // `Authorization: Bearer …` is someone else's scheme; only `Sentry …` is ours.
        if name == "authorization" && !has_sentry_prefix(value) {
            continue;
        }
        return parse_header(value).map(Some);
    }
    from_query(req.query_string())
}

/// Compared as bytes: slicing the text at 6 would panic inside a multi-byte character (found
/// by the `auth` fuzz target).
fn has_sentry_prefix(value: &str) -> bool {
    value
        .as_bytes()
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"sentry"))
}

/// Parses `Sentry sentry_key=…, sentry_version=7, sentry_client=…`; the pairs may be separated
/// with or without spaces, unknown pairs are ignored.
pub fn parse_header(value: &str) -> Result<Auth, IngestError> {
    let value = value.trim();
    let pairs = if has_sentry_prefix(value) { &value[6..] } else { value };
    let pairs = pairs.split(',').filter_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        Some((k.trim().to_string(), v.trim().to_string()))
    });
    from_pairs(pairs)?.ok_or_else(|| IngestError::BadAuthHeader("no sentry_key in the header".into()))
}

fn from_query(query: &str) -> Result<Option<Auth>, IngestError> {
    if !query.contains("sentry_") {
        return Ok(None);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    from_pairs(pairs.into_iter())
}

fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<Option<Auth>, IngestError> {
    let mut key = None;
    let mut client = None;
    for (k, v) in pairs {
        match k.as_str() {
            "sentry_key" => key = Some(v),
            "sentry_client" => client = Some(v),
            "sentry_version" => check_version(&v)?,
            // sentry_secret and sentry_timestamp are deprecated: accepted and ignored.
            _ => {}
        }
    }
    Ok(key.filter(|k| !k.is_empty()).map(|key| Auth { key, client }))
}

/// `7`, `7.0` and raven's `6` are fine; a version newer than ours is refused, as Relay does.
fn check_version(v: &str) -> Result<(), IngestError> {
    let major = v.split('.').next().unwrap_or("").trim();
    match major.parse::<u32>() {
        Ok(n) if n > MAX_PROTOCOL_VERSION => Err(IngestError::UnsupportedVersion(v.to_string())),
        _ => Ok(()),
    }
}

/// The public key and project id in a DSN (`http://KEY[:secret]@host/prefix/PROJECT`).
pub fn parse_dsn(dsn: &str) -> Option<(String, String)> {
    let (_, rest) = dsn.split_once("://")?;
    let (userinfo, hostpath) = rest.split_once('@')?;
    let key = userinfo.split(':').next()?.to_string();
    // The project is the last segment of the path, never of the host: `http://k@host///`
    // has none (the `auth` fuzz target found such a DSN yielding an empty or host-named id).
    let (_host, path) = hostpath.split_once('/')?;
    let project = path.trim_end_matches('/').rsplit('/').next()?.to_string();
    (!key.is_empty() && !project.is_empty()).then_some((key, project))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_sdk_header_parses() {
        let auth = parse_header(
            "Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7, sentry_client=sentry.python/2.75.0",
        )
        .unwrap();
        assert_eq!(auth.key, "0123456789abcdef0123456789abcdef");
        assert_eq!(auth.client.as_deref(), Some("sentry.python/2.75.0"));
    }

    #[test]
    fn curl_style_pairs_without_spaces_and_raven_extras_parse() {
        let auth = parse_header("sentry sentry_key=abc,sentry_version=6,sentry_secret=s,sentry_timestamp=1.5").unwrap();
        assert_eq!(auth.key, "abc");
    }

    #[test]
    fn a_header_without_a_key_or_with_a_future_version_is_refused() {
        assert!(matches!(
            parse_header("Sentry sentry_version=7"),
            Err(IngestError::BadAuthHeader(_))
        ));
        assert!(matches!(
            parse_header("Sentry sentry_key=a, sentry_version=8"),
            Err(IngestError::UnsupportedVersion(_))
        ));
        assert!(parse_header("Sentry sentry_key=a, sentry_version=7.0").is_ok());
    }

    #[test]
    fn browser_sdks_authenticate_in_the_query() {
        let auth = from_query("sentry_version=7&sentry_key=abc&sentry_client=sentry.javascript.browser%2F10.63.0")
            .unwrap()
            .unwrap();
        assert_eq!(auth.key, "abc");
        assert_eq!(auth.client.as_deref(), Some("sentry.javascript.browser/10.63.0"));
        assert_eq!(from_query("page=2").unwrap(), None);
    }

    #[test]
    fn dsns_give_their_key_and_project() {
        assert_eq!(
            parse_dsn("https://abc:secret@errors.example.com/sentry/42"),
            Some(("abc".into(), "42".into()))
        );
        assert_eq!(
            parse_dsn("http://abc@127.0.0.1:8000/1"),
            Some(("abc".into(), "1".into()))
        );
        assert_eq!(parse_dsn("not a dsn"), None);
    }
}
