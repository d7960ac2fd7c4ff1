//! The interworks result envelopes (spec §3) and the Service Manager API's
//! error type. Every response is `application/json; charset=utf-8`, keys
//! spelled exactly as the spec writes them, every key of the envelope type
//! present.

use crate::domain::codes;
use crate::service::{Answer, ServiceError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON body with the spec's content type and a status.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

/// Which envelope an endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ResultDefinition`: Code, Message, Result.
    Result,
    /// `AccountResultDefinition`: + AccountExtraInfo, GeneratedPassword.
    Account,
    /// `ServiceResultDefinition`: + AccountExtraInfo, CustomFieldValues,
    /// SendNotification, ExtraInfo.
    Service,
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "Code")]
    code: i32,
    #[serde(rename = "Message")]
    message: Option<&'a str>,
    #[serde(rename = "Result")]
    result: Option<&'a str>,
    #[serde(rename = "AccountExtraInfo", skip_serializing_if = "Option::is_none")]
    account_extra_info: Option<Map<String, Value>>,
    #[serde(rename = "GeneratedPassword", skip_serializing_if = "Option::is_none")]
    generated_password: Option<Value>,
    #[serde(rename = "CustomFieldValues", skip_serializing_if = "Option::is_none")]
    custom_field_values: Option<Map<String, Value>>,
    #[serde(rename = "SendNotification", skip_serializing_if = "Option::is_none")]
    send_notification: Option<bool>,
    #[serde(rename = "ExtraInfo", skip_serializing_if = "Option::is_none")]
    extra_info: Option<Map<String, Value>>,
}

pub fn envelope(
    kind: Kind,
    status: StatusCode,
    code: i32,
    message: Option<&str>,
    result: Option<&str>,
) -> Response {
    let (account, service) = (kind == Kind::Account, kind == Kind::Service);
    let body = Envelope {
        code,
        message,
        result,
        account_extra_info: (account || service).then(Map::new),
        generated_password: account.then_some(Value::Null),
        custom_field_values: service.then(Map::new),
        send_notification: service.then_some(false),
        extra_info: service.then(Map::new),
    };
    json_response(status, &body)
}

pub fn answer(kind: Kind, a: &Answer) -> Response {
    envelope(
        kind,
        StatusCode::OK,
        a.code,
        a.message.as_deref(),
        a.result.as_deref(),
    )
}

/// The Service Manager API's failures that are not business outcomes.
#[derive(Debug)]
pub enum ApiError {
    /// HTTP 401, the same body for every cause (spec §2.5).
    Unauthorized,
    /// HTTP 400: the body is not JSON or a value has the wrong type.
    BadRequest(String),
    /// HTTP 413.
    TooLarge(usize),
    /// HTTP 404 / 405.
    NotFound,
    MethodNotAllowed,
    /// HTTP 503 with Retry-After.
    Unavailable(String),
    /// HTTP 408: the body did not arrive in time.
    Timeout(String),
    /// HTTP 500: logged with the TrackId; the platform sees a generic text.
    Internal(String),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unavailable(m) => ApiError::Unavailable(m),
            ServiceError::Unauthorized(_) => ApiError::Unauthorized,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = Kind::Result;
        match self {
            ApiError::Unauthorized => envelope(
                kind,
                StatusCode::UNAUTHORIZED,
                codes::FAILURE,
                Some("Unauthorized"),
                None,
            ),
            ApiError::BadRequest(m) => envelope(
                kind,
                StatusCode::BAD_REQUEST,
                codes::INVALID,
                Some(&m),
                None,
            ),
            ApiError::TooLarge(limit) => envelope(
                kind,
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::INVALID,
                Some(&format!(
                    "The request body is larger than the limit of {limit} bytes."
                )),
                None,
            ),
            ApiError::NotFound => envelope(
                kind,
                StatusCode::NOT_FOUND,
                codes::FAILURE,
                Some("There is no such endpoint."),
                None,
            ),
            ApiError::MethodNotAllowed => envelope(
                kind,
                StatusCode::METHOD_NOT_ALLOWED,
                codes::FAILURE,
                Some("This endpoint does not accept this HTTP method."),
                None,
            ),
            ApiError::Timeout(m) => envelope(
                kind,
                StatusCode::REQUEST_TIMEOUT,
                codes::INVALID,
                Some(&m),
                None,
            ),
            ApiError::Unavailable(m) => {
                let mut r = envelope(
                    kind,
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::UNAVAILABLE,
                    Some(&m),
                    None,
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                envelope(
                    kind,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::FAILURE,
                    Some(
                        "An internal error occurred; it has been logged with this call's TrackId.",
                    ),
                    None,
                )
            }
        }
    }
}
