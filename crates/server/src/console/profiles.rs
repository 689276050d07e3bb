//! Weight profiles: the list, and each one as the TOML a profile file holds, edited in
//! place. A preview validates the edit with the engine's own rules and lists every
//! setting it changes from the profile in force; saving goes through
//! [`crate::changes`], as the Admin API's `PutProfile` does, and is refused if someone
//! else saved first.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use rota_routing::Profile;
use serde::{Deserialize, Serialize};

use super::auth::{ApiOperator, Operator};
use super::view::{Layout, html};
use super::{ApiError, Console, ConsoleError};
use crate::history::query::{self, Version};
use crate::whatif::{self, Comparison, WhatIfError};

/// Days of past traffic a comparison replays unless asked otherwise, and the most.
const COMPARE_DAYS: u32 = 30;
const MAX_COMPARE_DAYS: u32 = 400;

/// Most events one comparison replays.
const MAX_COMPARE_EVENTS: usize = 2_000_000;

/// Longest the simulator may run for one comparison.
const COMPARE_SIM_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A profile in the list (and its JSON twin).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Name.
    pub name: String,
    /// `fastest_fill` or `weighted_score`.
    pub mode: String,
    /// Version (0: built in or from a profile file, never changed here).
    pub version: u64,
}

fn mode_name(p: &Profile) -> String {
    serde_json::to_value(p.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn summaries(c: &Console) -> Result<Vec<Summary>, ConsoleError> {
    let app = c.app()?;
    let eng = app.engine.load();
    let mut out: Vec<Summary> = eng
        .profiles()
        .into_iter()
        .map(|p| Summary {
            name: p.name.clone(),
            mode: mode_name(p),
            version: app.profile_version(&p.name),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[derive(Template)]
#[template(path = "console/profiles.html")]
struct ProfilesPage {
    layout: Layout,
    profiles: Vec<Summary>,
}

/// `GET /profiles`.
pub async fn page(State(c): State<Console>, op: Operator) -> Result<Html<String>, ConsoleError> {
    html(&ProfilesPage {
        layout: Layout::new(&op, "/profiles"),
        profiles: summaries(&c)?,
    })
}

/// `GET /api/profiles`.
pub async fn api(
    State(c): State<Console>,
    _op: ApiOperator,
) -> Result<Json<Vec<Summary>>, ApiError> {
    Ok(Json(summaries(&c)?))
}

/// The profile in force under `name`, with its version.
fn current(c: &Console, name: &str) -> Result<(Profile, u64), ConsoleError> {
    let app = c.app()?;
    let eng = app.engine.load();
    let p = eng
        .profile(name)
        .cloned()
        .ok_or_else(|| ConsoleError::NotFound(format!("profile {name:?} does not exist")))?;
    Ok((p, app.profile_version(name)))
}

fn to_toml(p: &Profile) -> Result<String, ConsoleError> {
    toml::to_string(p).map_err(|e| ConsoleError::Internal(format!("profile not written: {e}")))
}

/// One setting an edit changes.
#[derive(Debug, PartialEq, Serialize)]
pub struct Change {
    /// Its path (`weights.load`).
    pub field: String,
    /// In force (empty: not set).
    pub live: String,
    /// In the edit (empty: not set).
    pub candidate: String,
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.into(), s.clone());
        }
        other => {
            out.insert(prefix.into(), other.to_string());
        }
    }
}

/// Every setting that differs between two profiles (or two lender entries), by path.
pub fn changes<T: Serialize>(live: &T, candidate: &T) -> Result<Vec<Change>, ConsoleError> {
    let flat = |p: &T| -> Result<BTreeMap<String, String>, ConsoleError> {
        let v = toml::Value::try_from(p)
            .map_err(|e| ConsoleError::Internal(format!("not written as TOML: {e}")))?;
        let mut m = BTreeMap::new();
        flatten("", &v, &mut m);
        Ok(m)
    };
    let (a, b) = (flat(live)?, flat(candidate)?);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    Ok(keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| Change {
            field: k.clone(),
            live: a.get(k).cloned().unwrap_or_default(),
            candidate: b.get(k).cloned().unwrap_or_default(),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "console/profile.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    version: u64,
    text: String,
    /// Set on a preview: the edit's errors, or its changes.
    error: String,
    changes: Option<Vec<Change>>,
    saved: Option<u64>,
    /// Earlier versions, newest first (none when the history is off).
    versions: Vec<Version>,
    /// Days of past traffic a comparison replays.
    days: u32,
    /// Set after *Compare*: the edit beside the profile in force.
    comparison: Option<Comparison>,
}

impl ProfilePage {
    /// The simulator's figures: the profile in force, the edit, and the outcome oracle.
    fn sim_rows(&self) -> Vec<(&'static str, &rota_sim::report::StrategyMetrics)> {
        let Some(r) = self.comparison.as_ref().and_then(|c| c.simulation.as_ref()) else {
            return Vec::new();
        };
        let live = format!("profile:{}", self.name);
        let candidate = format!("profile:{}", whatif::CANDIDATE);
        [
            ("in force", live.as_str()),
            ("this edit", candidate.as_str()),
            ("outcome oracle (the bound)", rota_sim::OUTCOME_ORACLE),
        ]
        .into_iter()
        .filter_map(|(label, key)| {
            r.strategies
                .iter()
                .find(|s| s.strategy == key)
                .map(|m| (label, m))
        })
        .collect()
    }

    /// The simulator's time-to-fill chart (drawn by the simulator's report).
    fn sim_chart(&self) -> String {
        self.comparison
            .as_ref()
            .and_then(|c| c.simulation.as_ref())
            .map(|r| r.svg_time_to_fill())
            .unwrap_or_default()
    }
}

/// `GET /profiles/{name}`.
pub async fn one_page(
    State(c): State<Console>,
    op: Operator,
    Path(name): Path<String>,
    Query(q): Query<super::view::Saved>,
) -> Result<Html<String>, ConsoleError> {
    let (p, version) = current(&c, &name)?;
    let versions = versions(&c, &name).await?;
    html(&ProfilePage {
        layout: Layout::new(&op, "/profiles"),
        text: to_toml(&p)?,
        name,
        version,
        error: String::new(),
        changes: None,
        saved: q.saved,
        versions,
        days: COMPARE_DAYS,
        comparison: None,
    })
}

/// The edit form.
#[derive(Deserialize)]
pub struct EditForm {
    csrf: Option<String>,
    text: String,
    version: u64,
    #[serde(default)]
    comment: String,
}

/// Parses an edit: the profile, or the engine's reason to refuse it.
fn parse_edit(name: &str, text: &str) -> Result<Profile, ConsoleError> {
    let p = Profile::parse(text, false).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    if p.name != name {
        return Err(ConsoleError::BadRequest(format!(
            "name: {:?} differs from the profile being edited ({name:?}); create profiles with `rota profile` or the Admin API",
            p.name
        )));
    }
    Ok(p)
}

/// `POST /profiles/{name}/preview`: the edit checked, and its changes from the profile in
/// force; nothing is saved.
pub async fn preview(
    State(c): State<Console>,
    op: Operator,
    Path(name): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Html<String>, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let (live, version) = current(&c, &name)?;
    let versions = versions(&c, &name).await?;
    let (error, changes) = match parse_edit(&name, &f.text) {
        Ok(p) => (String::new(), Some(changes(&live, &p)?)),
        Err(e) => (e.to_string(), None),
    };
    html(&ProfilePage {
        layout: Layout::new(&op, "/profiles"),
        name,
        // the version the operator read, so a save after someone else's is refused
        version: f.version.min(version),
        text: f.text,
        error,
        changes,
        saved: None,
        versions,
        days: COMPARE_DAYS,
        comparison: None,
    })
}

/// `POST /profiles/{name}`: saves the edit if it is valid and nobody saved since it was
/// read.
pub async fn save(
    State(c): State<Console>,
    op: Operator,
    Path(name): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Response, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let app = c.app()?;
    current(&c, &name)?;
    let p = parse_edit(&name, &f.text)?;
    let done = app
        .put_profile(&op.principal.name, p, f.version, f.comment.trim())
        .await?;
    Ok(Redirect::to(&format!("/profiles/{name}?saved={}", done.version)).into_response())
}

/// The saved versions of a profile, newest first.
async fn versions(c: &Console, name: &str) -> Result<Vec<Version>, ConsoleError> {
    c.versions("profile", name).await
}

/// `GET /api/profiles/{name}/versions`.
pub async fn versions_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path(name): Path<String>,
) -> Result<Json<Vec<Version>>, ApiError> {
    current(&c, &name)?;
    Ok(Json(versions(&c, &name).await?))
}

/// The rollback form: the version to go back to, and the one in force as read.
#[derive(Deserialize)]
pub struct RollbackForm {
    csrf: Option<String>,
    to: u64,
    version: u64,
}

/// `POST /profiles/{name}/rollback`: saves an earlier version again, as a new version
/// ("roll back to N"), if nobody saved since the page was read.
pub async fn rollback(
    State(c): State<Console>,
    op: Operator,
    Path(name): Path<String>,
    Form(f): Form<RollbackForm>,
) -> Result<Response, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let app = c.app()?;
    current(&c, &name)?;
    let old = versions(&c, &name)
        .await?
        .into_iter()
        .find(|v| v.version == f.to)
        .ok_or_else(|| {
            ConsoleError::NotFound(format!("profile {name:?} has no saved version {}", f.to))
        })?;
    let p: Profile = serde_json::from_str(&old.body)
        .map_err(|e| ConsoleError::Internal(format!("version {} not read: {e}", f.to)))?;
    let done = app
        .put_profile(
            &op.principal.name,
            p,
            f.version,
            &format!("roll back to version {}", f.to),
        )
        .await?;
    Ok(Redirect::to(&format!("/profiles/{name}?saved={}", done.version)).into_response())
}

/// The compare form: the edit, and how many days of past traffic to replay.
#[derive(Deserialize)]
pub struct CompareForm {
    csrf: Option<String>,
    text: String,
    version: u64,
    days: Option<u32>,
}

/// Runs a comparison of `candidate` with the profile in force called `name` over the
/// last `days` days of the history and on the simulator.
async fn run_compare(
    c: &Console,
    name: &str,
    candidate: Profile,
    days: u32,
) -> Result<Comparison, ConsoleError> {
    if !(1..=MAX_COMPARE_DAYS).contains(&days) {
        return Err(ConsoleError::BadRequest(format!(
            "days: {days} is not between 1 and {MAX_COMPARE_DAYS}"
        )));
    }
    let to = chrono::Utc::now().timestamp() + 1;
    let from = to - i64::from(days) * 86_400;
    let events = c
        .history(move |h| query::events_between(h, from, to, MAX_COMPARE_EVENTS))
        .await?;
    let app = c.app()?;
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        let eng = app.engine.load();
        whatif::compare(&eng, &name, &candidate, &events, COMPARE_SIM_LIMIT)
    })
    .await
    .map_err(|e| ConsoleError::Internal(format!("comparison: {e}")))?
    .map_err(|e| match e {
        WhatIfError::Engine(_) => ConsoleError::Internal(e.to_string()),
        WhatIfError::Busy => ConsoleError::Busy(e.to_string()),
        WhatIfError::NoEvents | WhatIfError::UnknownProfile(_) => {
            ConsoleError::BadRequest(e.to_string())
        }
    })
}

