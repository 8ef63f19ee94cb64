//! The normalised JSON tree → the typed model, field by field.
//!
//! Why not `serde_json::from_value`: the model keeps unknown fields with `#[serde(flatten)]`,
//! and serde deserialises flattened structs by buffering every field into an intermediate
//! representation first. Per frame, per exception, per event, that doubled the cost of
//! normalisation. Coercion has already fixed every known field's type, so taking the known keys
//! out of the map and keeping the rest as `other` is exact and much cheaper.

use serde_json::{Map, Value};

use super::model::{ClientSdk, Event, Exception, Frame, LogEntry, Request, Stacktrace, User, Values};
use super::{EventId, Level};

type Other = Map<String, Value>;

struct Fields(Other);

impl Fields {
    fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|v| !v.is_null())
    }

    fn str(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{key}: expected a string, got {other}")),
        }
    }

    fn i64(&mut self, key: &str) -> Result<Option<i64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{key}: expected an integer, got {v}")),
        }
    }

    fn f64(&mut self, key: &str) -> Result<f64, String> {
        self.take(key)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| format!("{key}: expected a number"))
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(format!("{key}: expected a boolean, got {other}")),
        }
    }

    fn obj(&mut self, key: &str) -> Result<Option<Other>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(format!("{key}: expected an object, got {other}")),
        }
    }

    fn list(&mut self, key: &str) -> Result<Vec<Value>, String> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(format!("{key}: expected a list, got {other}")),
        }
    }
}

fn object(value: Value, what: &str) -> Result<Other, String> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(format!("{what}: expected an object, got {other}")),
    }
}

pub fn event(obj: Other) -> Result<Event, String> {
    let mut f = Fields(obj);
    let event_id = f
        .str("event_id")?
        .and_then(|s| EventId::parse(&s))
        .ok_or("event_id: missing")?;
    let level = f.take("level").and_then(|l| Level::parse(&l)).ok_or("level: missing")?;
    Ok(Event {
        event_id,
        timestamp: f.f64("timestamp")?,
        received: f.f64("received")?,
        level,
        platform: f.str("platform")?.unwrap_or_else(|| "other".into()),
        ty: f.str("type")?.unwrap_or_else(|| "default".into()),
        logger: f.str("logger")?,
        transaction: f.str("transaction")?,
        server_name: f.str("server_name")?,
        release: f.str("release")?,
        dist: f.str("dist")?,
        environment: f.str("environment")?,
        culprit: f.str("culprit")?,
        checksum: f.str("checksum")?,
        logentry: f.obj("logentry")?.map(log_entry).transpose()?,
        exception: f
            .obj("exception")?
            .map(|m| values(m, |v| exception(object(v, "exception")?)))
            .transpose()?,
        stacktrace: f.obj("stacktrace")?.map(stacktrace).transpose()?,
        threads: f.obj("threads")?.map(|m| values(m, Ok)).transpose()?,
        breadcrumbs: f.obj("breadcrumbs")?.map(|m| values(m, Ok)).transpose()?,
        tags: f.list("tags")?.into_iter().map(tag_pair).collect::<Result<_, _>>()?,
        user: f.obj("user")?.map(user).transpose()?,
        request: f.obj("request")?.map(request).transpose()?,
        sdk: f.obj("sdk")?.map(sdk).transpose()?,
        fingerprint: match f.take("fingerprint") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        other => Err(format!("fingerprint: expected strings, got {other}")),
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Some(other) => return Err(format!("fingerprint: expected a list, got {other}")),
        },
        contexts: f.obj("contexts")?,
        extra: f.obj("extra")?,
        modules: f.obj("modules")?,
        errors: f.list("errors")?,
        other: f.0,
    })
}

fn values<T>(obj: Other, item: impl Fn(Value) -> Result<T, String>) -> Result<Values<T>, String> {
    let mut f = Fields(obj);
    let values = f.list("values")?.into_iter().map(item).collect::<Result<_, _>>()?;
    Ok(Values { values, other: f.0 })
}

fn tag_pair(v: Value) -> Result<(String, String), String> {
    match v {
        Value::Array(mut kv) if kv.len() == 2 => match (kv.remove(0), kv.remove(0)) {
            (Value::String(k), Value::String(v)) => Ok((k, v)),
            (k, v) => Err(format!("tags: expected string pairs, got [{k}, {v}]")),
        },
        other => Err(format!("tags: expected [key, value] pairs, got {other}")),
    }
}

fn log_entry(obj: Other) -> Result<LogEntry, String> {
    let mut f = Fields(obj);
    Ok(LogEntry {
        message: f.str("message")?,
        formatted: f.str("formatted")?,
        other: f.0,
    })
}

fn exception(obj: Other) -> Result<Exception, String> {
    let mut f = Fields(obj);
    Ok(Exception {
        ty: f.str("type")?,
        value: f.str("value")?,
        module: f.str("module")?,
        mechanism: f.obj("mechanism")?,
        stacktrace: f.obj("stacktrace")?.map(stacktrace).transpose()?,
        other: f.0,
    })
}

fn stacktrace(obj: Other) -> Result<Stacktrace, String> {
    let mut f = Fields(obj);
    let frames = f
        .list("frames")?
        .into_iter()
        .map(|v| frame(object(v, "frame")?))
        .collect::<Result<_, _>>()?;
    Ok(Stacktrace { frames, other: f.0 })
}

fn frame(obj: Other) -> Result<Frame, String> {
    let mut f = Fields(obj);
    Ok(Frame {
        filename: f.str("filename")?,
        abs_path: f.str("abs_path")?,
        module: f.str("module")?,
        function: f.str("function")?,
        raw_function: f.str("raw_function")?,
        package: f.str("package")?,
        platform: f.str("platform")?,
        lineno: f.i64("lineno")?,
        colno: f.i64("colno")?,
        context_line: f.str("context_line")?,
        in_app: f.bool("in_app")?,
        other: f.0,
    })
}

fn user(obj: Other) -> Result<User, String> {
    let mut f = Fields(obj);
    Ok(User {
        id: f.str("id")?,
        email: f.str("email")?,
        username: f.str("username")?,
        ip_address: f.str("ip_address")?,
        other: f.0,
    })
}

fn request(obj: Other) -> Result<Request, String> {
    let mut f = Fields(obj);
    Ok(Request {
        url: f.str("url")?,
        method: f.str("method")?,
        other: f.0,
    })
}

fn sdk(obj: Other) -> Result<ClientSdk, String> {
    let mut f = Fields(obj);
    Ok(ClientSdk {
        name: f.str("name")?,
        version: f.str("version")?,
        other: f.0,
    })
}
