//! A circuit breaker per partner tenant. After `failure_threshold` consecutive failed calls
//! (retries exhausted: Partner Center down, not merely throttling) the circuit opens and calls
//! fail fast with 503 and `Retry-After` for `open_for`; then one probe call is let through
//! (half-open): success closes the circuit, failure opens it again.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use crate::error::{Error, ErrorKind, Reason, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl State {
    fn gauge(self) -> f64 {
        match self {
            Self::Closed { .. } => 0.0,
            Self::HalfOpen { .. } => 1.0,
            Self::Open { .. } => 2.0,
        }
    }
}

pub struct CircuitBreakers {
    failure_threshold: u32,
    open_for: Duration,
    states: Mutex<HashMap<String, State>>,
}

/// Whether a call may go ahead, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    Normal,
    /// The one call allowed while half-open; its outcome decides the circuit.
    Probe,
}

impl CircuitBreakers {
    pub fn new(failure_threshold: u32, open_for: Duration) -> Self {
        Self { failure_threshold: failure_threshold.max(1), open_for, states: Mutex::new(HashMap::new()) }
    }

    /// Admits a call to `partner`'s Partner Center, or refuses it fast while the circuit is open.
    /// The call's outcome is recorded with [`Call::finish`]; a call dropped unfinished (its caller
    /// went away) counts neither way, and a dropped probe lets the next call probe.
    pub fn admit<'a>(&'a self, partner: &'a str) -> Result<Call<'a>> {
        let permit = self.admit_at(partner, Instant::now())?;
        Ok(Call { breakers: self, partner, permit, finished: false })
    }

    /// A probe that ended without an outcome (cancelled): the circuit stays half-open and the
    /// next call probes, rather than every call being refused for want of an answer.
    fn abandon_probe(&self, partner: &str) {
        let mut states = self.states.lock();
        if let Some(state) = states.get_mut(partner)
            && *state == (State::HalfOpen { probing: true })
        {
            *state = State::HalfOpen { probing: false };
        }
    }

    fn admit_at(&self, partner: &str, now: Instant) -> Result<Permit> {
        let mut states = self.states.lock();
        ensure_known(&mut states, partner);
        let Some(state) = states.get_mut(partner) else { return Ok(Permit::Normal) };
        let before = *state;
        let permit = match *state {
            State::Closed { .. } => Ok(Permit::Normal),
            State::Open { until } if now < until => Err(open_error(partner, until - now)),
            State::Open { .. } | State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                Ok(Permit::Probe)
            }
            State::HalfOpen { probing: true } => Err(open_error(partner, Duration::from_secs(1))),
        };
        publish_change(partner, before, *state);
        permit
    }

    /// Records the outcome of a call admitted with `permit`; `failed` means Partner Center was
    /// unreachable or failed (5xx, timeouts), not that it refused the request.
    pub fn record(&self, partner: &str, permit: Permit, failed: bool) {
        self.record_at(partner, permit, failed, Instant::now());
    }

    fn record_at(&self, partner: &str, permit: Permit, failed: bool, now: Instant) {
        let mut states = self.states.lock();
        ensure_known(&mut states, partner);
        let Some(state) = states.get_mut(partner) else { return };
        let next = match (*state, permit, failed) {
            (_, Permit::Probe, false) | (State::Closed { .. }, Permit::Normal, false) => State::Closed { failures: 0 },
            (_, Permit::Probe, true) => State::Open { until: now + self.open_for },
            (State::Closed { failures }, Permit::Normal, true) if failures + 1 >= self.failure_threshold => {
                tracing::warn!(
                    partner,
                    failures = failures + 1,
                    open_for_ms = self.open_for.as_millis() as u64,
                    "circuit to partner center opened"
                );
                State::Open { until: now + self.open_for }
            }
            (State::Closed { failures }, Permit::Normal, true) => State::Closed { failures: failures + 1 },
            // A call admitted before the circuit opened: its outcome no longer matters.
            (other, Permit::Normal, _) => other,
        };
        if matches!(*state, State::Open { .. } | State::HalfOpen { .. }) && matches!(next, State::Closed { .. }) {
            tracing::info!(partner, "circuit to partner center closed");
        }
        let before = *state;
        *state = next;
        publish_change(partner, before, next);
    }
}

