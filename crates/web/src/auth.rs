//! Who is calling `/api/v1`, and whether they may: the bearer token read
//! from `Authorization`, looked up by its hash in the store on every
//! request (so `watchkeeper token revoke` takes effect at once: there is
//! no cache to invalidate), the decision ([`decide`], a pure function of
//! the route's [`Access`], the credential and `[api] public_read`), and the
//! [`Caller`] a handler extracts to know who it serves and to require a
//! stronger role.
//!
//! The layer ([`enforce`]) is put on each API route by the route table
//! (`api::routes`), never on `/health`, `/metrics` or `/-/`. A token's last
//! use is written at most once a minute, off the request's path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use watchkeeper_domain::access::{Role, TokenName, last_use_is_stale, parse_presented};
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::Store;

use crate::AppState;
use crate::error::ApiError;

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read: a viewer's token, or none at all under `[api] public_read`.
    Read,
    /// A token of at least this role, whatever `public_read` says.
    Role(Role),
}

impl Access {
    /// The weakest token role that passes.
    pub fn least_role(self) -> Role {
        match self {
            Access::Read => Role::Viewer,
            Access::Role(role) => role,
        }
    }
}

/// Who is calling, once the layer let them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: Identity,
    /// The client's address, from the connection (absent for requests that
    /// did not come over one, such as in-process tests).
    pub remote: Option<SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No token: a read under `[api] public_read`.
    Public,
    Token {
        name: TokenName,
        role: Role,
    },
}

impl Caller {
    /// The audit log's actor: the token's name, or `public`.
    pub fn actor(&self) -> &str {
        match &self.identity {
            Identity::Public => watchkeeper_domain::access::PUBLIC_ACTOR,
            Identity::Token { name, .. } => name.as_str(),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.identity {
            Identity::Public => None,
            Identity::Token { role, .. } => Some(*role),
        }
    }

    /// `Ok` when the caller's token has at least `needed`: a 401 without a
    /// token, a 403 with a weaker one. The route table already asked for
    /// its route's role; a handler calls this for what only some of its
    /// requests do.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        match self.role() {
            None => Err(ApiError::Unauthorized(Unauthorized::Missing)),
            Some(role) if role.allows(needed) => Ok(()),
            Some(role) => Err(ApiError::Forbidden { needed, role }),
        }
    }
}

/// A handler takes `caller: Caller`; the layer put it in the request.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::Internal(format!(
                "{} {} is not behind the token layer: add it to api::routes",
                parts.method,
                parts.uri.path()
            ))
        })
    }
}

/// Why a request is not let in at all (401). The message says which
/// rule failed and never quotes the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    Missing,
    NotBearer,
    Malformed,
    Unknown,
    Revoked,
}

impl Unauthorized {
    pub fn message(self) -> &'static str {
        match self {
            Unauthorized::Missing => {
                "this needs a token: send `Authorization: Bearer wk_…` (watchkeeper token create)"
            }
            Unauthorized::NotBearer => "the Authorization header must be `Bearer wk_…`",
            Unauthorized::Malformed => "this is not a Watchkeeper token (`wk_` and 43 characters)",
            Unauthorized::Unknown => "no such token",
            Unauthorized::Revoked => "this token has been revoked",
        }
    }
}

/// The credential a request presented, once looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No `Authorization` header.
    Missing,
    /// One that lets nobody in.
    Invalid(Unauthorized),
    /// A live token.
    Token { name: TokenName, role: Role },
}

/// Whether a request with `credential` may use a route that asks for
/// `access`. A request that sends a credential must send a good one, even
/// where none is needed: a wrong token is a 401, never a quiet fall back
/// to public reading.
pub fn decide(
    access: Access,
    credential: Credential,
    public_read: bool,
) -> Result<Identity, ApiError> {
    match credential {
        Credential::Invalid(why) => Err(ApiError::Unauthorized(why)),
        Credential::Missing if access == Access::Read && public_read => Ok(Identity::Public),
        Credential::Missing => Err(ApiError::Unauthorized(Unauthorized::Missing)),
        Credential::Token { name, role } => {
            let needed = access.least_role();
            if role.allows(needed) {
                Ok(Identity::Token { name, role })
            } else {
                Err(ApiError::Forbidden { needed, role })
            }
        }
    }
}

/// The token half of [`AppState`]: the store for looking tokens up and
/// recording their use, and whether reads are public.
#[derive(Clone)]
pub struct Authority {
    store: Store,
    clock: Arc<dyn Clock>,
    public_read: bool,
}

