//! An alert's identity: a fingerprint of its sorted labels, stable across
//! restarts and processes (a SHA-256 prefix, not Rust's randomised hasher),
//! so a stored alert, its deliveries and a receiver's deduplication all
//! name the same alert.

use sha2::{Digest, Sha256};

use crate::alert::matcher::Labels;

/// 16 hex digits of SHA-256 over `name=value` lines in label order.
pub fn fingerprint(labels: &Labels) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in labels {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0xff]);
    }
    let digest = hasher.finalize();
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_labels_give_equal_fingerprints_and_any_change_another() {
        let mut labels = Labels::new();
        labels.insert("alertname".to_owned(), "ApiDown".to_owned());
        labels.insert("monitor".to_owned(), "api-health".to_owned());
        let first = fingerprint(&labels);
        assert_eq!(first.len(), 16);
        assert_eq!(first, fingerprint(&labels.clone()));
        // pinned (sha256 of "alertname\0ApiDown\xffmonitor\0api-health\xff",
        // by Python's hashlib): a stored fingerprint must mean the same
        // alert after an upgrade
        assert_eq!(first, "2b69ddd7d2300614");
        labels.insert("severity".to_owned(), "P1".to_owned());
        assert_ne!(first, fingerprint(&labels));
        // names and values cannot run into each other
        let mut a = Labels::new();
        a.insert("ab".to_owned(), "c".to_owned());
        let mut b = Labels::new();
        b.insert("a".to_owned(), "bc".to_owned());
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
