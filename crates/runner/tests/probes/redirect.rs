//! Redirects between real loopback servers: configured headers stay on
//! their origin (scheme, host and port) unless the monitor opts in, the
//! URL's own credentials never leave it, and a redirect to a scheme the
//! probe does not follow (`file:`, `data:`, `gopher:` …) is a failed result
//! that names the scheme and the URL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use watchkeeper_domain::monitor::{HttpSpec, ProbeSpec, RedirectHeaders, RedirectPolicy, Secret};
use watchkeeper_domain::observation::{FailureKind, ObservationDetail, ProbeFailure};

use crate::support::{http_spec, prober};

/// A server that records the headers of every request it receives. Its
/// `/hop` redirects to its own `/record` (a same-origin redirect, written
/// relative), `/absolute-hop` to the same written whole; anything else is
/// recorded and answered `200 recorded`.
struct Recorder {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Recorder {
    async fn spawn(ip: &str) -> Recorder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/hop", get(|| async { found("/record") }))
            .route(
                "/absolute-hop",
                get(move || async move { found(&format!("http://{address}/record")) }),
            )
            .fallback(record)
            .with_state(seen.clone());
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Recorder { address, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The headers of every request recorded so far.
    fn requests(&self) -> Vec<HeaderMap> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(
    State(seen): State<Arc<Mutex<Vec<HeaderMap>>>>,
    headers: HeaderMap,
) -> &'static str {
    seen.lock().unwrap().push(headers);
    "recorded"
}

fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// A server on 127.0.0.1 that answers every request with a 302 to `location`.
async fn spawn_redirect(location: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().fallback(move || async move { found(location) });
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    address
}

/// A server on 127.0.0.1 that answers every request with a 302 to `target`.
async fn spawn_redirect_to(target: String) -> SocketAddr {
    let leaked: &'static str = Box::leak(target.into_boxed_str());
    spawn_redirect(leaked).await
}

fn with_secret_headers(mut spec: HttpSpec) -> HttpSpec {
    spec.headers
        .push(("X-Api-Key".to_owned(), Secret("k3y".to_owned())));
    spec.headers.push((
        "Authorization".to_owned(),
        Secret("Bearer t0ken".to_owned()),
    ));
    spec
}

async fn observe(spec: HttpSpec) -> u16 {
    let observation = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    match observation.detail {
        ObservationDetail::Http(http) => http.status,
        other => panic!("expected an http observation, got {other:?}"),
    }
}

async fn fail(spec: HttpSpec) -> ProbeFailure {
    match prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
    {
        Ok(observation) => panic!("expected a failure, got {observation:?}"),
        Err(failure) => failure,
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn configured_headers_do_not_follow_a_redirect_to_another_host() {
    let other_host = Recorder::spawn("127.0.0.2").await;
    let redirect = spawn_redirect_to(other_host.url("/landing")).await;
    let spec = with_secret_headers(http_spec(&format!("http://{redirect}/start")));
    assert_eq!(observe(spec).await, 200);
    let requests = other_host.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(header(&requests[0], "x-api-key"), None, "{requests:?}");
    assert_eq!(header(&requests[0], "authorization"), None, "{requests:?}");
}

#[tokio::test]
async fn configured_headers_do_not_follow_a_redirect_to_another_port() {
    let other_port = Recorder::spawn("127.0.0.1").await;
    let redirect = spawn_redirect_to(other_port.url("/landing")).await;
    let spec = with_secret_headers(http_spec(&format!("http://{redirect}/start")));
    assert_eq!(observe(spec).await, 200);
    let requests = other_port.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(header(&requests[0], "x-api-key"), None, "{requests:?}");
}

#[tokio::test]
async fn same_origin_redirects_keep_the_headers() {
    let server = Recorder::spawn("127.0.0.1").await;
    for path in ["/hop", "/absolute-hop"] {
        let spec = with_secret_headers(http_spec(&server.url(path)));
        assert_eq!(observe(spec).await, 200, "{path}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(header(request, "x-api-key"), Some("k3y"), "{requests:?}");
        assert_eq!(
            header(request, "authorization"),
            Some("Bearer t0ken"),
            "{requests:?}"
        );
    }
}

#[tokio::test]
async fn redirect_headers_all_sends_them_to_every_origin_but_not_the_url_password() {
    let other_host = Recorder::spawn("127.0.0.2").await;
    let redirect = spawn_redirect_to(other_host.url("/landing")).await;
    let mut spec = with_secret_headers(http_spec(&format!("http://svc:pw@{redirect}/start")));
    // The configured Authorization would clash with the URL's; the config
    // refuses both together, so keep only the key here.
    spec.headers.retain(|(name, _)| name != "Authorization");
    spec.redirects = RedirectPolicy::Follow {
        max_hops: 10,
        headers: RedirectHeaders::All,
    };
    assert_eq!(observe(spec).await, 200);
    let requests = other_host.requests();
    assert_eq!(
        header(&requests[0], "x-api-key"),
        Some("k3y"),
        "{requests:?}"
    );
    assert_eq!(header(&requests[0], "authorization"), None, "{requests:?}");
}

#[tokio::test]
async fn headers_dropped_once_stay_dropped_back_on_the_first_origin() {
    // 127.0.0.1:a → 127.0.0.2:b → 127.0.0.1:a/record: the key left with the
    // first hop to another origin and does not come back.
    let first = Recorder::spawn("127.0.0.1").await;
    let bounce = {
        let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let back: &'static str = Box::leak(first.url("/record").into_boxed_str());
        let router = Router::new().fallback(move || async move { found(back) });
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        address
    };
    let to_bounce: &'static str = Box::leak(format!("http://{bounce}/").into_boxed_str());
    let start = spawn_redirect(to_bounce).await;
    let spec = with_secret_headers(http_spec(&format!("http://{start}/")));
    assert_eq!(observe(spec).await, 200);
    assert_eq!(header(&first.requests()[0], "x-api-key"), None);
}

#[tokio::test]
async fn a_post_redirected_by_a_303_is_a_get_without_body_or_content_type() {
    let server = Recorder::spawn("127.0.0.1").await;
    let to_record: &'static str = Box::leak(server.url("/record").into_boxed_str());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().fallback(move || async move {
        (StatusCode::SEE_OTHER, [(header::LOCATION, to_record)]).into_response()
    });
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let mut spec = http_spec(&format!("http://{address}/submit"));
    spec.method = "POST".to_owned();
    spec.body = Some("{}".to_owned());
    spec.headers.push((
        "Content-Type".to_owned(),
        Secret("application/json".to_owned()),
    ));
    assert_eq!(observe(spec).await, 200);
    let requests = server.requests();
    assert_eq!(header(&requests[0], "content-type"), None, "{requests:?}");
    assert_eq!(header(&requests[0], "content-length"), None, "{requests:?}");
}

#[tokio::test]
async fn a_url_password_is_sent_on_its_origin_only() {
    let other_host = Recorder::spawn("127.0.0.2").await;
    let same = Recorder::spawn("127.0.0.1").await;
    // "svc:pw" in basic auth.
    let basic = "Basic c3ZjOnB3";
    let with_password = |url: String| url.replace("http://", "http://svc:pw@");
    assert_eq!(
        observe(http_spec(&with_password(same.url("/absolute-hop")))).await,
        200
    );
    assert_eq!(header(&same.requests()[0], "authorization"), Some(basic));

    let redirect = spawn_redirect_to(other_host.url("/landing")).await;
    assert_eq!(
        observe(http_spec(&format!("http://svc:pw@{redirect}/start"))).await,
        200
    );
    assert_eq!(header(&other_host.requests()[0], "authorization"), None);
}

#[tokio::test]
async fn a_redirect_to_a_file_url_is_a_refused_failure() {
    let redirect = spawn_redirect("file:///etc/passwd").await;
    let failure = fail(http_spec(&format!("http://{redirect}/start"))).await;
    assert_eq!(failure.kind, FailureKind::Refused, "{failure:?}");
    assert_eq!(
        failure.message,
        format!(
            "GET http://{redirect}/start: redirect to file:///etc/passwd: the scheme file: is refused (only http and https redirects are followed)"
        )
    );
}

#[tokio::test]
async fn a_redirect_to_any_other_scheme_is_a_refused_failure_naming_it() {
    for (location, shown, scheme) in [
        ("data:text/plain,up", "data:text/plain,up", "data:"),
        ("javascript:alert(1)", "javascript:alert(1)", "javascript:"),
        ("gopher://127.0.0.1/", "gopher://127.0.0.1/", "gopher:"),
        (
            "ftp://user:pw@127.0.0.1/",
            "ftp://user:***@127.0.0.1/",
            "ftp:",
        ),
    ] {
        let redirect = spawn_redirect(location).await;
        let failure = fail(http_spec(&format!("http://{redirect}/"))).await;
        assert_eq!(
            failure.kind,
            FailureKind::Refused,
            "{location}: {failure:?}"
        );
        assert_eq!(
            failure.message,
            format!(
                "GET http://{redirect}/: redirect to {shown}: the scheme {scheme} is refused (only http and https redirects are followed)"
            ),
            "{location}"
        );
    }
}
