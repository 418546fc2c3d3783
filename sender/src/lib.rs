//! The sender's sessions, connection codes and connected receivers, in memory (the library API: create a session,
//! issue codes, redeem one, resume, disconnect, end). A session belongs to an admin's open Send page; each code
//! admits one receiver; a receiver that drops may come back with its resume token while the session lives.
//! Ending a session or disconnecting a receiver signals its socket through a watch channel, which the socket
//! task obeys at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::watch;

use protocol::messages::ReceiverInfo;
pub use protocol::messages::ReceiverView;

pub use protocol::code::{CODE_ALPHABET, CODE_LENGTH, ConnectionCode};

/// A fresh code from a CSPRNG (ThreadRng: ChaCha12 seeded and reseeded from the OS).
pub fn generate_code() -> ConnectionCode {
    let mut rng = rand::rng();
    ConnectionCode::from_random(|n| rng.random_range(0..n))
}

fn token() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    protocol::value::hex(&bytes)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Why a code or token did not open a connection; each is its own refusal for the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such code (or token) exists.
    Unknown,
    /// The code already admitted a receiver.
    Used,
    Expired,
    /// The Send page that issued it was closed or ended its sessions.
    SessionEnded,
}

impl Refusal {
    /// The machine-readable code a receiver is told (with the message and the HTTP status).
    pub fn code(self) -> protocol::messages::RefusalCode {
        use protocol::messages::RefusalCode;
        match self {
            Refusal::Unknown => RefusalCode::InvalidCode,
            Refusal::Used => RefusalCode::CodeUsed,
            Refusal::Expired => RefusalCode::CodeExpired,
            Refusal::SessionEnded => RefusalCode::SessionEnded,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "invalid connection code",
            Refusal::Used => "this connection code was already used; ask the sender for a new one",
            Refusal::Expired => "this connection code has expired; ask the sender for a new one",
            Refusal::SessionEnded => "the sender closed this transfer session",
        }
    }
}

/// What stops a receiver's socket: a reason, sent when the admin disconnects it or the session ends.
pub type StopSignal = watch::Receiver<Option<String>>;

/// A receiver admitted by a code or a resume token.
#[derive(Debug)]
pub struct Admission {
    pub session_id: String,
    pub receiver_id: String,
    pub resume_token: String,
    pub stop: StopSignal,
}

struct ReceiverState {
    view: ReceiverView,
    resume_token: String,
    stop: watch::Sender<Option<String>>,
}

struct SessionState {
    owner: String,
    receivers: Vec<ReceiverState>,
    /// How many Send page connections (tabs) hold the session now; it ends only when the last one has been
    /// gone past the grace. `page_generation` counts attachments and detachments, so a grace timer can tell
    /// whether a page came (or went) since it started.
    pages: usize,
    page_generation: u64,
    /// How many times "End all" closed its receivers and codes (the session and its pages stay).
    resets: u64,
}

struct CodeState {
    session_id: String,
    expires_at: u64,
    used: bool,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, SessionState>,
    codes: HashMap<String, CodeState>,
}

/// How the sender watches its receivers' sockets: a WebSocket ping every `ping_every`, and a socket from which
/// nothing (no pong, no message) came for `dead_after` is dropped, so its receiver may resume at once instead of
/// being refused as still connected. A socket that has not said hello within `dead_after` is dropped too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub ping_every: Duration,
    pub dead_after: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { ping_every: Duration::from_secs(20), dead_after: Duration::from_secs(60) }
    }
}

impl Liveness {
    /// Both bounds, the second longer than the first (a pong answers the previous ping).
    pub fn new(ping_every: Duration, dead_after: Duration) -> Result<Liveness, String> {
        if ping_every.is_zero() || dead_after <= ping_every {
            return Err(format!(
                "the receiver timeout ({} s) must be longer than the ping interval ({} s), which must be positive",
                dead_after.as_secs_f64(),
                ping_every.as_secs_f64()
            ));
        }
        Ok(Liveness { ping_every, dead_after })
    }
}

/// All sessions of one sender instance.
#[derive(Default)]
pub struct SessionRegistry {
    state: Mutex<State>,
    liveness: Liveness,
}

impl std::fmt::Debug for SessionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionRegistry")
    }
}

