//! Static files, embedded at build time: Tocsin runs offline and ships as one binary.

use actix_web::{HttpResponse, web};

use super::WebError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "tocsin.css",
        "text/css; charset=utf-8",
        include_str!("../../static/tocsin.css"),
    ),
    (
        "tocsin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/tocsin.js"),
    ),
];

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or_else(|| WebError::NotFound(format!("no static file {:?}", path.as_str())))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(*body))
}
