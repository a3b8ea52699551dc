//! The route table of `/api/v1`: every route once, as data — its method,
//! path and [`Access`] — which both [`api_routes`](crate::api_routes)
//! builds the router from and the token matrix test
//! (`tests/routes/access.rs`) walks. A route exists only by being listed
//! here, so it cannot be served without the token layer, and the test
//! covers it the day it is added.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use watchkeeper_domain::access::Role;

use crate::auth::Access;
use crate::{AppState, api, audit, reload};

/// One route of `/api/v1`.
pub struct ApiRoute {
    pub method: Method,
    /// Relative to `/api/v1`, with axum's `{param}` captures.
    pub path: &'static str,
    pub access: Access,
    /// The handler on `method` (given as a filter, so the method is written
    /// once, in `method`).
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl ApiRoute {
    pub(crate) fn method_router(&self) -> MethodRouter<AppState> {
        let filter = MethodFilter::try_from(self.method.clone()).unwrap_or(MethodFilter::GET);
        (self.handler)(filter)
    }
}

fn route<H, T>(filter: MethodFilter, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    on(filter, handler)
}

/// Every route of `/api/v1`. Reads are [`Access::Read`]; a change names
/// the role it needs.
pub static API_ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: Method::GET,
        path: "/monitors",
        access: Access::Read,
        handler: |filter| route(filter, api::list_monitors),
    },
    ApiRoute {
        method: Method::GET,
        path: "/monitors/{id}",
        access: Access::Read,
        handler: |filter| route(filter, api::get_monitor),
    },
    ApiRoute {
        method: Method::GET,
        path: "/monitors/{id}/results",
        access: Access::Read,
        handler: |filter| route(filter, api::history::list_results),
    },
    ApiRoute {
        method: Method::GET,
        path: "/monitors/{id}/state-changes",
        access: Access::Read,
        handler: |filter| route(filter, api::history::list_state_changes),
    },
    ApiRoute {
        method: Method::GET,
        path: "/components",
        access: Access::Read,
        handler: |filter| route(filter, api::components::list_components),
    },
    ApiRoute {
        method: Method::GET,
        path: "/maintenance",
        access: Access::Read,
        handler: |filter| route(filter, api::components::list_maintenance),
    },
    ApiRoute {
        method: Method::GET,
        path: "/alerts",
        access: Access::Read,
        handler: |filter| route(filter, api::alerts::list_alerts),
    },
    ApiRoute {
        method: Method::GET,
        path: "/alerts/{fingerprint}",
        access: Access::Read,
        handler: |filter| route(filter, api::alerts::get_alert),
    },
    ApiRoute {
        method: Method::POST,
        path: "/alerts/{fingerprint}/ack",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::acks::acknowledge),
    },
    ApiRoute {
        method: Method::POST,
        path: "/alerts/{fingerprint}/resolve",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::acks::resolve),
    },
    ApiRoute {
        method: Method::POST,
        path: "/alerts/{fingerprint}/unack",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::acks::unacknowledge),
    },
    ApiRoute {
        method: Method::GET,
        path: "/mtta",
        access: Access::Read,
        handler: |filter| route(filter, api::acks::mtta),
    },
    ApiRoute {
        method: Method::GET,
        path: "/deliveries",
        access: Access::Read,
        handler: |filter| route(filter, api::deliveries::list_deliveries),
    },
    ApiRoute {
        method: Method::GET,
        path: "/deliveries/{delivery}",
        access: Access::Read,
        handler: |filter| route(filter, api::deliveries::get_delivery),
    },
    ApiRoute {
        method: Method::GET,
        path: "/slos",
        access: Access::Read,
        handler: |filter| route(filter, api::slos::list_slos),
    },
    ApiRoute {
        method: Method::GET,
        path: "/oncall",
        access: Access::Read,
        handler: |filter| route(filter, api::oncall::list_oncall),
    },
    ApiRoute {
        method: Method::GET,
        path: "/schedules/{file}",
        access: Access::Read,
        handler: |filter| route(filter, api::oncall::schedule_calendar),
    },
    ApiRoute {
        method: Method::GET,
        path: "/schedules/{schedule}/overrides",
        access: Access::Read,
        handler: |filter| route(filter, api::overrides::list_overrides),
    },
    ApiRoute {
        method: Method::POST,
        path: "/schedules/{schedule}/overrides",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::overrides::create_override),
    },
    ApiRoute {
        method: Method::DELETE,
        path: "/schedules/{schedule}/overrides/{override}",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::overrides::remove_override),
    },
    ApiRoute {
        method: Method::GET,
        path: "/silences",
        access: Access::Read,
        handler: |filter| route(filter, api::silences::list_silences),
    },
    ApiRoute {
        method: Method::POST,
        path: "/silences",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::silences::create_silence),
    },
    ApiRoute {
        method: Method::GET,
        path: "/silences/{silence}",
        access: Access::Read,
        handler: |filter| route(filter, api::silences::get_silence),
    },
    ApiRoute {
        method: Method::DELETE,
        path: "/silences/{silence}",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::silences::expire_silence),
    },
    ApiRoute {
        method: Method::GET,
        path: "/incidents",
        access: Access::Read,
        handler: |filter| route(filter, api::incidents::list_incidents),
    },
    ApiRoute {
        method: Method::POST,
        path: "/incidents",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::incidents::open_incident),
    },
    ApiRoute {
        method: Method::GET,
        path: "/incidents/stats",
        access: Access::Read,
        handler: |filter| route(filter, api::incidents::incident_stats),
    },
    ApiRoute {
        method: Method::GET,
        path: "/incidents/{incident}",
        access: Access::Read,
        handler: |filter| route(filter, api::incidents::get_incident),
    },
    ApiRoute {
        method: Method::POST,
        path: "/incidents/{incident}/updates",
        access: Access::Role(Role::Responder),
        handler: |filter| route(filter, api::incidents::post_update),
    },
    ApiRoute {
        method: Method::GET,
        path: "/incidents/{incident}/postmortem.md",
        access: Access::Read,
        handler: |filter| route(filter, api::incidents::postmortem),
    },
    ApiRoute {
        method: Method::GET,
        path: "/subscriptions",
        access: Access::Role(Role::Admin),
        handler: |filter| route(filter, api::subscriptions::list_subscriptions),
    },
    ApiRoute {
        method: Method::DELETE,
        path: "/subscriptions/{subscriber}",
        access: Access::Role(Role::Admin),
        handler: |filter| route(filter, api::subscriptions::remove_subscription),
    },
    ApiRoute {
        method: Method::GET,
        path: "/audit",
        access: Access::Role(Role::Admin),
        handler: |filter| route(filter, audit::list_audit),
    },
    ApiRoute {
        method: Method::POST,
        path: "/reload",
        access: Access::Role(Role::Admin),
        handler: |filter| route(filter, reload::api_reload),
    },
];