impl SessionRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn new(liveness: Liveness) -> SessionRegistry {
        SessionRegistry { state: Mutex::default(), liveness }
    }

    pub fn liveness(&self) -> Liveness {
        self.liveness
    }

    pub fn create_session(&self, owner: &str) -> String {
        let id = token();
        self.lock().sessions.insert(
            id.clone(),
            SessionState { owner: owner.to_owned(), receivers: Vec::new(), pages: 1, page_generation: 0, resets: 0 },
        );
        id
    }

    /// A Send page connected to a session it owns and that still lives: a reload, or another tab.
    pub fn page_attached(&self, session_id: &str, owner: &str) -> bool {
        match self.lock().sessions.get_mut(session_id) {
            Some(s) if s.owner == owner => {
                s.pages += 1;
                s.page_generation += 1;
                true
            }
            _ => false,
        }
    }

    /// A Send page's connection closed; returns the generation to pass to [`Self::end_if_still_detached`]
    /// once the grace period is over.
    pub fn page_detached(&self, session_id: &str) -> Option<u64> {
        self.lock().sessions.get_mut(session_id).map(|s| {
            s.pages = s.pages.saturating_sub(1);
            s.page_generation += 1;
            s.page_generation
        })
    }

    /// Ends the session unless a page holds it or came back since `generation`.
    pub fn end_if_still_detached(&self, session_id: &str, generation: u64) -> bool {
        let stale =
            self.lock().sessions.get(session_id).is_some_and(|s| s.pages == 0 && s.page_generation == generation);
        if stale {
            self.end_session(session_id);
        }
        stale
    }

    pub fn session_owner(&self, session_id: &str) -> Option<String> {
        self.lock().sessions.get(session_id).map(|s| s.owner.clone())
    }

    /// A new single-use code for the session, valid for `ttl`.
    pub fn new_code(&self, session_id: &str, ttl: Duration) -> Option<ConnectionCode> {
        let mut state = self.lock();
        if !state.sessions.contains_key(session_id) {
            return None;
        }
        let now = now_secs();
        state.codes.retain(|_, c| c.expires_at > now || c.used);
        let code = loop {
            let c = generate_code();
            if !state.codes.contains_key(c.as_str()) {
                break c;
            }
        };
        state.codes.insert(
            code.as_str().to_owned(),
            CodeState { session_id: session_id.to_owned(), expires_at: now + ttl.as_secs().max(1), used: false },
        );
        Some(code)
    }

    /// Admits a receiver with a code: the code is spent whatever happens next.
    pub fn redeem(&self, code: &ConnectionCode, client_ip: &str, user_agent: &str) -> Result<Admission, Refusal> {
        let mut state = self.lock();
        let entry = state.codes.get_mut(code.as_str()).ok_or(Refusal::Unknown)?;
        if entry.used {
            return Err(Refusal::Used);
        }
        if entry.expires_at <= now_secs() {
            return Err(Refusal::Expired);
        }
        let session_id = entry.session_id.clone();
        entry.used = true;
        let session = state.sessions.get_mut(&session_id).ok_or(Refusal::SessionEnded)?;
        let (stop, stop_rx) = watch::channel(None);
        let receiver_id = token()[..12].to_owned();
        let resume_token = token();
        let now = now_secs();
        session.receivers.push(ReceiverState {
            view: ReceiverView {
                receiver_id: receiver_id.clone(),
                info: None,
                client_ip: client_ip.to_owned(),
                user_agent: user_agent.chars().take(300).collect(),
                connected_at: now,
                last_activity: now,
                connected: true,
                tables_served: 0,
                rows_served: 0,
            },
            resume_token: resume_token.clone(),
            stop,
        });
        Ok(Admission { session_id, receiver_id, resume_token, stop: stop_rx })
    }

    /// Lets a dropped receiver back in with its resume token (not while it is still connected).
    pub fn resume(&self, token: &str, client_ip: &str) -> Result<Admission, Refusal> {
        let mut state = self.lock();
        for (session_id, session) in state.sessions.iter_mut() {
            if let Some(r) = session.receivers.iter_mut().find(|r| r.resume_token == token) {
                if r.view.connected {
                    return Err(Refusal::Used);
                }
                let (stop, stop_rx) = watch::channel(None);
                r.stop = stop;
                r.view.connected = true;
                r.view.client_ip = client_ip.to_owned();
                r.view.last_activity = now_secs();
                return Ok(Admission {
                    session_id: session_id.clone(),
                    receiver_id: r.view.receiver_id.clone(),
                    resume_token: token.to_owned(),
                    stop: stop_rx,
                });
            }
        }
        Err(Refusal::Unknown)
    }

    fn with_receiver(&self, session_id: &str, receiver_id: &str, f: impl FnOnce(&mut ReceiverState)) {
        if let Some(r) = self
            .lock()
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.receivers.iter_mut().find(|r| r.view.receiver_id == receiver_id))
        {
            f(r);
        }
    }

    pub fn set_info(&self, session_id: &str, receiver_id: &str, info: ReceiverInfo) {
        self.with_receiver(session_id, receiver_id, |r| r.view.info = Some(info));
    }

    /// Counts what a receiver was served; `table_done` when a fetch reached the end of a table.
    pub fn record(&self, session_id: &str, receiver_id: &str, rows: u64, table_done: bool) {
        self.with_receiver(session_id, receiver_id, |r| {
            r.view.rows_served += rows;
            r.view.tables_served += u64::from(table_done);
            r.view.last_activity = now_secs();
        });
    }

    /// The socket is gone (dropped or stopped); the receiver may resume while the session lives.
    pub fn detached(&self, session_id: &str, receiver_id: &str) {
        self.with_receiver(session_id, receiver_id, |r| r.view.connected = false);
    }

    /// Closes one receiver's socket now; its resume token is revoked.
    pub fn disconnect(&self, session_id: &str, receiver_id: &str) -> bool {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(session_id) else { return false };
        let Some(pos) = session.receivers.iter().position(|r| r.view.receiver_id == receiver_id) else { return false };
        let r = session.receivers.remove(pos);
        let _ = r.stop.send(Some("the sender disconnected this receiver".into()));
        true
    }

    /// "End all" on a Send page: every receiver socket of the session closes and outstanding codes stop
    /// working, but the session stays, with every page that holds it, for new codes. `false` if it has ended.
    pub fn reset_session(&self, session_id: &str) -> bool {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(session_id) else { return false };
        for r in session.receivers.drain(..) {
            let _ = r.stop.send(Some("the sender ended the transfer session".into()));
        }
        session.resets += 1;
        state.codes.retain(|_, c| c.session_id != session_id);
        true
    }

    /// How many times the session was reset, or `None` once it has ended.
    pub fn resets(&self, session_id: &str) -> Option<u64> {
        self.lock().sessions.get(session_id).map(|s| s.resets)
    }

    /// Ends the session: every receiver socket closes, outstanding codes stop working.
    pub fn end_session(&self, session_id: &str) {
        let mut state = self.lock();
        if let Some(session) = state.sessions.remove(session_id) {
            for r in session.receivers {
                let _ = r.stop.send(Some("the sender ended the transfer session".into()));
            }
        }
        state.codes.retain(|_, c| c.session_id != session_id);
    }

    /// Closes every connected receiver's socket now, in every session, with `reason` (transfers were switched
    /// off). Sessions, codes and resume tokens stay; the sender refuses them while transfers are off. Returns how
    /// many sockets were told to stop.
    pub fn stop_all(&self, reason: &str) -> usize {
        let state = self.lock();
        let connected = state.sessions.values().flat_map(|s| &s.receivers).filter(|r| r.view.connected);
        connected.filter(|r| r.stop.send(Some(reason.to_owned())).is_ok()).count()
    }

    pub fn receivers(&self, session_id: &str) -> Vec<ReceiverView> {
        self.lock()
            .sessions
            .get(session_id)
            .map(|s| s.receivers.iter().map(|r| r.view.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_case_insensitively_from_the_alphabet() {
        let c = generate_code();
        assert_eq!(c.as_str().len(), 8);
        assert!(c.as_str().bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(ConnectionCode::parse(&c.as_str().to_ascii_lowercase()).unwrap(), c);
        for bad in ["", "ABCDEFG", "ABCDEFGHJ", "ABCDEFG0", "ABCDEFGI", "ABCD EFG", "ÄBCDEFGH"] {
            assert!(ConnectionCode::parse(bad).is_err(), "{bad}");
        }
        let many: std::collections::HashSet<_> = (0..1000).map(|_| generate_code()).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn a_code_admits_one_receiver_and_refusals_are_distinct() {
        let reg = SessionRegistry::default();
        let s = reg.create_session("admin");
        let code = reg.new_code(&s, Duration::from_secs(60)).unwrap();
        let first = reg.redeem(&code, "1.2.3.4", "ua").unwrap();
        assert_eq!(reg.redeem(&code, "1.2.3.4", "ua").unwrap_err(), Refusal::Used);
        assert_eq!(reg.redeem(&generate_code(), "x", "ua").unwrap_err(), Refusal::Unknown);
        let second = reg.redeem(&reg.new_code(&s, Duration::from_secs(60)).unwrap(), "5.6.7.8", "ua").unwrap();
        assert_eq!(reg.receivers(&s).len(), 2, "multi-receiver");

        assert_eq!(reg.resume(&first.resume_token, "1.2.3.4").unwrap_err(), Refusal::Used, "still connected");
        reg.detached(&s, &first.receiver_id);
        let back = reg.resume(&first.resume_token, "1.2.3.4").unwrap();
        assert_eq!(back.receiver_id, first.receiver_id);

        assert!(reg.disconnect(&s, &second.receiver_id));
        assert_eq!(second.stop.borrow().as_deref(), Some("the sender disconnected this receiver"));
        assert_eq!(reg.resume(&second.resume_token, "x").unwrap_err(), Refusal::Unknown, "token revoked");

        let pending = reg.new_code(&s, Duration::from_secs(60)).unwrap();
        reg.end_session(&s);
        assert!(back.stop.borrow().is_some(), "the resumed socket is told to stop");
        assert_eq!(reg.redeem(&pending, "x", "ua").unwrap_err(), Refusal::Unknown, "outstanding codes invalidated");
        assert!(reg.new_code(&s, Duration::from_secs(60)).is_none());
    }

    #[test]
    fn a_session_ends_only_if_its_page_stays_away_past_the_grace() {
        let reg = SessionRegistry::default();
        let s = reg.create_session("admin");
        let g = reg.page_detached(&s).unwrap();
        assert!(!reg.page_attached(&s, "mallory"), "only the owner's page reattaches");
        assert!(reg.page_attached(&s, "admin"), "a reload within the grace");
        assert!(!reg.end_if_still_detached(&s, g));
        assert!(reg.new_code(&s, Duration::from_secs(9)).is_some());
        let g = reg.page_detached(&s).unwrap();
        assert!(reg.end_if_still_detached(&s, g), "the page never came back");
        assert!(reg.new_code(&s, Duration::from_secs(9)).is_none());
    }

    #[test]
    fn a_session_held_by_two_pages_lives_until_the_last_is_gone_and_reset_keeps_it() {
        let reg = SessionRegistry::default();
        let s = reg.create_session("admin");
        assert!(reg.page_attached(&s, "admin"), "a second tab");
        let g = reg.page_detached(&s).unwrap();
        assert!(!reg.end_if_still_detached(&s, g), "the other tab still holds it");
        let receiver = reg.redeem(&reg.new_code(&s, Duration::from_secs(9)).unwrap(), "x", "ua").unwrap();
        let pending = reg.new_code(&s, Duration::from_secs(9)).unwrap();
        assert_eq!(reg.resets(&s), Some(0));
        assert!(reg.reset_session(&s));
        assert_eq!(receiver.stop.borrow().as_deref(), Some("the sender ended the transfer session"));
        assert_eq!(reg.redeem(&pending, "x", "ua").unwrap_err(), Refusal::Unknown, "outstanding codes invalidated");
        assert_eq!((reg.resets(&s), reg.receivers(&s).len()), (Some(1), 0));
        assert!(reg.new_code(&s, Duration::from_secs(9)).is_some(), "the session lives on");
        let g = reg.page_detached(&s).unwrap();
        assert!(reg.end_if_still_detached(&s, g), "the last tab is gone");
        assert_eq!(reg.resets(&s), None);
        assert!(!reg.reset_session(&s));
    }

    #[test]
    fn stop_all_stops_every_connected_receiver_and_keeps_the_sessions() {
        let reg = SessionRegistry::default();
        let (a, b) = (reg.create_session("admin"), reg.create_session("other"));
        let first = reg.redeem(&reg.new_code(&a, Duration::from_secs(60)).unwrap(), "x", "ua").unwrap();
        let second = reg.redeem(&reg.new_code(&b, Duration::from_secs(60)).unwrap(), "x", "ua").unwrap();
        let gone = reg.redeem(&reg.new_code(&a, Duration::from_secs(60)).unwrap(), "x", "ua").unwrap();
        reg.detached(&a, &gone.receiver_id);
        assert_eq!(reg.stop_all(protocol::messages::TRANSFERS_OFF), 2);
        assert_eq!(first.stop.borrow().as_deref(), Some(protocol::messages::TRANSFERS_OFF));
        assert_eq!(second.stop.borrow().as_deref(), Some(protocol::messages::TRANSFERS_OFF));
        assert_eq!(gone.stop.borrow().as_deref(), None, "a receiver without a socket has nothing to close");
        assert!(reg.new_code(&a, Duration::from_secs(60)).is_some(), "sessions stay");
    }

    #[test]
    fn liveness_needs_a_timeout_longer_than_the_ping_interval() {
        let s = Duration::from_secs;
        assert_eq!(Liveness::new(s(20), s(60)), Ok(Liveness::default()));
        assert!(Liveness::new(s(20), s(20)).unwrap_err().contains("must be longer than the ping interval"));
        assert!(Liveness::new(s(0), s(5)).is_err());
    }

    #[test]
    fn expired_codes_are_refused_as_expired() {
        let reg = SessionRegistry::default();
        let s = reg.create_session("admin");
        let code = reg.new_code(&s, Duration::from_secs(1)).unwrap();
        reg.lock().codes.get_mut(code.as_str()).unwrap().expires_at = now_secs() - 1;
        assert_eq!(reg.redeem(&code, "x", "ua").unwrap_err(), Refusal::Expired);
    }
}
