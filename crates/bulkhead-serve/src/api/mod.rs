//! The JSON API under `/api/v1`: the fleet's topology, each app against
//! its targets, the newest live check, the blast radius, the jobs and
//! their runs, live events; and the actions (back up an app now, run a
//! drill now, pause or resume a schedule).
//!
//! Every route is a row of [`ROUTES`]: its method and path, what it needs
//! ([`Permission`]), what it answers. One table serves three ends: the
//! guard in front of every route looks its permission up there (a route
//! missing from it is refused, never let through), the OpenAPI document is
//! built from it ([`openapi`]), and a test asks the router for every row.

pub mod openapi;
pub mod traffic;
pub mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{MatchedPath, Path, Query, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bulkhead_schedule::Work;
use futures::Stream;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use tokio_util::sync::CancellationToken;

use crate::access::{Access, Caller, Permission, Refusal};
use crate::history::{Pause, Run};
use crate::scheduler::{Refused, Shared};
use views::{Accepted, AppView, AppsPage, BlastView, CheckView, FleetView, JobsPage, Problem, RunsPage};

/// What the API's handlers share.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub shared: Arc<Shared>,
    pub access: Arc<Access>,
    /// Asks the traffic DNS instances how they see the sites.
    pub traffic: Arc<traffic::TrafficWatch>,
    /// Ends the live event streams when the server stops (a graceful
    /// shutdown waits for every connection).
    pub stop: CancellationToken,
}

/// A query parameter of a route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// `string` or `integer`.
    pub kind: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// One route of the API.
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Its path, with `{parameters}`.
    pub path: &'static str,
    /// What it does, in a line.
    pub summary: &'static str,
    /// What a caller needs.
    pub permission: Permission,
    /// The path parameter naming the object acted on (RBAC's `resourceNames`).
    pub name: Option<&'static str>,
    /// Its query parameters.
    pub query: &'static [Param],
    /// Its request body's schema.
    pub body: Option<fn(&mut SchemaGenerator) -> Schema>,
    /// Its answer's schema.
    pub response: fn(&mut SchemaGenerator) -> Schema,
    /// Its answer's status on success.
    pub status: u16,
    /// Its answer's media type.
    pub media: &'static str,
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

const JSON: &str = "application/json";

const PAGE: [Param; 2] = [
    Param { name: "offset", kind: "integer", description: "Skip this many (0 by default)." },
    Param { name: "limit", kind: "integer", description: "At most this many (100 by default, 1000 at most)." },
];

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/api/v1/fleet",
        summary: "The fleet's topology: providers, regions, zones, racks, and each cluster with its health.",
        permission: Permission::new("get", "fleet"),
        name: None,
        query: &[],
        body: None,
        response: schema::<FleetView>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/apps",
        summary: "Every app against its targets: backup age against the RPO, drills against the RTO, findings.",
        permission: Permission::new("list", "apps"),
        name: None,
        query: &[
            Param { name: "tier", kind: "integer", description: "Only apps of this tier." },
            Param {
                name: "health",
                kind: "string",
                description: "Only apps of this health (healthy, warning, failing).",
            },
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        response: schema::<AppsPage>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/apps/{app}",
        summary: "One app against its targets.",
        permission: Permission::new("get", "apps"),
        name: Some("app"),
        query: &[],
        body: None,
        response: schema::<AppView>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/check",
        summary: "The newest live check, as `bulkhead check --live --output json` prints it (404 before the first).",
        permission: Permission::new("get", "checks"),
        name: None,
        query: &[],
        body: None,
        response: schema::<CheckView>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/blast",
        summary: "What each failure domain's loss takes down, and the single points of failure.",
        permission: Permission::new("get", "blast"),
        name: None,
        query: &[],
        body: None,
        response: schema::<BlastView>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/traffic",
        summary: "Each app's sites as every traffic DNS instance sees them: in its answers, its probes, the vote.",
        permission: Permission::new("get", "traffic"),
        name: None,
        query: &[],
        body: None,
        response: schema::<traffic::TrafficView>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/jobs",
        summary: "Every scheduled job: its schedule, last success, next run, whether it runs or is paused.",
        permission: Permission::new("list", "jobs"),
        name: None,
        query: &[
            Param { name: "kind", kind: "string", description: "Only jobs of this kind (backup, drill …)." },
            PAGE[0],
            PAGE[1],
        ],
        body: None,
        response: schema::<JobsPage>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs",
        summary: "The history of runs, newest first.",
        permission: Permission::new("list", "runs"),
        name: None,
        query: &[
            Param {
                name: "job",
                kind: "string",
                description: "Only this job's runs (or those under it: `backup/nightly`).",
            },
            Param {
                name: "before",
                kind: "integer",
                description: "Only runs older than this id (the last page's `nextBefore`).",
            },
            PAGE[1],
        ],
        body: None,
        response: schema::<RunsPage>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/runs/{id}",
        summary: "One run.",
        permission: Permission::new("get", "runs"),
        name: None,
        query: &[],
        body: None,
        response: schema::<Run>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "GET",
        path: "/api/v1/events",
        summary: "Server-sent events: a `run` event, the run as JSON, as each run starts and ends.",
        permission: Permission::new("watch", "runs"),
        name: None,
        query: &[],
        body: None,
        response: schema::<Run>,
        status: 200,
        media: "text/event-stream",
    },
    Route {
        method: "POST",
        path: "/api/v1/apps/{app}/backup",
        summary: "Backs the app up now, on every cluster it runs on.",
        permission: Permission::new("create", "backups"),
        name: Some("app"),
        query: &[],
        body: None,
        response: schema::<Accepted>,
        status: 202,
        media: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/drills/{drill}/run",
        summary: "Runs the drill now.",
        permission: Permission::new("create", "drills"),
        name: Some("drill"),
        query: &[],
        body: None,
        response: schema::<Accepted>,
        status: 202,
        media: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/schedules/pause",
        summary: "Pauses a job's schedule: it runs only when asked for by hand, until resumed.",
        permission: Permission::new("update", "schedules"),
        name: None,
        query: &[],
        body: Some(schema::<JobRef>),
        response: schema::<Accepted>,
        status: 200,
        media: JSON,
    },
    Route {
        method: "POST",
        path: "/api/v1/schedules/resume",
        summary: "Resumes a paused schedule.",
        permission: Permission::new("update", "schedules"),
        name: None,
        query: &[],
        body: Some(schema::<JobRef>),
        response: schema::<Accepted>,
        status: 200,
        media: JSON,
    },
];

