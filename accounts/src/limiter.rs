//! Counts failed attempts per client in a fixed window, so guessing a password (or a connection code) is slow.
//! In memory: a restart forgets the counts, which only helps the legitimate user.
//!
//! A client is its IPv4 address, or the /64 of its IPv6 address (one subscriber's LAN; an IPv4-mapped IPv6
//! address counts as the IPv4 it maps). The map is bounded: expired entries are pruned at most once per prune
//! interval, not on every call, and past [`MAX_CLIENTS`] live entries every client without an entry of its own is
//! counted in one shared overflow bucket until a prune makes room: never unlimited (an attacker who fills the map
//! with 100k IPv6 /64s gets `max_failures` more guesses per window, all of them together), while clients already
//! tracked, and the legitimate ones among them, keep their own counts.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Live entries the map holds at most (about 100 bytes each).
pub const MAX_CLIENTS: usize = 100_000;
/// Expired entries are pruned at most this often (or once per window, when shorter).
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Per client: failures (and claimed attempts) counted, and when its window began.
    clients: HashMap<IpAddr, (u32, Instant)>,
    /// Every client the full map has no entry for, counted together (see the module's note).
    overflow: Option<(u32, Instant)>,
    last_prune: Instant,
}

impl State {
    /// The count `key` is held to: its own, or the shared overflow one while the map is full without it.
    fn bucket(&self, key: &IpAddr, capacity: usize) -> Option<(u32, Instant)> {
        match self.clients.get(key) {
            Some(&bucket) => Some(bucket),
            None if self.clients.len() >= capacity => self.overflow,
            None => None,
        }
    }
}

/// The key a client is counted under: IPv4 as itself, IPv4-mapped IPv6 as that IPv4, other IPv6 by its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

impl FailureLimiter {
    /// Allows `max_failures` failures per client within `window`; past that, attempts are refused until the
    /// window that began with the first failure has passed.
    pub fn new(max_failures: u32, window: Duration) -> FailureLimiter {
        FailureLimiter::with_capacity(max_failures, window, MAX_CLIENTS)
    }

