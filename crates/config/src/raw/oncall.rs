//! The raw mirror of the on-call sections: `[oncall]` (acknowledgement
//! targets and links), `[[person]]`, `[[schedule]]` with its base rotation,
//! `[[schedule.layer]]`s and `[[schedule.override]]`s, and `[[escalation]]`
//! with its `levels`.

use crate::raw_table::{Flag, Integer, Text, TextList, TextMap, raw_table};

raw_table! {
    pub(crate) struct RawOnCall in "[oncall]" {
        ack_targets: TextMap = "ack_targets",
        link_expiry: Text = "link_expiry",
    }
}

raw_table! {
    pub(crate) struct RawPerson in "[[person]]" {
        at,
        id: Text = "id",
        name: Text = "name",
        email: Text = "email",
        slack: Text = "slack",
        phone: Text = "phone",
        time_zone: Text = "time_zone",
        contact: TextList = "contact",
    }
}

raw_table! {
    pub(crate) struct RawSchedule in "[[schedule]]" {
        at,
        id: Text = "id",
        name: Text = "name",
        time_zone: Text = "time_zone",
        every: Text = "every",
        handoff: Text = "handoff",
        start: Text = "start",
        members: TextList = "members",
        restrict: Vec<RawRestriction> = "restrict",
        layers: Vec<RawLayer> = "layer",
        overrides: Vec<RawOverride> = "override",
    }
}

raw_table! {
    pub(crate) struct RawLayer in "[[schedule.layer]]" {
        at,
        name: Text = "name",
        every: Text = "every",
        handoff: Text = "handoff",
        start: Text = "start",
        members: TextList = "members",
        restrict: Vec<RawRestriction> = "restrict",
    }
}

raw_table! {
    pub(crate) struct RawRestriction in "[[schedule.restrict]]" {
        at,
        days: TextList = "days",
        from: Text = "from",
        to: Text = "to",
    }
}

raw_table! {
    pub(crate) struct RawOverride in "[[schedule.override]]" {
        at,
        person: Text = "person",
        start: Text = "start",
        end: Text = "end",
    }
}

raw_table! {
    pub(crate) struct RawEscalation in "[[escalation]]" {
        at,
        id: Text = "id",
        repeat: Integer = "repeat",
        escalate_on_breach: Flag = "escalate_on_breach",
        levels: Vec<RawLevel> = "levels",
    }
}

raw_table! {
    pub(crate) struct RawLevel in "[[escalation.levels]]" {
        at,
        notify: TextList = "notify",
        delay: Text = "delay",
    }
}