/// One admitted call.
pub struct Call<'a> {
    breakers: &'a CircuitBreakers,
    partner: &'a str,
    permit: Permit,
    finished: bool,
}

impl Call<'_> {
    /// `failed`: Partner Center was unreachable or failed (5xx, timeouts), not that it refused.
    pub fn finish(mut self, failed: bool) {
        self.finished = true;
        self.breakers.record(self.partner, self.permit, failed);
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if !self.finished && self.permit == Permit::Probe {
            self.breakers.abandon_probe(self.partner);
        }
    }
}

/// A partner seen for the first time starts closed, and says so in metrics. Looked up before
/// inserting, so the hot path neither allocates nor touches metrics.
fn ensure_known(states: &mut HashMap<String, State>, partner: &str) {
    if !states.contains_key(partner) {
        publish(partner, State::Closed { failures: 0 });
        states.insert(partner.to_owned(), State::Closed { failures: 0 });
    }
}

fn publish_change(partner: &str, before: State, after: State) {
    if before.gauge() != after.gauge() {
        publish(partner, after);
    }
}

fn publish(partner: &str, state: State) {
    metrics::gauge!("gateway_circuit_state", "partner" => partner.to_owned()).set(state.gauge());
}

fn open_error(partner: &str, retry_after: Duration) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "Partner Center is failing for this partner tenant; the gateway is not sending requests for now",
    )
    .with_reason(Reason::CircuitOpen)
    .with_retry_after(retry_after)
    .with_source(format!("circuit open for partner {partner}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_then_probes_once() {
        let breakers = CircuitBreakers::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..3 {
            let permit = breakers.admit_at("p", t0).expect("closed");
            breakers.record_at("p", permit, true, t0);
        }
        let refused = breakers.admit_at("p", t0 + Duration::from_secs(1)).expect_err("open");
        assert_eq!(refused.reason(), Reason::CircuitOpen);
        assert_eq!(refused.retry_after_seconds(), Some(9));
        assert!(breakers.admit_at("other", t0).is_ok(), "partners are separate");

        let later = t0 + Duration::from_secs(11);
        assert_eq!(breakers.admit_at("p", later).expect("probe"), Permit::Probe);
        assert!(breakers.admit_at("p", later).is_err(), "one probe at a time");
        breakers.record_at("p", Permit::Probe, true, later);
        assert!(breakers.admit_at("p", later + Duration::from_secs(1)).is_err(), "a failed probe reopens");

        let much_later = later + Duration::from_secs(11);
        let probe = breakers.admit_at("p", much_later).expect("probe");
        breakers.record_at("p", probe, false, much_later);
        assert_eq!(breakers.admit_at("p", much_later).expect("closed"), Permit::Normal);
    }

    #[test]
    fn a_cancelled_probe_lets_the_next_call_probe() {
        let breakers = CircuitBreakers::new(1, Duration::ZERO);
        breakers.admit("p").expect("closed").finish(true);
        let probe = breakers.admit("p").expect("probe");
        assert_eq!(probe.permit, Permit::Probe);
        drop(probe);
        let next = breakers.admit("p").expect("the circuit is not stuck half-open");
        assert_eq!(next.permit, Permit::Probe);
        next.finish(false);
        assert_eq!(breakers.admit("p").expect("closed").permit, Permit::Normal);
    }

    #[test]
    fn a_success_resets_the_count() {
        let breakers = CircuitBreakers::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for failed in [true, true, false, true, true] {
            let permit = breakers.admit_at("p", t0).expect("closed");
            breakers.record_at("p", permit, failed, t0);
        }
        assert!(breakers.admit_at("p", t0).is_ok());
    }
}
