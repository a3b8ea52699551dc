//! The condition variables each probe kind offers, as [`Schema`]s: names,
//! types, and how large each can be on the largest answer a probe reads
//! (docs/probes.md lists them for users). `Condition::compile` accepts a
//! [`ProbeKind`] wherever it takes a schema.

use crate::condition::Schema;
use crate::condition::schema::{Size, ValueKind, Variable, scalar, variable};
use crate::monitor::ProbeKind;

/// hyper's limits on a response head: at most 100 headers in a buffer of at
/// most 400 KiB; `url` (the final URL after redirects) comes from a
/// `Location` header, so the same bound holds for it.
const HEADER_COUNT: f64 = 100.0;
const HEAD_BYTES: f64 = 409_600.0;
/// A DNS message is at most 64 KiB, and an answer record at least 11 bytes.
const DNS_MESSAGE_BYTES: f64 = 65_535.0;
const DNS_ANSWERS: f64 = 5_958.0;

const LATENCY: Variable = scalar("latency", ValueKind::Duration);
const JSON: Variable = variable("json", ValueKind::Any, Size::Parsed);

pub static HTTP: Schema = Schema {
    subject: "a http monitor",
    answer: "the body",
    variables: &[
        LATENCY,
        scalar("status", ValueKind::Int),
        variable(
            "headers",
            ValueKind::Map,
            Size::Fixed {
                items: HEADER_COUNT,
                bytes: HEAD_BYTES,
            },
        ),
        variable("body", ValueKind::String, Size::Answer),
        JSON,
        Variable {
            name: "cert",
            kind: ValueKind::MapOrNull,
            size: Size::Fixed {
                items: 1.0,
                bytes: 16.0,
            },
            null_when: Some("the target is not HTTPS"),
        },
        variable(
            "url",
            ValueKind::String,
            Size::Fixed {
                items: 0.0,
                bytes: HEAD_BYTES,
            },
        ),
    ],
};

pub static TCP: Schema = Schema {
    subject: "a tcp monitor",
    answer: "the reply",
    variables: &[
        LATENCY,
        variable("received", ValueKind::String, Size::Answer),
    ],
};

pub static DNS: Schema = Schema {
    subject: "a dns monitor",
    answer: "the answers",
    variables: &[
        LATENCY,
        variable(
            "answers",
            ValueKind::List,
            Size::Fixed {
                items: DNS_ANSWERS,
                bytes: DNS_MESSAGE_BYTES,
            },
        ),
    ],
};

pub static COMMAND: Schema = Schema {
    subject: "a command monitor",
    answer: "stdout",
    variables: &[
        LATENCY,
        scalar("exit_code", ValueKind::Int),
        variable("stdout", ValueKind::String, Size::Answer),
        variable("stderr", ValueKind::String, Size::Answer),
        JSON,
    ],
};

impl ProbeKind {
    /// The variables a condition on this kind of probe may read.
    pub fn schema(self) -> &'static Schema {
        match self {
            ProbeKind::Http => &HTTP,
            ProbeKind::Tcp => &TCP,
            ProbeKind::Dns => &DNS,
            ProbeKind::Command => &COMMAND,
        }
    }
}

impl From<ProbeKind> for &'static Schema {
    fn from(kind: ProbeKind) -> Self {
        kind.schema()
    }
}
