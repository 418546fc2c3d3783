//! The order a prepared table's relayed pages are written in. The Receive page sends a table's next page while the
//! last is still being written (two imports in flight), and the two requests may reach this server in either
//! order; each page names the cursor it was fetched from (`from`) and the one the walk goes on from after it
//! (`next`). A [`Chain`] keeps where the handle's committed pages end and writes only the page that starts there,
//! one page at a time:
//!
//! - a page that starts where the committed pages end takes its turn at once (after the page being written);
//! - a page *ahead* (its predecessor not committed yet: the two requests crossed) waits — one such page per
//!   handle, for a bounded time — for the next turn to end, and takes its own if that turn committed its
//!   predecessor;
//! - a page *behind* (it starts at a cursor the committed pages passed: sent twice), a page whose predecessor
//!   was not written (it failed, or was itself stale: the driver redoes from where the committed pages end and
//!   may end elsewhere), a second page ahead, or one whose predecessor did not come in time is answered stale:
//!   nothing of it is written, and the driver goes on from where the committed pages end.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

/// How long a page ahead waits for its predecessor's turn to end: crossed requests arrive within milliseconds of
/// each other; past this, stale (the driver sends it again), so a predecessor that never comes costs little.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// Pages of one handle inside the chain at once — being written or waiting for their turn — as the Receive page
/// sends them (two in flight); any more are stale at once, so one browser cannot park pages here.
pub const MAX_INSIDE: usize = protocol::transfer::MAX_IN_FLIGHT;
/// Cursors remembered of the pages committed and of those that failed, to answer a page that starts at one of
/// them stale at once (beyond these, such a page waits for one turn to end first).
const REMEMBERED: usize = 1024;

#[derive(Debug)]
pub struct Chain {
    state: Mutex<State>,
    /// Held while a page is written: the handle's pages go in one at a time.
    writing: tokio::sync::Mutex<()>,
    /// Woken whenever a page's turn ends (committed or failed).
    moved: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    /// Where the committed pages end (`None`: the walk's start).
    committed: Option<String>,
    /// Fingerprints of the cursors the committed pages started at, newest last.
    passed: VecDeque<u64>,
    /// Fingerprints of the cursors failed pages would have ended at (until a page commits up to one), newest
    /// last: a page starting there has no predecessor coming.
    dead: VecDeque<u64>,
    /// A page ahead is waiting.
    waiting: bool,
    /// Pages inside: being written, waiting for the writing one, or waiting ahead.
    inside: usize,
}

fn fingerprint(cursor: &Option<String>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cursor.hash(&mut h);
    h.finish()
}

fn remember(list: &mut VecDeque<u64>, fingerprint: u64) {
    list.push_back(fingerprint);
    if list.len() > REMEMBERED {
        list.pop_front();
    }
}