    fn with_capacity(max_failures: u32, window: Duration, capacity: usize) -> FailureLimiter {
        let state = State { clients: HashMap::new(), overflow: None, last_prune: Instant::now() };
        FailureLimiter { max_failures, window, capacity, state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` when this client must wait before trying again.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        match self.lock().bucket(&client_key(client), self.capacity) {
            Some((count, since)) => self.refusal(count, since, now),
            None => Ok(()),
        }
    }

    /// Claims an attempt before it is evaluated: counts it as a failure now, atomically with the check, so
    /// parallel attempts cannot all pass the check before any of them is recorded. `Err(wait)` (nothing
    /// counted) when the client must wait. A right answer then clears the count with [`Self::record_success`].
    pub fn claim(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some((count, since)) = state.bucket(&client_key(client), self.capacity) {
            self.refusal(count, since, now)?;
        }
        self.count(&mut state, client, now);
        Ok(())
    }

    /// Counts a failure of an attempt that was not claimed (one evaluated without waiting, in the same step as
    /// its [`Self::check`]).
    pub fn record_failure(&self, client: IpAddr) {
        let now = Instant::now();
        let mut state = self.lock();
        self.count(&mut state, client, now);
    }

    pub fn record_success(&self, client: IpAddr) {
        self.lock().clients.remove(&client_key(client));
    }

    fn refusal(&self, count: u32, since: Instant, now: Instant) -> Result<(), Duration> {
        let elapsed = now.duration_since(since);
        if count >= self.max_failures && elapsed < self.window { Err(self.window - elapsed) } else { Ok(()) }
    }

    fn count(&self, state: &mut State, client: IpAddr, now: Instant) {
        if now.duration_since(state.last_prune) >= self.window.min(PRUNE_EVERY) {
            state.clients.retain(|_, (_, since)| now.duration_since(*since) < self.window);
            state.last_prune = now;
        }
        let key = client_key(client);
        let entry = if state.clients.len() >= self.capacity && !state.clients.contains_key(&key) {
            state.overflow.get_or_insert((0, now))
        } else {
            state.clients.entry(key).or_insert((0, now))
        };
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{FailureLimiter, client_key};
    use std::net::IpAddr;
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trips_after_max_failures_per_client_and_resets_after_window() {
        let limiter = FailureLimiter::new(3, Duration::from_millis(200));
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
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
        let a = ip("::1");
        limiter.record_failure(a);
        limiter.record_success(a);
        limiter.record_failure(a);
        assert!(limiter.check(a).is_ok());
    }

    #[test]
    fn claims_count_before_evaluation_and_refuse_past_the_limit() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let a = ip("10.0.0.1");
        // Three attempts in flight at once: none has failed yet, yet a fourth is refused.
        for _ in 0..3 {
            assert_eq!(limiter.claim(a), Ok(()));
        }
        let wait = limiter.claim(a).unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60), "{wait:?}");
        assert_eq!(limiter.lock().clients[&a].0, 3, "a refused claim is not counted");
        limiter.record_success(a);
        assert_eq!(limiter.claim(a), Ok(()), "a right answer clears the claims");
    }

    #[test]
    fn parallel_claims_pass_exactly_the_limit() {
        let limiter = std::sync::Arc::new(FailureLimiter::new(5, Duration::from_secs(60)));
        let threads: Vec<_> = (0..100)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || limiter.claim(ip("10.0.0.9")).is_ok())
            })
            .collect();
        let passed = threads.into_iter().map(|t| t.join().unwrap()).filter(|ok| *ok).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(client_key(ip("10.0.0.1")), ip("10.0.0.1"));

        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        limiter.record_failure(ip("2001:db8:1:2::1"));
        limiter.record_failure(ip("2001:db8:1:2:ffff::9"));
        assert!(limiter.check(ip("2001:db8:1:2::77")).is_err(), "one /64 is one client");
        assert!(limiter.check(ip("2001:db8:1:3::1")).is_ok(), "the next /64 is another");

        limiter.record_failure(ip("::ffff:192.0.2.7"));
        limiter.record_failure(ip("192.0.2.7"));
        assert!(limiter.check(ip("192.0.2.7")).is_err(), "mapped and plain IPv4 are one client");
        assert!(limiter.check(ip("::ffff:192.0.2.7")).is_err());
        limiter.record_success(ip("::ffff:192.0.2.7"));
        assert!(limiter.check(ip("192.0.2.7")).is_ok());
    }

    #[test]
    fn past_the_cap_untracked_clients_share_one_limited_bucket() {
        let limiter = FailureLimiter::with_capacity(2, Duration::from_secs(60), 3);
        for last in 1..=3u8 {
            assert_eq!(limiter.claim(IpAddr::from([10, 0, 0, last])), Ok(()));
        }
        // The map is full: a flood of new /64s gets two claims between all of them, not unlimited ones.
        assert_eq!(limiter.claim(ip("2001:db8:0:1::1")), Ok(()));
        assert_eq!(limiter.claim(ip("2001:db8:0:2::1")), Ok(()));
        for net in 3..100u16 {
            let wait = limiter.claim(IpAddr::from([0x2001, 0xdb8, 0, net, 0, 0, 0, 1])).unwrap_err();
            assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60), "{wait:?}");
        }
        assert!(limiter.check(ip("2001:db8:0:1::1")).is_err());
        assert_eq!(limiter.lock().overflow.map(|(count, _)| count), Some(2), "refused claims are not counted");
        // Tracked clients keep their own counts: 10.0.0.1 has one claim left.
        assert_eq!(limiter.claim(ip("10.0.0.1")), Ok(()));
        assert!(limiter.claim(ip("10.0.0.1")).is_err());
        // A success clears only the client's own entry, never the shared bucket.
        limiter.record_success(ip("2001:db8:0:1::1"));
        assert!(limiter.claim(ip("2001:db8:0:1::1")).is_err());
        assert_eq!(limiter.lock().clients.len(), 3);
    }

    #[test]
    fn the_map_stays_bounded_and_expired_entries_are_pruned_once_per_interval() {
        let window = Duration::from_millis(100);
        let limiter = FailureLimiter::with_capacity(1, window, 3);
        for last in 1..=5u8 {
            limiter.record_failure(IpAddr::from([10, 0, 0, last]));
        }
        assert_eq!(limiter.lock().clients.len(), 3, "capped");
        assert!(limiter.check(ip("10.0.0.3")).is_err(), "tracked clients stay limited");
        assert!(!limiter.lock().clients.contains_key(&ip("10.0.0.5")), "past the cap a new client has no entry");
        assert_eq!(limiter.lock().overflow.map(|(count, _)| count), Some(2), "10.0.0.4 and 10.0.0.5, together");
        assert!(limiter.check(ip("10.0.0.5")).is_err(), "but it is limited in the shared overflow bucket");

        std::thread::sleep(Duration::from_millis(120));
        // Every entry has expired, but a prune ran less than an interval ago: no scan on this call.
        limiter.lock().last_prune = std::time::Instant::now();
        limiter.record_failure(ip("10.0.0.6"));
        assert_eq!(limiter.lock().clients.len(), 3);
        assert!(!limiter.lock().clients.contains_key(&ip("10.0.0.6")));

        // An interval later one call prunes every expired entry (and only those), making room again.
        let past = |l: &FailureLimiter| l.lock().last_prune = std::time::Instant::now() - window;
        past(&limiter);
        limiter.record_failure(ip("10.0.0.6"));
        limiter.record_failure(ip("10.0.0.7"));
        past(&limiter);
        limiter.record_failure(ip("10.0.0.8"));
        let clients = limiter.lock().clients.keys().copied().collect::<std::collections::HashSet<_>>();
        assert_eq!(clients, [ip("10.0.0.6"), ip("10.0.0.7"), ip("10.0.0.8")].into());
    }
}
