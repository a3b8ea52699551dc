//! The http probe's table: URLs (quoted in errors only as written, see
//! [`Origin`]), method, headers, redirects (and which of them get the
//! headers), body limit, fallback and parity.

use url::Url;
use watchkeeper_domain::monitor::{
    DEFAULT_BODY_LIMIT, DEFAULT_MAX_REDIRECTS, HttpSpec, Parity, RedirectHeaders, RedirectPolicy,
    Secret,
};

use super::{Problems, required, size};
use crate::model::MAX_REDIRECTS_LIMIT;
use crate::raw::{RawHttp, RawParity};
use crate::source::{Loc, Located, Origin};

/// An http(s) URL with a host. Errors quote the value only as written in
/// the file (see [`Origin`]), and never its password.
pub(super) fn web_url(
    (raw, origin): &(Located<String>, Origin),
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<Url> {
    let url = match Url::parse(&raw.value) {
        Ok(url) => url,
        Err(error) => {
            problems.at(
                &raw.at,
                format!("invalid `{key}` {}: {error}", origin.quote_url(&raw.value)),
            );
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        problems.at(
            &raw.at,
            format!(
                "`{key}` must be an http:// or https:// URL, not {}://",
                url.scheme()
            ),
        );
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        problems.at(
            &raw.at,
            format!("`{key}` {} has no host", origin.quote_url(&raw.value)),
        );
        return None;
    }
    Some(url)
}

/// RFC 9110 `token`: the characters a header name may hold.
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(super) fn validate_http(
    raw: RawHttp,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<HttpSpec> {
    let RawHttp {
        url,
        method,
        headers,
        body,
        follow_redirects,
        max_redirects,
        redirect_headers,
        verify_tls,
        body_limit,
        fallback_url,
        parity,
    } = raw;
    let before = problems.count();
    let url =
        required(url, "http", "url", at, problems).and_then(|url| web_url(&url, "url", problems));
    let method = match method {
        None => "GET".to_owned(),
        Some(method) => {
            if method.value.is_empty() || !method.value.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.at(
                    &method.at,
                    format!(
                        "`method` must be upper-case letters, like \"GET\" or \"POST\", not {:?}",
                        method.value
                    ),
                );
            }
            method.value
        }
    };
    let authorization_at = headers
        .iter()
        .find(|(name, _)| name.value.eq_ignore_ascii_case("authorization"))
        .map(|(name, _)| name.clone());
    let headers = headers
        .into_iter()
        .map(|(name, value)| {
            if !is_header_name(&name.value) {
                problems.at(&name.at, format!("invalid header name {:?}", name.value));
            }
            if value.value.chars().any(|c| c.is_control() && c != '\t') {
                problems.at(
                    &value.at,
                    format!(
                        "the value of header `{}` contains a control character (such as a newline)",
                        name.value
                    ),
                );
            }
            (name.value, Secret(value.value))
        })
        .collect();
    let redirects = redirect_policy(follow_redirects, max_redirects, redirect_headers, problems);
    let body_limit = body_limit
        .and_then(|raw| size(raw, "body_limit", problems))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    let fallback_given = fallback_url.is_some();
    let fallback_url = fallback_url.and_then(|raw| web_url(&raw, "fallback_url", problems));
    if let Some(header) = &authorization_at {
        for (key, url) in [("url", &url), ("fallback_url", &fallback_url)] {
            if let Some(url) = url {
                authorization_twice(header, key, url, problems);
            }
        }
    }
    let parity = match parity {
        None => Parity::Off,
        Some(raw) => {
            let parity = match raw.value {
                RawParity::Flag(false) => Parity::Off,
                RawParity::Flag(true) => Parity::Body,
                RawParity::Fields(fields) => json_fields(fields, &raw.at, problems),
            };
            if parity != Parity::Off && !fallback_given {
                problems.at(
                    &raw.at,
                    "`parity` compares the answer with `fallback_url`, which is not given",
                );
            }
            parity
        }
    };
    if problems.count() > before {
        return None;
    }
    Some(HttpSpec {
        url: url?,
        method,
        headers,
        body: body.map(|body| body.value),
        redirects,
        verify_tls: verify_tls.is_none_or(|flag| flag.value),
        body_limit,
        fallback_url,
        parity,
    })
}

/// A URL's user and password are sent as basic auth, itself an
/// `Authorization` header: with one in `headers` too, the target would get
/// two, and which one counts is up to it.
fn authorization_twice(
    header: &Located<String>,
    key: &str,
    url: &Url,
    problems: &mut Problems<'_>,
) {
    let credentials = if url.password().is_some() {
        "the password"
    } else if !url.username().is_empty() {
        "the user name"
    } else {
        return;
    };
    problems.at(
        &header.at,
        format!(
            "`headers` sets `{}`, and {credentials} in `{key}` is sent as basic auth, another Authorization header; give only one of them",
            header.value
        ),
    );
}

/// `follow_redirects`, `max_redirects` and `redirect_headers`; the last two
/// mean nothing when redirects are not followed, so giving them then is an
/// error.
fn redirect_policy(
    follow_redirects: Option<Located<bool>>,
    max_redirects: Option<Located<i64>>,
    redirect_headers: Option<Located<String>>,
    problems: &mut Problems<'_>,
) -> RedirectPolicy {
    let follow = follow_redirects.is_none_or(|flag| flag.value);
    let no_effect = |key: &str| format!("`{key}` has no effect with follow_redirects = false");
    let max_hops = match max_redirects {
        None => DEFAULT_MAX_REDIRECTS,
        Some(raw) => {
            if !follow {
                problems.at(&raw.at, no_effect("max_redirects"));
            }
            match u8::try_from(raw.value) {
                Ok(hops) if hops <= MAX_REDIRECTS_LIMIT => hops,
                _ => {
                    problems.at(
                        &raw.at,
                        format!(
                            "`max_redirects` must be between 0 and {MAX_REDIRECTS_LIMIT}, not {}",
                            raw.value
                        ),
                    );
                    DEFAULT_MAX_REDIRECTS
                }
            }
        }
    };
    let headers = match redirect_headers {
        None => RedirectHeaders::default(),
        Some(raw) => {
            if !follow {
                problems.at(&raw.at, no_effect("redirect_headers"));
            }
            RedirectHeaders::parse(&raw.value).unwrap_or_else(|| {
                problems.at(
                    &raw.at,
                    format!(
                        "`redirect_headers` must be \"{}\" or \"{}\", not {:?}",
                        RedirectHeaders::SameOrigin.as_str(),
                        RedirectHeaders::All.as_str(),
                        raw.value
                    ),
                );
                RedirectHeaders::default()
            })
        }
    };
    if follow {
        RedirectPolicy::Follow { max_hops, headers }
    } else {
        RedirectPolicy::None
    }
}

fn json_fields(fields: Vec<Located<String>>, at: &Loc, problems: &mut Problems<'_>) -> Parity {
    if fields.is_empty() {
        problems.at(
            at,
            "`parity = []` compares nothing; use parity = true for the whole body or list JSON fields",
        );
    }
    let mut paths = Vec::new();
    for field in fields {
        if field.value.split('.').any(str::is_empty) {
            problems.at(
                &field.at,
                format!(
                    "invalid JSON field {:?}: expected a dotted path like \"data.version\"",
                    field.value
                ),
            );
        }
        paths.push(field.value);
    }
    Parity::JsonFields(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_tokens() {
        assert!(is_header_name("Authorization"));
        assert!(is_header_name("X-Api-Key"));
        assert!(!is_header_name("Bad Header"));
        assert!(!is_header_name("colon:"));
        assert!(!is_header_name(""));
    }
}