/// A job, named in a request's body.
#[derive(Debug, Clone, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRef {
    /// The job's key, such as `backup/nightly/aws-use1-prod/shop`.
    pub job: String,
}

/// A request that failed, as [`Problem`] JSON.
pub(crate) struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(Problem { status: self.0.as_u16(), message: self.1 });
        let mut response = (self.0, body).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let status = match refusal {
            Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self(status, refusal.to_string())
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        let status = match refused {
            Refused::Unknown(_) => StatusCode::NOT_FOUND,
            Refused::Elsewhere { .. } => StatusCode::CONFLICT,
            Refused::Handoff(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self(status, refused.to_string())
    }
}

impl From<crate::pauses::PauseError> for ApiError {
    fn from(e: crate::pauses::PauseError) -> Self {
        let status = match e {
            crate::pauses::PauseError::Cluster(_) => StatusCode::SERVICE_UNAVAILABLE,
            crate::pauses::PauseError::History(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, e.to_string())
    }
}

impl From<crate::HistoryError> for ApiError {
    fn from(e: crate::HistoryError) -> Self {
        Self(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

fn not_found(what: String) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, what)
}

/// The API's routes, each behind the guard.
pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/fleet", get(fleet))
        .route("/api/v1/apps", get(apps))
        .route("/api/v1/apps/{app}", get(app))
        .route("/api/v1/check", get(check))
        .route("/api/v1/blast", get(blast))
        .route("/api/v1/traffic", get(traffic_sites))
        .route("/api/v1/jobs", get(jobs))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/runs/{id}", get(run))
        .route("/api/v1/events", get(events))
        .route("/api/v1/apps/{app}/backup", post(backup_now))
        .route("/api/v1/drills/{drill}/run", post(drill_now))
        .route("/api/v1/schedules/pause", post(pause))
        .route("/api/v1/schedules/resume", post(resume))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route: /openapi.json lists them".into()) })
        .with_state(state)
}

/// Lets a request through when its caller may do what its route needs.
async fn guard(
    State(api): State<ApiState>,
    matched: MatchedPath,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_string();
    let Some(route) = ROUTES.iter().find(|r| r.method == method && r.path == matched.as_str()) else {
        // Fail closed: a route nobody described is a bug, not an open door.
        tracing::error!(path = matched.as_str(), method, "a route missing from the API's table");
        return ApiError(StatusCode::INTERNAL_SERVER_ERROR, "this route is not described".into()).into_response();
    };
    let name = route.name.and_then(|n| params.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()));
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match api.access.check(token, route.permission, name.as_deref()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refusal) => {
            tracing::info!(path = matched.as_str(), method, refusal = %refusal, "refused");
            ApiError::from(refusal).into_response()
        }
    }
}