impl Chain {
    /// A chain whose first page starts after `start`.
    pub fn new(start: Option<String>) -> Chain {
        Chain {
            state: Mutex::new(State {
                committed: start,
                passed: VecDeque::new(),
                dead: VecDeque::new(),
                waiting: false,
                inside: 0,
            }),
            writing: tokio::sync::Mutex::new(()),
            moved: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The turn of the page fetched from `from` that ends at `next`, once it is there; `None`: the page is stale
    /// (see the module). A page ahead waits at most `patience`, and for one turn to end.
    pub async fn turn(&self, from: &Option<String>, next: &str, patience: Duration) -> Option<Turn<'_>> {
        let entered = {
            let mut state = self.state();
            if state.inside >= MAX_INSIDE {
                None
            } else {
                state.inside += 1;
                Some(Inside(self))
            }
        };
        let turn = match entered {
            Some(entered) => self.wait_for_turn(from, next, patience, entered).await,
            None => None,
        };
        if turn.is_none() {
            // Not written: a page starting where this one ends has no predecessor coming either.
            self.failed_before_turn(next);
        }
        turn
    }

    async fn wait_for_turn<'a>(
        &'a self,
        from: &Option<String>,
        next: &str,
        patience: Duration,
        entered: Inside<'a>,
    ) -> Option<Turn<'a>> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut waiter: Option<Waiting<'a>> = None;
        loop {
            let waited = waiter.is_some();
            let moved = self.moved.notified();
            let mut moved = std::pin::pin!(moved);
            moved.as_mut().enable();
            let writing = self.writing.lock().await;
            {
                let mut state = self.state();
                if state.committed == *from {
                    drop(state);
                    drop(waiter);
                    let next = fingerprint(&Some(next.to_owned()));
                    return Some(Turn { chain: self, _writing: writing, _inside: entered, next, committed: false });
                }
                // Waited once: the turn that ended was not this page's predecessor's commit (a redo of it committed
                // a part that ends elsewhere).
                let at = fingerprint(from);
                if waited || state.dead.contains(&at) || state.passed.contains(&at) {
                    return None;
                }
                if waiter.is_none() {
                    if state.waiting {
                        return None;
                    }
                    state.waiting = true;
                    waiter = Some(Waiting(self));
                }
            }
            drop(writing);
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return None;
            }
        }
    }

    /// The page that ends at `next` was not written (it could not be decoded, or it was stale): a page starting
    /// there has no predecessor coming.
    pub fn failed_before_turn(&self, next: &str) {
        remember(&mut self.state().dead, fingerprint(&Some(next.to_owned())));
        self.moved.notify_waiters();
    }
}

/// A page counted inside the chain until it leaves, however it leaves.
struct Inside<'a>(&'a Chain);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.state().inside -= 1;
    }
}

/// Clears the chain's "a page ahead is waiting" when that page's wait ends, however it ends.
struct Waiting<'a>(&'a Chain);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.state().waiting = false;
    }
}

/// A page's turn: the handle's one page being written. Ends committed ([`Turn::committed`]) or, dropped without,
/// failed; either way a page waiting ahead is woken.
pub struct Turn<'a> {
    chain: &'a Chain,
    _writing: tokio::sync::MutexGuard<'a, ()>,
    _inside: Inside<'a>,
    /// The fingerprint of where the page ends.
    next: u64,
    committed: bool,
}

