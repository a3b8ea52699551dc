//! Probe integration tests against real loopback targets.