impl Authority {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            public_read: false,
        }
    }

    pub(crate) fn with_public_read(mut self, public_read: bool) -> Self {
        self.public_read = public_read;
        self
    }

    pub fn public_read(&self) -> bool {
        self.public_read
    }

    /// The credential in `headers` (or, with none there, the calendar
    /// token of the query), looked up in the store.
    async fn credential(
        &self,
        headers: &HeaderMap,
        calendar_token: Option<String>,
    ) -> Result<Credential, ApiError> {
        let invalid = |why| Ok(Credential::Invalid(why));
        let token = match (headers.get(AUTHORIZATION), calendar_token) {
            (None, None) => return Ok(Credential::Missing),
            (None, Some(token)) => token,
            (Some(value), _) => {
                let Some((scheme, token)) =
                    value.to_str().ok().and_then(|text| text.split_once(' '))
                else {
                    return invalid(Unauthorized::NotBearer);
                };
                // RFC 9110: the scheme is case-insensitive.
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return invalid(Unauthorized::NotBearer);
                }
                token.to_owned()
            }
        };
        let Ok(hash) = parse_presented(token.trim()) else {
            return invalid(Unauthorized::Malformed);
        };
        match self.store.token_by_hash(&hash).await? {
            None => invalid(Unauthorized::Unknown),
            Some(token) if token.revoked_at.is_some() => invalid(Unauthorized::Revoked),
            Some(token) => {
                self.note_use(&token.name, token.last_used_at);
                Ok(Credential::Token {
                    name: token.name,
                    role: token.role,
                })
            }
        }
    }

    /// Records a use now if the last one recorded is a minute old, in a
    /// task of its own: the answer does not wait for the write.
    fn note_use(&self, name: &TokenName, recorded: Option<jiff::Timestamp>) {
        let now = self.clock.now();
        if !last_use_is_stale(recorded, now) {
            return;
        }
        let store = self.store.clone();
        let name = name.clone();
        tokio::spawn(async move {
            if let Err(error) = store.touch_token(&name, now).await {
                tracing::warn!(error = %error, token = %name, "cannot record a token's use");
            }
        });
    }
}

/// A calendar app subscribing to `GET /api/v1/schedules/{id}.ics` cannot
/// send a header, so there (and only there) the token may come as
/// `?token=wk_…`. A reader of the calendar URL can read the schedule; give
/// such a URL a viewer token of its own, to revoke by itself.
fn calendar_token(request: &Request) -> Option<String> {
    let uri = request.uri();
    if *request.method() != Method::GET || !uri.path().ends_with(".ics") {
        return None;
    }
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

/// The layer on every API route: let the request in with its [`Caller`],
/// or answer 401 / 403 in the JSON error shape.
pub(crate) async fn enforce(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address);
    let calendar = calendar_token(&request);
    let presents = calendar.is_some() || request.headers().contains_key(AUTHORIZATION);
    if presents
        && let Some(address) = remote
        && let Some(wait) = state.rate_limits.blocked.remaining(address.ip())
    {
        return ApiError::TooManyRequests {
            what: "failed authentications",
            retry_after: wait,
        }
        .into_response();
    }
    let credential = match state.auth.credential(request.headers(), calendar).await {
        Ok(credential) => credential,
        Err(error) => return error.into_response(),
    };
    match decide(access, credential, state.auth.public_read) {
        Ok(identity) => {
            request.extensions_mut().insert(Caller { identity, remote });
            next.run(request).await
        }
        Err(refused) => {
            if let (ApiError::Unauthorized(why), Some(address)) = (&refused, remote)
                && *why != Unauthorized::Missing
                && let Err(wait) = state.rate_limits.failed_authentication(address.ip())
            {
                tracing::warn!(remote = %address, "too many failed authentications from this address");
                return ApiError::TooManyRequests {
                    what: "failed authentications",
                    retry_after: wait,
                }
                .into_response();
            }
            if *request.method() != Method::GET {
                tracing::info!(method = %request.method(), path = request.uri().path(), remote = ?remote, "refused a change without a sufficient token");
            }
            refused.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(role: Role) -> Credential {
        Credential::Token {
            name: TokenName::parse("t").unwrap(),
            role,
        }
    }

    fn status(result: Result<Identity, ApiError>) -> u16 {
        match result {
            Ok(_) => 200,
            Err(ApiError::Unauthorized(_)) => 401,
            Err(ApiError::Forbidden { .. }) => 403,
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn reads_are_public_only_without_a_credential_and_only_when_allowed() {
        assert_eq!(status(decide(Access::Read, Credential::Missing, true)), 200);
        assert_eq!(
            status(decide(Access::Read, Credential::Missing, false)),
            401
        );
        let revoked = Credential::Invalid(Unauthorized::Revoked);
        assert_eq!(status(decide(Access::Read, revoked, true)), 401);
        assert_eq!(
            status(decide(Access::Read, token(Role::Viewer), false)),
            200
        );
    }

    #[test]
    fn a_change_needs_its_role_whatever_public_read_says() {
        let admin = Access::Role(Role::Admin);
        assert_eq!(status(decide(admin, Credential::Missing, true)), 401);
        assert_eq!(status(decide(admin, token(Role::Responder), true)), 403);
        assert_eq!(status(decide(admin, token(Role::Admin), false)), 200);
        let responder = Access::Role(Role::Responder);
        assert_eq!(status(decide(responder, token(Role::Viewer), true)), 403);
        assert_eq!(status(decide(responder, token(Role::Admin), true)), 200);
    }

    #[test]
    fn a_public_caller_is_told_to_bring_a_token_and_a_weak_one_its_role() {
        let public = Caller {
            identity: Identity::Public,
            remote: None,
        };
        assert_eq!(public.actor(), "public");
        assert!(matches!(
            public.require(Role::Viewer),
            Err(ApiError::Unauthorized(Unauthorized::Missing))
        ));
        let viewer = Caller {
            identity: Identity::Token {
                name: TokenName::parse("ci").unwrap(),
                role: Role::Viewer,
            },
            remote: None,
        };
        assert_eq!(viewer.actor(), "ci");
        assert!(viewer.require(Role::Viewer).is_ok());
        let refused = viewer.require(Role::Responder).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "this needs a token with the responder role; this one is viewer"
        );
    }
}