/// The fleet of `plan`: 503 while none is in use.
fn fleet_in_use(plan: &crate::scheduler::Plan) -> Result<&bulkhead_model::Fleet, ApiError> {
    plan.loaded.fleet.as_ref().ok_or_else(|| ApiError(StatusCode::SERVICE_UNAVAILABLE, "no fleet is in use".into()))
}

/// The facts the views are worked out from, as they are now.
fn with_facts<T>(api: &ApiState, view: impl FnOnce(&views::Facts<'_>) -> T) -> Result<T, ApiError> {
    let shared = &api.shared;
    let plan = shared.current();
    let fleet = fleet_in_use(&plan)?;
    let evidence = shared.evidence.lock().expect("the evidence's lock").clone();
    let (last_runs, last_passed) = shared.last_runs();
    let check = shared.latest_check.lock().expect("the check's lock").clone();
    let facts = views::Facts {
        fleet,
        jobs: &plan.jobs,
        evidence: &evidence,
        last_runs: &last_runs,
        last_passed: &last_passed,
        check: check.as_deref(),
        now: chrono::Utc::now(),
        backups_read: true,
    };
    Ok(view(&facts))
}

async fn fleet(State(api): State<ApiState>) -> Result<Json<FleetView>, ApiError> {
    with_facts(&api, |facts| facts.fleet(&facts.apps())).map(Json)
}

#[derive(Debug, serde::Deserialize)]
struct AppsQuery {
    tier: Option<u8>,
    health: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `offset` and `limit` applied to `items`: the page and the next offset.
fn page<T>(items: Vec<T>, offset: Option<usize>, limit: Option<usize>) -> (Vec<T>, usize, Option<usize>) {
    let total = items.len();
    let offset = offset.unwrap_or(0).min(total);
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let page: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let next = (offset + page.len() < total).then_some(offset + page.len());
    (page, total, next)
}

async fn apps(State(api): State<ApiState>, Query(q): Query<AppsQuery>) -> Result<Json<AppsPage>, ApiError> {
    let all = with_facts(&api, |facts| facts.apps())?;
    let wanted: Vec<AppView> = all
        .into_iter()
        .filter(|a| q.tier.is_none_or(|t| a.tier == t))
        .filter(|a| {
            q.health.as_deref().is_none_or(|h| serde_json::to_value(a.health).is_ok_and(|v| v.as_str() == Some(h)))
        })
        .collect();
    let (items, total, next_offset) = page(wanted, q.offset, q.limit);
    Ok(Json(AppsPage { items, total, next_offset }))
}

async fn app(State(api): State<ApiState>, Path(name): Path<String>) -> Result<Json<AppView>, ApiError> {
    let all = with_facts(&api, |facts| facts.apps())?;
    all.into_iter()
        .find(|a| a.name == name)
        .map(Json)
        .ok_or_else(|| not_found(format!("the fleet has no app `{name}`")))
}

async fn check(State(api): State<ApiState>) -> Result<Json<CheckView>, ApiError> {
    let latest = api.shared.latest_check.lock().expect("the check's lock").clone();
    latest
        .map(|c| Json((*c).clone()))
        .ok_or_else(|| not_found("no live check has run yet (it runs at the start and every --check-every)".into()))
}

async fn blast(State(api): State<ApiState>) -> Result<Json<BlastView>, ApiError> {
    let plan = api.shared.current();
    Ok(Json(api.shared.blast(fleet_in_use(&plan)?)))
}

async fn traffic_sites(State(api): State<ApiState>) -> Result<Json<traffic::TrafficView>, ApiError> {
    let plan = api.shared.current();
    Ok(Json(api.traffic.view(fleet_in_use(&plan)?).await))
}

#[derive(Debug, serde::Deserialize)]
struct JobsQuery {
    kind: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn jobs(State(api): State<ApiState>, Query(q): Query<JobsQuery>) -> Result<Json<JobsPage>, ApiError> {
    let shared = &api.shared;
    let now = chrono::Utc::now();
    let (_, shards) = shared.held();
    let agenda = shared.agenda(now, shared.started(), shards);
    let running: BTreeSet<String> = shared.running_keys().into_iter().map(|k| k.0).collect();
    let paused: BTreeMap<String, Pause> = shared.paused().into_iter().map(|(k, p)| (k.0, p)).collect();
    let all = with_facts(&api, |facts| facts.jobs(agenda, &running, &paused))?;
    let wanted = all.into_iter().filter(|j| q.kind.as_deref().is_none_or(|k| j.kind == k)).collect();
    let (items, total, next_offset) = page(wanted, q.offset, q.limit);
    Ok(Json(JobsPage { items, total, next_offset }))
}

#[derive(Debug, serde::Deserialize)]
struct RunsQuery {
    job: Option<String>,
    before: Option<u64>,
    limit: Option<usize>,
}

async fn runs(State(api): State<ApiState>, Query(q): Query<RunsQuery>) -> Result<Json<RunsPage>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    // One more than asked says whether there is a next page.
    let mut items = api.shared.history.list_before(q.job.as_deref(), q.before, limit + 1)?;
    let next_before = (items.len() > limit).then(|| items[limit - 1].id);
    items.truncate(limit);
    Ok(Json(RunsPage { items, next_before }))
}

async fn run(State(api): State<ApiState>, Path(id): Path<u64>) -> Result<Json<Run>, ApiError> {
    api.shared.history.get(id)?.map(Json).ok_or_else(|| not_found(format!("the history holds no run {id}")))
}

async fn events(State(api): State<ApiState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    use futures::StreamExt;
    let receiver = api.shared.events.subscribe();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(run) => Event::default().event("run").json_data(&run).unwrap_or_default(),
            // A slow reader missed some: it reads the history for them.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    // A first comment at once: the answer's head and a first chunk reach
    // the reader now, not at the first run or keep-alive.
    let hello = futures::stream::once(async { Ok(Event::default().comment("bulkhead: runs follow")) });
    let stop = api.stop.clone();
    Sse::new(hello.chain(stream).take_until(async move { stop.cancelled().await })).keep_alive(KeepAlive::default())
}

async fn backup_now(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let plan = api.shared.current();
    let jobs: Vec<String> = plan
        .jobs
        .iter()
        .filter(|j| matches!(&j.work, Work::Backup { app: a, .. } if *a == app))
        .map(|j| j.work.key().0)
        .collect();
    if jobs.is_empty() {
        return Err(not_found(format!("the fleet backs up no app `{app}` (is it covered by a policy?)")));
    }
    let handed = api.shared.request_now(&jobs, &caller.name).await?;
    tracing::info!(app, by = caller.name, here = handed.here, elsewhere = handed.elsewhere, "backup asked for");
    let message = format!(
        "{} backup{} of `{app}` start{} now{}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        if jobs.len() == 1 { "s" } else { "" },
        elsewhere(handed)
    );
    Ok((StatusCode::ACCEPTED, Json(Accepted { jobs, message })))
}

async fn drill_now(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(drill): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let key = Work::Drill { drill: drill.clone() }.key().0;
    let handed = api.shared.request_now(std::slice::from_ref(&key), &caller.name).await.map_err(|e| match e {
        Refused::Unknown(_) => not_found(format!("the fleet declares no drill `{drill}`")),
        other => other.into(),
    })?;
    tracing::info!(drill, by = caller.name, here = handed.here, "drill asked for");
    let message = format!("drill `{drill}` starts now{}", elsewhere(handed));
    Ok((StatusCode::ACCEPTED, Json(Accepted { jobs: vec![key], message })))
}

/// Where the runs handed to other replicas start, in words.
fn elsewhere(handed: crate::scheduler::Handed) -> String {
    match (handed.here, handed.elsewhere) {
        (_, 0) => String::new(),
        (0, 1) => " on the replica holding its shard, within seconds".into(),
        (0, _) => " on the replicas holding their shards, within seconds".into(),
        (_, n) => format!(" ({n} on the replicas holding their shards, within seconds)"),
    }
}

fn known_job(api: &ApiState, job: &str) -> Result<(), ApiError> {
    let plan = api.shared.current();
    if plan.jobs.iter().any(|j| j.work.key().0 == job) {
        Ok(())
    } else {
        Err(not_found(format!("the fleet declares no job `{job}`")))
    }
}

async fn pause(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<JobRef>,
) -> Result<Json<Accepted>, ApiError> {
    known_job(&api, &body.job)?;
    let pause = Pause { since: chrono::Utc::now().to_rfc3339(), by: caller.name.clone() };
    api.shared.set_paused(&body.job, Some(pause)).await?;
    tracing::info!(job = body.job, by = caller.name, "schedule paused");
    let message = format!("`{}` runs only when asked for, until resumed", body.job);
    Ok(Json(Accepted { jobs: vec![body.job], message }))
}

async fn resume(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<JobRef>,
) -> Result<Json<Accepted>, ApiError> {
    known_job(&api, &body.job)?;
    let was = api.shared.set_paused(&body.job, None).await?;
    tracing::info!(job = body.job, by = caller.name, was_paused = was, "schedule resumed");
    let message = if was {
        format!("`{}` runs on its schedule again", body.job)
    } else {
        format!("`{}` was not paused", body.job)
    };
    Ok(Json(Accepted { jobs: vec![body.job], message }))
}
