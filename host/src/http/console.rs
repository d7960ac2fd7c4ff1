//! The tenant console: static files compiled into the binary and served
//! at `/console/` (offline: no CDN, nothing fetched). The files hold no
//! secret; every API call they make carries the tenant's admin token.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Every file under `host/console/`, by path (a test checks the list is
/// complete and byte-identical).
pub const FILES: &[(&str, &[u8])] = &[
    ("icon.svg", include_bytes!("../../console/icon.svg")),
    ("index.html", include_bytes!("../../console/index.html")),
    ("js/api.js", include_bytes!("../../console/js/api.js")),
    ("js/app.js", include_bytes!("../../console/js/app.js")),
    ("js/diff.js", include_bytes!("../../console/js/diff.js")),
    ("js/dom.js", include_bytes!("../../console/js/dom.js")),
    (
        "js/pages/decisions.js",
        include_bytes!("../../console/js/pages/decisions.js"),
    ),
    (
        "js/pages/overview.js",
        include_bytes!("../../console/js/pages/overview.js"),
    ),
    (
        "js/pages/plugins.js",
        include_bytes!("../../console/js/pages/plugins.js"),
    ),
    (
        "js/pages/rules.js",
        include_bytes!("../../console/js/pages/rules.js"),
    ),
    (
        "js/pages/shadow.js",
        include_bytes!("../../console/js/pages/shadow.js"),
    ),
    (
        "js/pages/subscriptions.js",
        include_bytes!("../../console/js/pages/subscriptions.js"),
    ),
    ("style.css", include_bytes!("../../console/style.css")),
];

/// What every console file is served with: the console runs no inline
/// script or style and talks only to its own origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `GET /console/{path}`; `/console/` is the index.
pub async fn file(uri: Uri) -> Response {
    let path = uri.path();
    if path == "/console" {
        // Relative, so it also works under a base path.
        let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("console/"));
        return r;
    }
    let name = match path.strip_prefix("/console/") {
        Some("") => "index.html",
        Some(name) => name,
        None => "",
    };
    let Some((_, bytes)) = FILES.iter().find(|(p, _)| *p == name) else {
        return super::admin::problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such console file.",
        );
    };
    let mut r = (StatusCode::OK, *bytes).into_response();
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_file_is_embedded_as_it_is() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    on_disk.push(path);
                }
            }
        }
        assert_eq!(on_disk.len(), FILES.len(), "a console file is not in FILES");
        for path in on_disk {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let embedded = FILES.iter().find(|(p, _)| *p == name);
            assert_eq!(
                embedded.map(|(_, b)| *b),
                Some(std::fs::read(&path).unwrap().as_slice()),
                "{name}"
            );
        }
    }
}
