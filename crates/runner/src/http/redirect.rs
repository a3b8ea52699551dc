//! Sending the request and following its redirects, by hand and in this one
//! place: every hop is checked before it is sent (only `http:` and `https:`,
//! then the target policy), the monitor's configured headers stay on the
//! URL's origin unless it opts in ([`RedirectHeaders::All`]), the URL's
//! own user and password never leave its origin, and the method and body
//! change as RFC 9110 says (301 and 302 turn a POST into a GET, 303 anything
//! but HEAD; 307 and 308 keep both).
//!
//! reqwest's own following cannot do this: it drops only the headers it
//! knows to be credentials (`Authorization`, `Cookie`), so an `X-Api-Key`
//! went on to whichever host a target redirected to; and a `Location` it
//! cannot make a request of (`file:`, `data:`) made it stop and hand back
//! the 3xx as though it were the answer, which the default `expect` calls
//! up.

use reqwest::header::{
    CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION,
    TRANSFER_ENCODING,
};
use reqwest::{Method, StatusCode};
use url::Url;
use watchkeeper_domain::monitor::{
    HttpSpec, RedactedUrl, RedactedUrlText, RedirectHeaders, RedirectPolicy,
};
use watchkeeper_domain::observation::{FailureKind, ProbeFailure};
use watchkeeper_domain::target_policy::TargetPolicy;

use super::client::check_url;
use super::failure;

/// A redirect target is shown up to this many characters in a reason: a
/// `Location` is the target's to choose, and a `data:` URL can be long.
const SHOWN_URL_CHARS: usize = 200;

/// What one request of the exchange needs beyond its hop.
pub(crate) struct Exchange<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) policy: &'a TargetPolicy,
    pub(crate) spec: &'a HttpSpec,
    /// The URL probed (the spec's `url` or its `fallback_url`).
    pub(crate) url: &'a Url,
    /// `METHOD URL`, password hidden, in front of every failure message.
    pub(crate) target: &'a str,
}

/// The next request of the chain.
struct Hop {
    url: Url,
    method: Method,
    /// The body, and the headers that describe it (`Content-Type`, …), are
    /// still sent: a redirect that turns the request into a GET drops them.
    payload: bool,
    /// Every hop so far stayed on the probed URL's origin: its user and
    /// password are sent.
    on_origin: bool,
    /// The configured headers are sent: on the origin, or opted in.
    headers: bool,
}

