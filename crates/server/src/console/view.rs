//! What every page shares: the layout (who is logged in, the CSRF token, the menu), the
//! login and error pages, and the stylesheet and script, compiled into the binary.

use std::borrow::Borrow;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{self, Operator};
use super::{Console, ConsoleError};

/// The menu: path and label.
const MENU: &[(&str, &str)] = &[
    ("/lenders", "Lenders"),
    ("/activity", "Activity"),
    ("/requests", "Requests"),
    ("/reroute", "Re-route"),
    ("/profiles", "Profiles"),
];

/// What the layout needs of the page being shown.
pub struct Layout {
    /// Who is logged in.
    pub who: String,
    /// The session's CSRF token, for every form on the page.
    pub csrf: String,
    /// The menu entry this page belongs to.
    pub section: &'static str,
    /// Menu entries.
    pub menu: &'static [(&'static str, &'static str)],
}

impl Layout {
    /// The layout for an operator on a page of `section`.
    pub fn new(op: &Operator, section: &'static str) -> Layout {
        Layout {
            who: op.principal.name.clone(),
            csrf: op.csrf.clone().unwrap_or_default(),
            section,
            menu: MENU,
        }
    }
}

/// Renders a template into a page.
pub fn html(t: &impl Template) -> Result<Html<String>, ConsoleError> {
    Ok(Html(t.render()?))
}

// The helpers take their numbers however deep the template's references go.

/// A number a template may hold by value or by (nested) reference.
pub trait Number {
    /// The value.
    fn value(&self) -> f64;
}

impl Number for f64 {
    fn value(&self) -> f64 {
        *self
    }
}

impl<T: Number + ?Sized> Number for &T {
    fn value(&self) -> f64 {
        (**self).value()
    }
}

/// A number for a table cell: `digits` decimals, or an em dash for "not known".
pub fn num(x: impl Number, digits: impl Borrow<usize>) -> String {
    let (x, digits) = (x.value(), *digits.borrow());
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "—".into()
    }
}

/// A `<time>` element for unix seconds: UTC on the page, the operator's own zone once
/// the console's script has run. Safe to insert unescaped: it holds only digits and
/// punctuation.
pub fn time(at: impl Borrow<i64>) -> String {
    let at = *at.borrow();
    match chrono::DateTime::from_timestamp(at, 0) {
        Some(t) => format!(
            "<time datetime=\"{}\">{}</time>",
            t.format("%Y-%m-%dT%H:%M:%SZ"),
            t.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "—".into(),
    }
}

/// A share as a whole percentage.
pub fn pct(x: impl Number) -> String {
    let x = x.value();
    if x.is_finite() {
        format!("{:.0} %", x * 100.0)
    } else {
        "—".into()
    }
}

/// The page an error shows.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    code: u16,
    reason: &'static str,
    message: String,
}

impl ErrorPage {
    /// The page for `status` saying `message`.
    pub fn new(status: StatusCode, message: &str) -> ErrorPage {
        ErrorPage {
            code: status.as_u16(),
            reason: status.canonical_reason().unwrap_or(""),
            message: message.to_owned(),
        }
    }

    /// Renders it.
    pub fn render_page(&self) -> Result<Html<String>, askama::Error> {
        self.render().map(Html)
    }
}

/// `?saved=N`: a page shown after a change was saved as version N.
#[derive(Deserialize)]
pub struct Saved {
    /// The version saved.
    pub saved: Option<u64>,
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    tokens_required: bool,
    next: String,
    message: String,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path on this console: never another site (`//evil`, `https://...`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/lenders".into(),
    }
}

/// `GET /login`.
pub async fn login_page(
    State(c): State<Console>,
    Query(q): Query<Next>,
) -> Result<Html<String>, ConsoleError> {
    html(&LoginPage {
        tokens_required: c.sessions.tokens_required(),
        next: safe_next(q.next.as_deref()),
        message: String::new(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// `POST /login`: a session cookie and on to the page asked for, or the login page
/// again saying why not.
pub async fn login(State(c): State<Console>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    match c.sessions.login(&f.token) {
        Ok((id, _)) => {
            let cookie = auth::session_cookie(
                &id,
                c.config.secure_cookie,
                std::time::Duration::from_secs(c.config.session_minutes * 60),
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(e) => {
            tracing::info!(error = %e, "console login refused");
            let status = match e {
                auth::LoginError::Unknown => StatusCode::UNAUTHORIZED,
                auth::LoginError::Frontend(_) => StatusCode::FORBIDDEN,
            };
            match html(&LoginPage {
                tokens_required: true,
                next,
                message: e.to_string(),
            }) {
                Ok(page) => (status, page).into_response(),
                Err(e) => e.into_response(),
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /logout`.
pub async fn logout(
    State(c): State<Console>,
    op: Operator,
    headers: axum::http::HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    if let Some(id) = auth::cookie(&headers, auth::COOKIE) {
        c.sessions.logout(id);
    }
    Ok((
        [(header::SET_COOKIE, auth::cleared_cookie())],
        Redirect::to("/login"),
    )
        .into_response())
}

/// `GET /static/console.css`.
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/console.css"),
    )
        .into_response()
}

/// `GET /static/console.js`.
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/console.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_console() {
        assert_eq!(safe_next(Some("/lenders/B1?q=x")), "/lenders/B1?q=x");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", ""] {
            assert_eq!(safe_next(Some(bad)), "/lenders", "{bad}");
        }
        assert_eq!(safe_next(None), "/lenders");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(1.256, 1), "1.3");
        assert_eq!(num(f64::NAN, 1), "—");
        assert_eq!(pct(0.845), "84 %");
    }
}
