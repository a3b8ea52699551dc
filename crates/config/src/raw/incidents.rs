//! The raw mirror of the incident sections: `[incidents]` (when alerts
//! open incidents, join them and resolve them) and `[[incident_template]]`
//! (communications that replace or add to the built-in ones).

use crate::raw_table::{Flag, Text, TextMap, raw_table};

raw_table! {
    pub(crate) struct RawIncidents in "[incidents]" {
        open_from: Text = "open_from",
        join_window: Text = "join_window",
        resolve_with_alerts: Flag = "resolve_with_alerts",
        impacts: TextMap = "impacts",
        next_update: Text = "next_update",
    }
}

raw_table! {
    pub(crate) struct RawIncidentTemplate in "[[incident_template]]" {
        at,
        id: Text = "id",
        status: Text = "status",
        subject: Text = "subject",
        body: Text = "body",
    }
}