impl Turn<'_> {
    /// The page is committed: the chain now ends at `next`.
    pub fn committed(mut self, next: String) {
        let mut state = self.chain.state();
        let from = state.committed.replace(next);
        remember(&mut state.passed, fingerprint(&from));
        // A redo that ends where a failed page would have: the page after it has its predecessor after all.
        let reached = fingerprint(&state.committed);
        state.dead.retain(|d| *d != reached);
        self.committed = true;
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.committed {
            remember(&mut self.chain.state().dead, self.next);
        }
        self.chain.moved.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn at(c: &str) -> Option<String> {
        Some(c.to_owned())
    }

    #[tokio::test]
    async fn a_page_ahead_waits_for_its_predecessor_and_one_behind_is_stale() {
        let chain = Arc::new(Chain::new(None));
        // The second page arrives first: it waits, and takes its turn once the first commits.
        let ahead = {
            let chain = chain.clone();
            tokio::spawn(async move {
                let turn = chain.turn(&at("a"), "b", PATIENCE).await.map(|t| t.committed("b".into()));
                turn.is_some()
            })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!ahead.is_finished(), "the page ahead waits");
        // A third page ahead meanwhile is stale (one waits per handle).
        assert!(chain.turn(&at("b"), "c", PATIENCE).await.is_none());
        chain.turn(&None, "a", PATIENCE).await.expect("the first page's turn").committed("a".into());
        assert!(ahead.await.unwrap(), "the page ahead went in after it");
        assert_eq!(chain.state().inside, 0, "every page left");
        assert_eq!(chain.state().committed, at("b"));
        // Sent again: behind, stale at once.
        assert!(chain.turn(&None, "a", PATIENCE).await.is_none());
        assert!(chain.turn(&at("a"), "b", PATIENCE).await.is_none());
    }

    #[tokio::test]
    async fn a_page_ahead_of_a_redo_that_ends_elsewhere_is_stale_after_the_first_part() {
        let chain = Arc::new(Chain::new(None));
        let ahead = {
            let chain = chain.clone();
            tokio::spawn(async move { chain.turn(&at("b"), "c", PATIENCE).await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The page before it is refused and redone in parts: the first part commits elsewhere than "b".
        drop(chain.turn(&None, "b", PATIENCE).await.expect("the refused page's turn"));
        chain.turn(&None, "a1", PATIENCE).await.expect("the redo's first part").committed("a1".into());
        assert!(!ahead.await.unwrap(), "stale, at once");
        chain.turn(&at("a1"), "b'", PATIENCE).await.expect("the redo's next part").committed("b'".into());
        assert_eq!(chain.state().committed, at("b'"));

        // A redo that ends where the refused page would have: the page after it, arriving then, goes in.
        let chain = Chain::new(None);
        drop(chain.turn(&None, "b", PATIENCE).await.expect("the refused page's turn"));
        chain.turn(&None, "b", PATIENCE).await.expect("its redo").committed("b".into());
        chain.turn(&at("b"), "c", PATIENCE).await.expect("the page after").committed("c".into());
    }

    #[tokio::test]
    async fn a_page_ahead_of_one_that_failed_is_stale_and_the_failed_page_may_be_sent_again() {
        for before_turn in [false, true] {
            let chain = Arc::new(Chain::new(at("s")));
            let ahead = {
                let chain = chain.clone();
                tokio::spawn(async move { chain.turn(&at("t"), "u", PATIENCE).await.is_some() })
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            if before_turn {
                chain.failed_before_turn("t");
            } else {
                drop(chain.turn(&at("s"), "t", PATIENCE).await.expect("its turn"));
            }
            assert!(!ahead.await.unwrap(), "stale once its predecessor failed");
            // The failed page again (the driver's redo) goes in; then the next one.
            chain.turn(&at("s"), "t", PATIENCE).await.expect("again").committed("t".into());
            chain.turn(&at("t"), "u", PATIENCE).await.expect("then the next").committed("u".into());
            assert_eq!(chain.state().committed, at("u"));
        }
    }

    #[tokio::test]
    async fn no_more_than_two_pages_of_a_handle_are_inside_at_once() {
        let chain = Arc::new(Chain::new(None));
        let writing = chain.turn(&None, "a", PATIENCE).await.expect("the first page's turn");
        // The next page waits for the one being written; a third, whatever it is, is stale at once.
        let next = {
            let chain = chain.clone();
            tokio::spawn(async move { chain.turn(&at("a"), "b", PATIENCE).await.map(|t| t.committed("b".into())) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        assert!(chain.turn(&at("a"), "b", PATIENCE).await.is_none());
        assert!(started.elapsed() < Duration::from_secs(1));
        writing.committed("a".into());
        assert!(next.await.unwrap().is_some(), "the next page went in");
        let state = chain.state();
        assert_eq!((state.committed.clone(), state.inside), (at("b"), 0));
    }

    #[tokio::test]
    async fn a_page_after_a_stale_one_is_stale_too() {
        // The driver had pages a→b and b→c in flight behind a page that failed; a→b was answered stale, so b→c
        // has no predecessor coming: it must not wait.
        let chain = Chain::new(None);
        drop(chain.turn(&None, "a", PATIENCE).await.expect("the failing page's turn"));
        assert!(chain.turn(&at("a"), "b", PATIENCE).await.is_none());
        // The redo of the failed page ends at "a" again: "a" has a predecessor now, "b" still has none.
        chain.turn(&None, "a", PATIENCE).await.expect("its redo").committed("a".into());
        let started = std::time::Instant::now();
        assert!(chain.turn(&at("b"), "c", PATIENCE).await.is_none());
        assert!(started.elapsed() < Duration::from_secs(1), "at once");
    }

    #[tokio::test]
    async fn a_page_whose_predecessor_never_comes_is_stale_after_the_patience() {
        let chain = Chain::new(None);
        let started = std::time::Instant::now();
        assert!(chain.turn(&at("x"), "y", Duration::from_millis(50)).await.is_none());
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(!chain.state().waiting, "the wait is over");
    }
}