impl Exchange<'_> {
    /// Sends the request, follows redirects as the spec allows, and returns
    /// the final response (or the 3xx itself when redirects are off).
    pub(crate) async fn send(&self) -> Result<reqwest::Response, ProbeFailure> {
        let invalid = |what: String| {
            ProbeFailure::new(
                FailureKind::Protocol,
                format!("{}: invalid request: {what}", self.target),
            )
        };
        let method = Method::from_bytes(self.spec.method.as_bytes())
            .map_err(|_| invalid(format!("method `{}`", self.spec.method)))?;
        let mut headers = Vec::with_capacity(self.spec.headers.len());
        for (name, value) in &self.spec.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("header name `{name}`")))?;
            // The value may be a credential: it is exposed only here, and
            // marked sensitive so it never shows in a Debug print.
            let mut header_value = HeaderValue::from_str(value.expose())
                .map_err(|_| invalid(format!("value of header `{name}`")))?;
            header_value.set_sensitive(true);
            headers.push((header_name, header_value));
        }
        let mut hop = Hop {
            url: self.url.clone(),
            method,
            payload: true,
            on_origin: true,
            headers: true,
        };
        let mut followed: u8 = 0;
        loop {
            let response = self
                .request(&hop, &headers)
                .send()
                .await
                .map_err(|error| failure::describe(self.target, error))?;
            let RedirectPolicy::Follow {
                max_hops,
                headers: redirect_headers,
            } = self.spec.redirects
            else {
                return Ok(response);
            };
            let Some(location) = redirect_location(&response) else {
                return Ok(response);
            };
            if followed >= max_hops {
                return Err(self.failure(
                    FailureKind::Protocol,
                    format!("too many redirects (more than {max_hops})"),
                ));
            }
            let next = self.next_url(&hop.url, location)?;
            let on_origin = hop.on_origin && next.origin() == self.url.origin();
            let (method, payload) = method_after(response.status(), hop.method, hop.payload);
            hop = Hop {
                url: next,
                method,
                payload,
                on_origin,
                headers: hop.headers && (on_origin || redirect_headers == RedirectHeaders::All),
            };
            followed += 1;
        }
    }

    fn request(&self, hop: &Hop, headers: &[(HeaderName, HeaderValue)]) -> reqwest::RequestBuilder {
        // reqwest sends a URL's user and password as basic auth; only the
        // probed URL's are sent, and only on its origin (a `Location` with
        // credentials of its own gets none).
        let mut url = hop.url.clone();
        let credentials = if hop.on_origin { Some(self.url) } else { None };
        // Cannot fail: an http(s) URL with a host can hold any userinfo.
        let _ = url.set_username(credentials.map_or("", Url::username));
        let _ = url.set_password(credentials.and_then(Url::password));
        let mut request = self.client.request(hop.method.clone(), url);
        let mut connection_given = false;
        if hop.headers {
            for (name, value) in headers {
                if !hop.payload && is_payload_header(name) {
                    continue;
                }
                connection_given |= name == CONNECTION;
                request = request.header(name.clone(), value.clone());
            }
        }
        // The connection is not reused (see `client`), so say so: the
        // target closes it after answering instead of waiting for more.
        if !connection_given {
            request = request.header(CONNECTION, HeaderValue::from_static("close"));
        }
        if hop.payload
            && let Some(body) = &self.spec.body
        {
            request = request.body(body.clone());
        }
        request
    }

    /// Where a redirect leads, if the probe may go there: a URL that parses
    /// against the current one, `http:` or `https:`, allowed by the policy.
    fn next_url(&self, current: &Url, location: &HeaderValue) -> Result<Url, ProbeFailure> {
        let Ok(text) = std::str::from_utf8(location.as_bytes()) else {
            return Err(self.failure(
                FailureKind::Protocol,
                "redirect with a Location that is not UTF-8 text".to_owned(),
            ));
        };
        let next = current.join(text).map_err(|error| {
            self.failure(
                FailureKind::Protocol,
                format!(
                    "redirect to an invalid Location {:?}: {error}",
                    cut(&RedactedUrlText(text).to_string())
                ),
            )
        })?;
        let shown = cut(&RedactedUrl(&next).to_string());
        if !matches!(next.scheme(), "http" | "https") {
            return Err(self.failure(
                FailureKind::Refused,
                format!(
                    "redirect to {shown}: the scheme {}: is refused (only http and https redirects are followed)",
                    next.scheme()
                ),
            ));
        }
        check_url(self.policy, &next).map_err(|refused| {
            self.failure(
                FailureKind::Refused,
                format!("redirect to {shown}: {refused}"),
            )
        })?;
        Ok(next)
    }

    fn failure(&self, kind: FailureKind, what: String) -> ProbeFailure {
        ProbeFailure::new(kind, format!("{}: {what}", self.target))
    }
}

/// The `Location` of a response that redirects: 301, 302, 303, 307 or 308
/// with a `Location` header. Any other answer (a 3xx without one too) is
/// the observation.
fn redirect_location(response: &reqwest::Response) -> Option<&HeaderValue> {
    let redirects = matches!(
        response.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    if !redirects {
        return None;
    }
    response.headers().get(LOCATION)
}

/// The method of the next hop and whether the body still goes with it
/// (RFC 9110 15.4: 301 and 302 may turn a POST into a GET, as every client
/// does; 303 asks for a GET, of anything but HEAD; 307 and 308 keep both).
fn method_after(status: StatusCode, method: Method, payload: bool) -> (Method, bool) {
    match status {
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if method == Method::POST => {
            (Method::GET, false)
        }
        StatusCode::SEE_OTHER if method == Method::HEAD => (Method::HEAD, false),
        StatusCode::SEE_OTHER => (Method::GET, false),
        _ => (method, payload),
    }
}

/// Headers that describe a body, dropped with it.
fn is_payload_header(name: &HeaderName) -> bool {
    [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        TRANSFER_ENCODING,
    ]
    .contains(name)
}

/// `text` cut at [`SHOWN_URL_CHARS`] characters, marked with `…`.
fn cut(text: &str) -> String {
    match text.char_indices().nth(SHOWN_URL_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_becomes_a_get_without_its_body_where_rfc_9110_says() {
        for (status, method, after) in [
            (301, Method::POST, (Method::GET, false)),
            (302, Method::POST, (Method::GET, false)),
            (302, Method::PUT, (Method::PUT, true)),
            (303, Method::POST, (Method::GET, false)),
            (303, Method::HEAD, (Method::HEAD, false)),
            (307, Method::POST, (Method::POST, true)),
            (308, Method::DELETE, (Method::DELETE, true)),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(method_after(status, method, true), after, "{status}");
        }
    }

    #[test]
    fn a_long_url_is_cut_for_the_reason() {
        assert_eq!(cut("http://a/"), "http://a/");
        let long = format!("data:,{}", "é".repeat(300));
        let shown = cut(&long);
        assert_eq!(shown.chars().count(), SHOWN_URL_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
