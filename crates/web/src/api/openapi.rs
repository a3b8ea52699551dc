//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`.
//!
//! Each operation comes from its handler's `#[utoipa::path]` and each
//! schema from the wire type the handler answers (`ToSchema`), so the
//! document is compiled from the code it describes. What the handlers
//! share is added here from the route table ([`API_ROUTES`]): the bearer
//! token each route asks for (from its [`Access`]) and the error answers
//! every route can give, all in the one [`ErrorBody`] shape. A test walks
//! the table and the document both ways, so a route cannot be served
//! undocumented or documented unserved.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder};

use crate::api::routes::{API_ROUTES, ApiRoute};
use crate::auth::Access;
use crate::error::{ApiError, ErrorBody};
use crate::{api, audit, reload};

/// Where the API is mounted; the document's paths include it.
pub const PREFIX: &str = "/api/v1";
/// The security scheme's name in the document.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Watchkeeper API",
        description = "Monitors, alerts, notifications, on-call, silences and incidents. \
            Send `Authorization: Bearer TOKEN` (`watchkeeper token create`); a viewer token \
            reads, a responder's acknowledges, silences and updates incidents, an admin's \
            does everything. Under `[api] public_read = true` reads need no token. Every \
            error answers `{\"error\": {\"code\", \"message\"}}`. Times are RFC 3339.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        api::list_monitors,
        api::get_monitor,
        api::history::list_results,
        api::history::list_state_changes,
        api::components::list_components,
        api::components::list_maintenance,
        api::alerts::list_alerts,
        api::alerts::get_alert,
        api::acks::acknowledge,
        api::acks::resolve,
        api::acks::unacknowledge,
        api::acks::mtta,
        api::deliveries::list_deliveries,
        api::deliveries::get_delivery,
        api::slos::list_slos,
        api::oncall::list_oncall,
        api::oncall::schedule_calendar,
        api::overrides::list_overrides,
        api::overrides::create_override,
        api::overrides::remove_override,
        api::silences::list_silences,
        api::silences::create_silence,
        api::silences::get_silence,
        api::silences::expire_silence,
        api::incidents::list_incidents,
        api::incidents::open_incident,
        api::incidents::incident_stats,
        api::incidents::get_incident,
        api::incidents::post_update,
        api::incidents::postmortem,
        api::subscriptions::list_subscriptions,
        api::subscriptions::remove_subscription,
        audit::list_audit,
        reload::api_reload,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "monitors", description = "What every monitor is doing now"),
        (name = "components", description = "Components with their status, and maintenance windows"),
        (name = "alerts", description = "Alerts, their acknowledgement and resolution"),
        (name = "notifications", description = "The outbox: each notification and its attempts"),
        (name = "slos", description = "Error budgets and burn rates"),
        (name = "oncall", description = "Schedules, who is on call, overrides"),
        (name = "silences", description = "Alerts matched and not sent for a while"),
        (name = "incidents", description = "Incidents, their updates and postmortems"),
        (name = "subscriptions", description = "The status page's email and webhook subscribers"),
        (name = "audit", description = "Every change made over the API"),
        (name = "config", description = "The configuration file"),
    )
)]
struct V1;

/// The document: the handlers' operations under [`PREFIX`], with each
/// route's token and error answers from the route table.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApi::default().nest(PREFIX, V1::openapi());
    // `nest` keeps only the nested document's paths and components.
    let v1 = V1::openapi();
    doc.info = v1.info;
    doc.tags = v1.tags;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from `watchkeeper token create`"))
                .build(),
        ),
    );
    for route in API_ROUTES {
        let path = format!("{PREFIX}{}", route.path);
        if let Some(operation) = doc
            .paths
            .paths
            .get_mut(&path)
            .and_then(|item| operation_mut(item, &route.method))
        {
            add_shared(operation, route);
        }
    }
    doc
}

