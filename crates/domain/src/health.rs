//! The three states of a monitor: up, degraded (works, but meets a
//! `degraded_if` condition — a slow but working API) and down. How the
//! API writes them is `web::api::wire::WireHealth`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Health {
    Up,
    Degraded,
    Down,
}

impl Health {
    pub const fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }

    /// Stable small integer used in storage: 0 up, 1 degraded, 2 down.
    pub const fn code(self) -> u8 {
        match self {
            Health::Up => 0,
            Health::Degraded => 1,
            Health::Down => 2,
        }
    }

    pub const fn from_code(code: i64) -> Option<Health> {
        match code {
            0 => Some(Health::Up),
            1 => Some(Health::Degraded),
            2 => Some(Health::Down),
            _ => None,
        }
    }

    pub fn parse(raw: &str) -> Option<Health> {
        match raw {
            "up" => Some(Health::Up),
            "degraded" => Some(Health::Degraded),
            "down" => Some(Health::Down),
            _ => None,
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
