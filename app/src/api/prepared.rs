//! Tables prepared on this server for pages the browser relays (`receive/prepare-table`): the plan of a table's
//! import made once, kept here under a random handle that each `receive/import-page` call names, so no page reads
//! the catalog, the session's transfer record or the sender's schema again. A handle belongs to the admin and the
//! transfer that prepared it; it is forgotten when the transfer ends, after an hour unused, and the oldest goes
//! when an admin holds too many.
//!
//! Pages of one table may arrive two at a time (the Receive page sends the next page while the last is written):
//! each handle's [`Chain`] writes them one at a time, in the walk's order.
//!
//! The handles live in this process: behind a load balancer, a Receive page's calls must reach the server that
//! prepared the table (an unknown handle is a clear 400: "prepare the table again").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::tables::PreparedImport;

use super::chain::Chain;

/// Prepared tables one admin may hold at once (a transfer prepares one per table, one at a time).
pub const MAX_PER_ADMIN: usize = 64;
/// A handle unused this long is forgotten.
pub const IDLE: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct Entry {
    admin: String,
    transfer: i64,
    prepared: Arc<PreparedImport>,
    chain: Arc<Chain>,
    used: Instant,
}

/// A prepared table as an import finds it.
#[derive(Debug, Clone)]
pub struct Found {
    pub transfer: i64,
    pub prepared: Arc<PreparedImport>,
    pub chain: Arc<Chain>,
}

#[derive(Debug, Default)]
pub struct PreparedImports {
    entries: Mutex<HashMap<u64, Entry>>,
}

impl PreparedImports {
    /// Keeps `prepared` for `admin`'s running transfer `transfer`, its pages' chain starting after `start`;
    /// answers its handle.
    pub fn insert(&self, admin: &str, transfer: i64, prepared: PreparedImport, start: Option<String>) -> u64 {
        let mut entries = self.entries.lock().expect("not poisoned");
        let now = Instant::now();
        entries.retain(|_, e| now.duration_since(e.used) < IDLE);
        let held: Vec<(u64, Instant)> =
            entries.iter().filter(|(_, e)| e.admin == admin).map(|(h, e)| (*h, e.used)).collect();
        if held.len() >= MAX_PER_ADMIN
            && let Some((oldest, _)) = held.iter().min_by_key(|(_, used)| *used)
        {
            entries.remove(oldest);
        }
        let handle = loop {
            let h: u64 = rand::random();
            if h != 0 && !entries.contains_key(&h) {
                break h;
            }
        };
        let entry = Entry {
            admin: admin.to_owned(),
            transfer,
            prepared: Arc::new(prepared),
            chain: Arc::new(Chain::new(start)),
            used: now,
        };
        entries.insert(handle, entry);
        handle
    }

    /// The prepared table `handle` when it is `admin`'s (another admin's handle is as unknown as a made-up one).
    pub fn get(&self, handle: u64, admin: &str) -> Option<Found> {
        let mut entries = self.entries.lock().expect("not poisoned");
        let now = Instant::now();
        let entry = entries.get_mut(&handle).filter(|e| e.admin == admin && now.duration_since(e.used) < IDLE)?;
        entry.used = now;
        Some(Found { transfer: entry.transfer, prepared: entry.prepared.clone(), chain: entry.chain.clone() })
    }

    /// Forgets every table prepared for `transfer` (it ended).
    pub fn forget_transfer(&self, transfer: i64) {
        self.entries.lock().expect("not poisoned").retain(|_, e| e.transfer != transfer);
    }
}