/// A link from `POST path`'s 201: its name, the operation it leads to,
/// and that operation's parameters as runtime expressions.
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// What a created object's answer leads to (OpenAPI links), so a client
/// generator or a stateful test can follow a silence, an incident or an
/// override from its creation to its reading, updating and removal.
/// Written into the JSON: utoipa 5.5 writes a `Link`'s fields in
/// snake_case (`operation_id`), which no OpenAPI tool reads.
fn add_links(doc: &mut serde_json::Value) {
    let links: [Link; 6] = [
        (
            "/silences",
            "GetSilence",
            "get_silence",
            &[("silence", "$response.body#/id")],
        ),
        (
            "/silences",
            "ExpireSilence",
            "expire_silence",
            &[("silence", "$response.body#/id")],
        ),
        (
            "/incidents",
            "GetIncident",
            "get_incident",
            &[("incident", "$response.body#/incident/id")],
        ),
        (
            "/incidents",
            "PostUpdate",
            "post_update",
            &[("incident", "$response.body#/incident/id")],
        ),
        (
            "/incidents",
            "Postmortem",
            "postmortem",
            &[("incident", "$response.body#/incident/id")],
        ),
        (
            "/schedules/{schedule}/overrides",
            "RemoveOverride",
            "remove_override",
            &[
                ("schedule", "$request.path.schedule"),
                ("override", "$response.body#/id"),
            ],
        ),
    ];
    for (path, name, operation_id, parameters) in links {
        let Some(created) = doc
            .get_mut("paths")
            .and_then(|paths| paths.get_mut(format!("{PREFIX}{path}")))
            .and_then(|item| item.get_mut("post"))
            .and_then(|operation| operation.get_mut("responses"))
            .and_then(|responses| responses.get_mut("201"))
            .and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        let parameters: serde_json::Map<String, serde_json::Value> = parameters
            .iter()
            .map(|(parameter, value)| ((*parameter).to_owned(), (*value).into()))
            .collect();
        if let Some(all) = created
            .entry("links")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
        {
            all.insert(
                name.to_owned(),
                serde_json::json!({ "operationId": operation_id, "parameters": parameters }),
            );
        }
    }
}

/// The document as JSON, with its links.
pub fn document_json() -> Result<serde_json::Value, serde_json::Error> {
    let mut json = serde_json::to_value(document())?;
    add_links(&mut json);
    Ok(json)
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

/// The token a route asks for, and the errors it can answer.
fn add_shared(operation: &mut Operation, route: &ApiRoute) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let mut errors = vec![
        (
            "400",
            "A parameter or the body is wrong; `message` names it",
        ),
        (
            "401",
            "No token, or one that is unknown, revoked or expired",
        ),
        ("404", "No such object"),
        (
            "429",
            "Too many requests or failed authentications from this address",
        ),
        (
            "500",
            "The server failed; `message` has the id of its log line",
        ),
        (
            "503",
            "The server does not offer this, or did not answer in time",
        ),
    ];
    if let Access::Role(role) = route.access {
        errors.push((
            "403",
            match role {
                watchkeeper_domain::access::Role::Admin => "This needs an admin token",
                _ => "This needs a responder or admin token",
            },
        ));
        errors.push(("409", "It clashes with what is stored; `message` says how"));
        errors.push(("413", "The body is larger than the API takes"));
    }
    for (status, description) in errors {
        let mut response = ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        );
        if status == "401" {
            response = response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .description(Some("`Bearer realm=\"watchkeeper\"`"))
                    .build(),
            );
        }
        if status == "429" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .description(Some("Seconds until a request may succeed"))
                    .build(),
            );
        }
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| response.build().into());
    }
}