/// `POST /profiles/{name}/compare`: the edit beside the profile in force, on the last
/// days of real traffic and on the simulator; nothing is saved.
pub async fn compare(
    State(c): State<Console>,
    op: Operator,
    Path(name): Path<String>,
    Form(f): Form<CompareForm>,
) -> Result<Html<String>, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let (live, version) = current(&c, &name)?;
    let versions = versions(&c, &name).await?;
    let days = f.days.unwrap_or(COMPARE_DAYS);
    let (error, changes, comparison) = match parse_edit(&name, &f.text) {
        Ok(p) => {
            let changes = changes(&live, &p)?;
            match run_compare(&c, &name, p, days).await {
                Ok(cmp) => (String::new(), Some(changes), Some(cmp)),
                Err(e @ (ConsoleError::BadRequest(_) | ConsoleError::Busy(_))) => {
                    (e.to_string(), Some(changes), None)
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => (e.to_string(), None, None),
    };
    html(&ProfilePage {
        layout: Layout::new(&op, "/profiles"),
        name,
        version: f.version.min(version),
        text: f.text,
        error,
        changes,
        saved: None,
        versions,
        days,
        comparison,
    })
}

/// What `POST /api/profiles/{name}/compare` takes.
#[derive(Deserialize)]
pub struct CompareRequest {
    /// The candidate (its name is the profile's it would replace).
    pub profile: Profile,
    /// Days of past traffic to replay (default 30).
    pub days: Option<u32>,
}

/// `POST /api/profiles/{name}/compare`: the comparison as JSON.
pub async fn compare_api(
    State(c): State<Console>,
    ApiOperator(op): ApiOperator,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    Json(r): Json<CompareRequest>,
) -> Result<Json<Comparison>, ApiError> {
    op.check_csrf(headers.get("x-csrf-token").and_then(|h| h.to_str().ok()))?;
    current(&c, &name)?;
    r.profile
        .validate()
        .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    Ok(Json(
        run_compare(&c, &name, r.profile, r.days.unwrap_or(COMPARE_DAYS)).await?,
    ))
}

/// A profile and its version (the JSON twin of a profile's page, and what `PUT` takes).
#[derive(Debug, Serialize, Deserialize)]
pub struct Versioned {
    /// The profile.
    pub profile: Profile,
    /// Its version (on `PUT`: the version read).
    pub version: u64,
    /// On `PUT`: why, for the version history.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// `GET /api/profiles/{name}`.
pub async fn one_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path(name): Path<String>,
) -> Result<Json<Versioned>, ApiError> {
    let (profile, version) = current(&c, &name)?;
    Ok(Json(Versioned {
        profile,
        version,
        comment: String::new(),
    }))
}

/// `PUT /api/profiles/{name}`: saves `{"profile": ..., "version": N}`; a session must
/// send its CSRF token in `x-csrf-token`.
pub async fn put_api(
    State(c): State<Console>,
    ApiOperator(op): ApiOperator,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    Json(v): Json<Versioned>,
) -> Result<Json<serde_json::Value>, ApiError> {
    op.check_csrf(headers.get("x-csrf-token").and_then(|h| h.to_str().ok()))?;
    if v.profile.name != name {
        return Err(ConsoleError::BadRequest(format!(
            "profile.name: {:?} differs from the path ({name:?})",
            v.profile.name
        ))
        .into());
    }
    let app = c.app()?;
    let done = app
        .put_profile(&op.principal.name, v.profile, v.version, v.comment.trim())
        .await?;
    Ok(Json(
        serde_json::json!({ "version": done.version, "sequence": done.sequence }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_name_each_setting() {
        let live = Profile::default();
        let mut cand = live.clone();
        assert!(changes(&live, &cand).unwrap().is_empty());
        cand.weights.load += 0.25;
        cand.adjustments.cost = 0.5;
        let c = changes(&live, &cand).unwrap();
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["adjustments.cost", "weights.load"]);
        assert_eq!(c[0].candidate, "0.5");
    }

    #[test]
    fn an_edit_keeps_its_name_and_the_rules() {
        let text = toml::to_string(&Profile::default()).unwrap();
        assert!(parse_edit("default", &text).is_ok());
        let e = parse_edit("other", &text).unwrap_err().to_string();
        assert!(e.contains("differs"), "{e}");
        let bad = text.replace("[weights]", "[weights]\nbogus = 1");
        assert!(parse_edit("default", &bad).is_err());
    }
}
