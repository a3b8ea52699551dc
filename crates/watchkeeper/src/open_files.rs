//! The open-files limit and how it is shared. Every probe in flight holds a
//! socket (or a child's pipes) and every HTTP connection holds a socket, so
//! `serve` raises the soft limit to the hard one at start, as Go programs
//! and nginx do, and splits it: a reserve for the process's own files, a
//! share for HTTP connections, and the rest for probes.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Kept for the process's own files: the database and its WAL, the
/// listening socket, logs, resolvers. A quarter of the limit when the limit
/// is small.
const RESERVED: u64 = 256;

/// The most HTTP connections by default: plenty for a status page, an API
/// and a scraper, and no more than a quarter of the limit, so probes keep
/// most of it. `[server] max_connections` overrides it.
const DEFAULT_MAX_CONNECTIONS: u64 = 1024;

/// The limit assumed when it cannot be read: the common default.
const ASSUMED_LIMIT: u64 = 1024;

/// Raises the soft open-files limit to the hard limit; returns the new soft
/// limit.
pub fn raise() -> Result<u64, nix::Error> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}

/// The current soft open-files limit.
pub fn soft_limit() -> u64 {
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => soft,
        Err(_) => ASSUMED_LIMIT,
    }
}

/// How an open-files limit is shared between HTTP connections and probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileBudget {
    /// The soft limit that was split.
    pub limit: u64,
    /// The most HTTP connections open at once (at least one).
    pub http_connections: usize,
    /// The most files probes may hold open at once (at least one).
    pub probes: usize,
}

impl FileBudget {
    /// Splits `limit`: the reserve first, then `max_connections` (or by
    /// default the smaller of 1024 and a quarter of the limit) for HTTP,
    /// then the rest for probes. A `max_connections` the limit cannot hold
    /// leaves probes one file; [`FileBudget::overcommitted`] says so.
    pub fn split(limit: u64, max_connections: Option<usize>) -> FileBudget {
        let reserved = RESERVED.min(limit / 4);
        let http = max_connections
            .map(|count| u64::try_from(count).unwrap_or(u64::MAX))
            .unwrap_or_else(|| DEFAULT_MAX_CONNECTIONS.min(limit / 4))
            .max(1);
        let probes = limit.saturating_sub(reserved).saturating_sub(http).max(1);
        FileBudget {
            limit,
            http_connections: usize::try_from(http).unwrap_or(usize::MAX),
            probes: usize::try_from(probes).unwrap_or(usize::MAX),
        }
    }

    /// Whether the HTTP share and the reserve alone reach the limit, so
    /// that accepting fails with "too many open files" before the cap.
    pub fn overcommitted(&self) -> bool {
        let reserved = RESERVED.min(self.limit / 4);
        let http = u64::try_from(self.http_connections).unwrap_or(u64::MAX);
        reserved.saturating_add(http) >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::FileBudget;

    fn split(limit: u64, max_connections: Option<usize>) -> (usize, usize) {
        let budget = FileBudget::split(limit, max_connections);
        (budget.http_connections, budget.probes)
    }

    #[test]
    fn http_gets_a_quarter_of_a_small_limit_and_probes_the_rest_after_the_reserve() {
        assert_eq!(split(1024, None), (256, 512));
        assert_eq!(split(256, None), (64, 128));
        assert_eq!(split(4096, None), (1024, 2816));
    }

    #[test]
    fn http_gets_at_most_1024_by_default() {
        assert_eq!(split(20_000, None), (1024, 18_720));
        assert_eq!(split(1 << 20, None), (1024, (1 << 20) - 256 - 1024));
    }

    #[test]
    fn a_configured_cap_comes_out_of_the_probes_share() {
        assert_eq!(split(20_000, Some(4000)), (4000, 15_744));
        assert!(!FileBudget::split(20_000, Some(4000)).overcommitted());
    }

    #[test]
    fn a_cap_the_limit_cannot_hold_leaves_probes_one_file_and_says_so() {
        let budget = FileBudget::split(1024, Some(65_536));
        assert_eq!((budget.http_connections, budget.probes), (65_536, 1));
        assert!(budget.overcommitted());
    }

    #[test]
    fn a_tiny_limit_still_allows_one_connection_and_one_probe() {
        assert_eq!(split(0, None), (1, 1));
        assert_eq!(split(3, None), (1, 2));
    }

    #[test]
    fn the_current_limit_splits_within_itself() {
        let budget = FileBudget::split(super::soft_limit(), None);
        let used = budget.http_connections as u64 + budget.probes as u64;
        assert!(used <= budget.limit.max(2), "{budget:?}");
    }
}