/// Schemas of parameters and fields whose Rust type is a plain string but
/// whose values are a fixed set or a syntax the handler checks (so the
/// handler keeps its own error messages, and the document says what it
/// takes).
pub(crate) mod schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{Object, Schema};

    fn strings(values: &[&str]) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build()
    }

    fn pattern(regex: &str, example: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(regex))
            .examples([example])
            .build()
    }

    pub fn open_or_all() -> Object {
        strings(&["open", "all"])
    }

    pub fn true_or_false() -> Object {
        strings(&["true", "false"])
    }

    pub fn api_or_cli() -> Object {
        strings(&["api", "cli"])
    }

    pub fn incident_status() -> Object {
        let all = watchkeeper_domain::incident::IncidentStatus::ALL.map(|status| status.as_str());
        strings(&all)
    }

    /// `{"payments": "partial_outage"}`.
    pub fn impacts() -> Object {
        let all = watchkeeper_domain::incident::Impact::ALL.map(|impact| impact.as_str());
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(Schema::Object(strings(&all))))
            .build()
    }

    /// A duration such as `30m` (the handler also takes `1h 30m` and ISO
    /// 8601's `PT30M`).
    pub fn duration() -> Object {
        pattern("^[1-9][0-9]{0,3}(s|m|h)$", "30m")
    }

    /// A duration such as `8h` or `2d`.
    pub fn long_duration() -> Object {
        pattern("^[1-9][0-9]{0,2}(h|d)$", "8h")
    }

    /// A limit from 1 to 1,000.
    pub fn limit() -> Object {
        pattern("^[1-9][0-9]{0,2}$|^1000$", "100")
    }

    pub fn some_text() -> Object {
        pattern("\\S", "deploying the payments service")
    }

    /// Alertmanager's matchers: `severity="P1"`, `team=~"pay.*"`, `env!=dev`.
    pub fn matchers() -> utoipa::openapi::Array {
        ArrayBuilder::new()
            .items(pattern(
                "^[a-zA-Z_][a-zA-Z0-9_]*=([a-zA-Z0-9_.-]+|\"[a-zA-Z0-9_.-]+\")$",
                "severity=\"P1\"",
            ))
            .min_items(Some(1))
            .build()
    }
}

/// The document as JSON, encoded once.
static ENCODED: LazyLock<Result<Bytes, String>> = LazyLock::new(|| {
    document_json()
        .and_then(|json| serde_json::to_vec(&json))
        .map(Bytes::from)
        .map_err(|error| error.to_string())
});

/// `GET /api/openapi.json`.
pub(crate) async fn serve() -> Result<Response, ApiError> {
    let body = ENCODED.as_ref().map_err(|error| {
        ApiError::Internal(format!("the OpenAPI document does not encode: {error}"))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn documented(doc: &utoipa::openapi::OpenApi) -> BTreeSet<(String, String)> {
        let mut all = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if operation.is_some() {
                    all.insert((method.to_owned(), path.clone()));
                }
            }
        }
        all
    }

    #[test]
    fn every_served_route_is_documented_and_nothing_else() {
        let served: BTreeSet<(String, String)> = API_ROUTES
            .iter()
            .map(|route| (route.method.to_string(), format!("{PREFIX}{}", route.path)))
            .collect();
        assert_eq!(documented(&document()), served);
    }

    #[test]
    fn each_operation_asks_for_the_token_and_names_the_errors_of_its_route() {
        let mut doc = document();
        for route in API_ROUTES {
            let path = format!("{PREFIX}{}", route.path);
            let item = doc.paths.paths.get_mut(&path).unwrap();
            let operation = operation_mut(item, &route.method).unwrap();
            assert!(operation.security.is_some(), "{path}");
            let statuses: Vec<&str> = operation
                .responses
                .responses
                .keys()
                .map(String::as_str)
                .collect();
            assert!(
                statuses.iter().any(|status| status.starts_with('2')),
                "{path}: {statuses:?}"
            );
            let changes = matches!(route.access, Access::Role(_));
            assert_eq!(statuses.contains(&"403"), changes, "{path}: {statuses:?}");
            assert!(statuses.contains(&"401"), "{path}");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_its_schemas() {
        let json = serde_json::to_value(document()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(json["info"]["title"], "Watchkeeper API");
        let schemas = json["components"]["schemas"].as_object().unwrap();
        for name in ["ErrorBody", "MonitorList", "AlertDetail", "IncidentDetail"] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
        // Every reference points at a schema the document has.
        let text = json.to_string();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
        assert_eq!(
            json["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn links_lead_from_a_created_object_to_operations_that_exist() {
        let json = document_json().unwrap();
        let mut ids = BTreeSet::new();
        for item in json["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                ids.insert(operation["operationId"].as_str().unwrap().to_owned());
            }
        }
        let mut linked = 0;
        for item in json["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                for response in operation["responses"].as_object().unwrap().values() {
                    for link in response["links"]
                        .as_object()
                        .into_iter()
                        .flat_map(|l| l.values())
                    {
                        let target = link["operationId"].as_str().unwrap();
                        assert!(ids.contains(target), "link to unknown {target}");
                        linked += 1;
                    }
                }
            }
        }
        assert_eq!(linked, 6);
    }
}
