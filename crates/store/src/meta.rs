//! The `meta` table: small bookkeeping values that other aggregates write in
//! their own transactions (the roll-up watermark with a minute's rollups,
//! the recent results' coverage with their save). Each engine's `meta`
//! module reads and upserts them on a connection it is given. A few keys
//! hold a text (`text_value`) instead of an integer (`value`): the on-call
//! aggregate's link key.

/// The keys of `meta`, each holding one integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKey {
    /// Epoch seconds of the first minute not rolled up yet.
    RollupWatermark,
    /// Milliseconds: the saved recent results account for every result that
    /// started before this instant.
    RecentCoveredUntil,
    /// The id of the last alert event the notification dispatcher
    /// accounted for.
    DispatchCursor,
    /// The id of the last alert event the incident opener accounted for.
    IncidentCursor,
    /// The id of the last timeline entry the subscription dispatcher
    /// accounted for.
    SubscriptionCursor,
}

impl MetaKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetaKey::RollupWatermark => "rollup_watermark",
            MetaKey::RecentCoveredUntil => "recent_covered_until",
            MetaKey::DispatchCursor => "dispatch_cursor",
            MetaKey::IncidentCursor => "incident_cursor",
            MetaKey::SubscriptionCursor => "subscription_cursor",
        }
    }
}

/// The keys of `meta` that hold a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaTextKey {
    /// 64 hex digits: the key that signs ack links, the same for every
    /// instance sharing the database.
    AckLinkKey,
}

impl MetaTextKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetaTextKey::AckLinkKey => "ack_link_key",
        }
    }
}

/// What every backend reads from `meta` outside another aggregate's
/// transaction.
pub(crate) trait MetaRows {
    /// The value under `key`, if one was ever written.
    async fn meta_value(&self, key: MetaKey) -> Result<Option<i64>, sqlx::Error>;
}
