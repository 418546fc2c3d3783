//! Counts failed attempts per client address in a fixed window, so guessing a password (or, later, a connection
//! code) is slow. In memory: a restart forgets the counts, which only helps the legitimate user.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    state: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl FailureLimiter {
    /// Allows `max_failures` failures per client within `window`; past that, attempts are refused until the
    /// window that began with the first failure has passed.
    pub fn new(max_failures: u32, window: Duration) -> FailureLimiter {
        FailureLimiter { max_failures, window, state: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` when this client must wait before trying again.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.get(&client) {
            Some(&(count, since)) if count >= self.max_failures && now.duration_since(since) < self.window => {
                Err(self.window - now.duration_since(since))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, client: IpAddr) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Forget stale entries so the map stays bounded by the clients of one window.
        if state.len() > 10_000 {
            state.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        }
        let entry = state.entry(client).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, client: IpAddr) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::FailureLimiter;
    use std::time::Duration;

    #[test]
    fn trips_after_max_failures_per_client_and_resets_after_window() {
        let limiter = FailureLimiter::new(3, Duration::from_millis(200));
        let a = "10.0.0.1".parse().unwrap();
        let b = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
            limiter.record_failure(a);
        }
        assert!(limiter.check(a).is_err(), "fourth attempt refused");
        assert!(limiter.check(b).is_ok(), "another client is unaffected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(limiter.check(a).is_ok(), "window passed");
    }

    #[test]
    fn success_clears_the_count() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        let a = "::1".parse().unwrap();
        limiter.record_failure(a);
        limiter.record_success(a);
        limiter.record_failure(a);
        assert!(limiter.check(a).is_ok());
    }
}
