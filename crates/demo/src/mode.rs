//! The ways the demo service can answer `/health`, and how their names are written.

use std::fmt;
use std::str::FromStr;

/// How `/health` answers. Switched at runtime through the control endpoints or
/// [`crate::DemoHandle::set_mode`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// 200 `{"status":"ok",…}`.
    #[default]
    Ok,
    /// 200 `{"status":"degraded",…}`: up, but saying it is not well.
    Degraded,
    /// 500 `{"status":"error","error":"database unavailable"}`.
    Fail,
    /// The `Ok` answer, after the configured slow delay.
    Slow,
    /// Never answers; the connection stays open until the client gives up or
    /// the server shuts down.
    Hang,
    /// 200 with a body that is neither JSON nor valid UTF-8.
    Garbage,
    /// 200 streaming a [`crate::HUGE_BODY_BYTES`]-byte body.
    Huge,
}

impl Mode {
    /// Every mode, in the order the control page lists them.
    pub const ALL: [Mode; 7] = [
        Mode::Ok,
        Mode::Degraded,
        Mode::Fail,
        Mode::Slow,
        Mode::Hang,
        Mode::Garbage,
        Mode::Huge,
    ];

    /// The name used on the command line and in the control endpoints.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ok => "ok",
            Mode::Degraded => "degraded",
            Mode::Fail => "fail",
            Mode::Slow => "slow",
            Mode::Hang => "hang",
            Mode::Garbage => "garbage",
            Mode::Huge => "huge",
        }
    }

    /// Position in [`Mode::ALL`]; used to index per-mode counters.
    pub(crate) fn index(self) -> usize {
        match self {
            Mode::Ok => 0,
            Mode::Degraded => 1,
            Mode::Fail => 2,
            Mode::Slow => 3,
            Mode::Hang => 4,
            Mode::Garbage => 5,
            Mode::Huge => 6,
        }
    }

    /// Inverse of [`Mode::index`]; out-of-range values fall back to `Ok`.
    pub(crate) fn from_index(index: usize) -> Mode {
        Mode::ALL.get(index).copied().unwrap_or(Mode::Ok)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode name that is not one of [`Mode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {given:?}; expected one of: ok, degraded, fail, slow, hang, garbage, huge")]
pub struct UnknownMode {
    pub given: String,
}

impl FromStr for Mode {
    type Err = UnknownMode;

    /// Accepts the names case-insensitively, ignoring surrounding whitespace
    /// (so `curl --data 'slow'` and `echo slow | curl -T -` both work).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Mode::ALL
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownMode {
                given: wanted.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_through_its_name() {
        for mode in Mode::ALL {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
            assert_eq!(Mode::from_index(mode.index()), mode);
        }
    }

    #[test]
    fn names_are_trimmed_and_case_insensitive() {
        assert_eq!(" Slow\n".parse::<Mode>(), Ok(Mode::Slow));
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let error = "broken".parse::<Mode>().unwrap_err();
        assert_eq!(error.given, "broken");
        assert!(error.to_string().contains("degraded"));
    }
}
