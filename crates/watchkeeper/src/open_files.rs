//! The open-files limit. Every probe in flight holds a socket (or a child's
//! pipes), so `serve` raises the soft limit to the hard one at start, as Go
//! programs and nginx do, and leaves probes what the rest of the process
//! does not need.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Kept for everything but probes: the database's files, the HTTP API's
/// clients, logs, resolvers.
const RESERVED: u64 = 256;

/// Raises the soft open-files limit to the hard limit; returns the new soft
/// limit.
pub fn raise() -> Result<u64, nix::Error> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}

/// How many files probes may hold open at once under the current soft limit.
pub fn available_for_probes() -> usize {
    let soft = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => soft,
        // Unknown: assume the common default.
        Err(_) => 1024,
    };
    let available = soft.saturating_sub(RESERVED).max(soft / 2);
    usize::try_from(available).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn probes_get_the_limit_minus_a_reserve_or_at_least_half() {
        let available = super::available_for_probes() as u64;
        let (soft, _) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert!(available <= soft, "{available} of {soft}");
        assert!(available >= soft / 2, "{available} of {soft}");
    }
}
