//! Whether a fallback returns the same data as the primary: the whole body
//! byte for byte, or chosen JSON fields by dotted path. Pure; a mismatch is
//! explained (`json.status differs: primary "ok", fallback "degraded"`).

use serde_json::Value;
use watchkeeper_domain::monitor::Parity;

/// `Ok(())` when the bodies agree under `parity`; otherwise why not, without
/// the `parity: ` prefix.
pub(crate) fn compare(parity: &Parity, primary: &[u8], fallback: &[u8]) -> Result<(), String> {
    match parity {
        Parity::Off => Ok(()),
        Parity::Body => {
            if primary == fallback {
                return Ok(());
            }
            let first_difference = primary
                .iter()
                .zip(fallback)
                .position(|(left, right)| left != right)
                .unwrap_or_else(|| primary.len().min(fallback.len()));
            Err(format!(
                "bodies differ (primary {} bytes, fallback {} bytes, first difference at byte {first_difference})",
                primary.len(),
                fallback.len()
            ))
        }
        Parity::JsonFields(paths) => {
            let primary_json = parse(primary, "primary")?;
            let fallback_json = parse(fallback, "fallback")?;
            for path in paths {
                let left = field(&primary_json, path);
                let right = field(&fallback_json, path);
                if left != right {
                    return Err(format!(
                        "json.{path} differs: primary {}, fallback {}",
                        shown(left),
                        shown(right)
                    ));
                }
            }
            Ok(())
        }
    }
}

fn parse(body: &[u8], which: &str) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|error| format!("{which} body is not JSON ({error})"))
}

/// The value at a dotted path; numeric segments index arrays.
fn field<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(json, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index)),
            _ => None,
        })
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(paths: &[&str]) -> Parity {
        Parity::JsonFields(paths.iter().map(|path| (*path).to_owned()).collect())
    }

    #[test]
    fn identical_bodies_agree() {
        assert_eq!(compare(&Parity::Body, b"{\"a\":1}", b"{\"a\":1}"), Ok(()));
    }

    #[test]
    fn different_bodies_say_their_sizes() {
        assert_eq!(
            compare(
                &Parity::Body,
                b"{\"status\":\"ok\"}xx",
                b"{\"status\":\"degraded\"}xx"
            ),
            Err(
                "bodies differ (primary 17 bytes, fallback 23 bytes, first difference at byte 11)"
                    .to_owned()
            )
        );
        assert_eq!(
            compare(&Parity::Body, b"abc", b"abcd"),
            Err(
                "bodies differ (primary 3 bytes, fallback 4 bytes, first difference at byte 3)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn json_fields_compare_by_value_not_by_bytes() {
        let primary = br#"{"status": "ok", "data": {"version": "1.2"}, "time": 1}"#;
        let fallback = br#"{"time":2,"data":{"version":"1.2"},"status":"ok"}"#;
        assert_eq!(
            compare(&fields(&["status", "data.version"]), primary, fallback),
            Ok(())
        );
    }

    #[test]
    fn a_differing_field_is_named_with_both_values() {
        let primary = br#"{"status": "ok"}"#;
        let fallback = br#"{"status": "degraded"}"#;
        assert_eq!(
            compare(&fields(&["status"]), primary, fallback),
            Err(r#"json.status differs: primary "ok", fallback "degraded""#.to_owned())
        );
    }

    #[test]
    fn a_missing_field_and_array_indexes() {
        let primary = br#"{"items": [{"id": 1}, {"id": 2}]}"#;
        let fallback = br#"{"items": [{"id": 1}]}"#;
        assert_eq!(compare(&fields(&["items.0.id"]), primary, fallback), Ok(()));
        assert_eq!(
            compare(&fields(&["items.1.id"]), primary, fallback),
            Err("json.items.1.id differs: primary 2, fallback missing".to_owned())
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_a_mismatch() {
        let error = compare(&fields(&["status"]), b"{\"status\":\"ok\"}", b"<html>").unwrap_err();
        assert!(error.starts_with("fallback body is not JSON ("), "{error}");
    }

    #[test]
    fn off_never_compares() {
        assert_eq!(compare(&Parity::Off, b"a", b"b"), Ok(()));
    }
}
