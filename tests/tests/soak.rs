//! The soak of issue 21: 100 reconnecting clients (80 ws-proto-tokio `Session`s on one runtime,
//! 20 ws-proto-std event `Client`s, each on its thread) send numbered texts at a steady pace
//! through one fault-injecting relay to one recording tungstenite server, for `WS_SOAK_SECS`
//! seconds (default 120). Every connection gets a random plan (resets inside the handshake and
//! later, blackholes, stopped reads, half-closes, latency, one-byte segments, slow links, or
//! nothing), and a chaos thread resets or blackholes every open connection now and then.
//!
//! At the end the relay turns calm (new connections get no fault), its open connections are
//! reset and its stalls released, the clients stop sending, reconnect, drain their outboxes and
//! close cleanly (all bounded), and the accounts are checked message by message: every message
//! sent was read by the server or reported undelivered (or both), none is lost silently, none
//! is read twice, and each session's messages reach the server in increasing order, within a
//! connection and across its connections. File descriptors, threads, the heap (a counting
//! allocator), RSS and tokio tasks are measured before and after.
//!
//! `WS_SOAK_SEED` replays the connection plans of a run (the seed is printed); the timing, and
//! so which connection each client gets, is not reproducible.
//!
//! Run it with `cargo test -p ws-proto-tests --test soak -- --ignored --nocapture`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ws_proto_tests::relay::{Faults, Plan, Relay};
use ws_proto_tests::servers::{Record, Server};
use ws_proto_tokio::{CloseCode, Message, ReconnectPolicy, SendError, SessionEvent};

const TOKIO_SESSIONS: usize = 80;
const STD_CLIENTS: usize = 20;
/// Keepalive: a dead path is noticed within about 0.8 s.
const PING_INTERVAL: Duration = Duration::from_millis(300);
const PONG_TIMEOUT: Duration = Duration::from_millis(500);
/// A stalled handshake is a dead connection too.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the outboxes get to drain once the relay is released and sending stopped.
const DRAIN_WITHIN: Duration = Duration::from_secs(10);
/// How long a client gets to end once it is closed.
const CLOSE_WITHIN: Duration = Duration::from_secs(15);
/// Slack on the file descriptors and threads counted before and after.
const FD_SLACK: usize = 8;
const THREAD_SLACK: usize = 4;
/// RSS after the soak is mostly memory the allocator keeps once freed (a 120 s soak's record
/// of 330,000 texts, 350 threads' arenas): the heap is the leak check, this a generous bound.
const RSS_GROWTH_LIMIT_KIB: u64 = 128 << 10;

/// Heap left allocated once everything is closed and dropped, over what was before: the leak
/// check.
const HEAP_GROWTH_LIMIT: isize = 1 << 20;

/// Reconnect soon, with no attempt limit.
fn policy() -> ReconnectPolicy {
    ReconnectPolicy::exponential(Duration::from_millis(20), Duration::from_millis(160))
}

// ---- the heap, counted ----

/// The system allocator, counting the bytes live: RSS alone cannot tell a leak from memory
/// the allocator keeps after it was freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the only addition is an atomic counter of live bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes allocated and not freed, by every thread.
fn heap() -> isize {
    LIVE.load(Ordering::SeqCst)
}

// ---- randomness ----

/// xorshift64, seeded through splitmix64.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// The pause before a client's next message: 20 to 50 ms.
    fn gap(&mut self) -> Duration {
        Duration::from_millis(self.range(20, 50))
    }
}

fn seed() -> u64 {
    match std::env::var("WS_SOAK_SEED") {
        Ok(s) => s.parse().expect("WS_SOAK_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

// ---- connection plans ----

/// The fault a connection's plan carries, for the accounts.
const KINDS: [&str; 7] = [
    "clean",
    "reset in handshake",
    "reset later",
    "blackhole",
    "stop reading",
    "half-close",
    "calm (drain)",
];
/// How a connection's bytes are shaped, besides its fault.
const SHAPES: [&str; 4] = ["plain", "latency", "1-byte segments", "slow"];

/// The client's request is about 200 bytes, the server's 101 about 130; after it the server
/// sends only pongs (18 bytes each), the client a text (about 16 bytes) and an acknowledgement
/// ping (22 bytes) per message, so about 1.5 KB/s up and 0.7 KB/s down.
fn plan_for(seed: u64, n: usize) -> (Plan, usize, usize) {
    let mut r = Rng::new(seed ^ (n as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let mut plan = Plan::default();
    let up = r.chance(50);
    let fault = r.next() % 100;
    let kind = match fault {
        0..=29 => 0,
        30..=39 => {
            if up {
                plan.up.reset_after = Some(r.range(1, 180));
            } else {
                plan.down.reset_after = Some(r.range(1, 120));
            }
            1
        }
        40..=59 => {
            if up {
                plan.up.reset_after = Some(r.range(200, 6000));
            } else {
                plan.down.reset_after = Some(r.range(130, 3000));
            }
            2
        }
        60..=74 => {
            // Down, sometimes inside the handshake: the handshake timeout catches it.
            if up {
                plan.up.blackhole_after = Some(r.range(200, 4000));
            } else {
                plan.down.blackhole_after = Some(r.range(1, 2000));
            }
            3
        }
        75..=79 => {
            if up {
                plan.up.stop_reading_after = Some(r.range(200, 4000));
            } else {
                plan.down.stop_reading_after = Some(r.range(130, 2000));
            }
            4
        }
        _ => {
            if up {
                plan.up.half_close_after = Some(r.range(1, 4000));
            } else {
                plan.down.half_close_after = Some(r.range(1, 2000));
            }
            5
        }
    };
    let shape = match r.next() % 100 {
        0..=69 => 0,
        70..=84 => {
            let latency = Duration::from_millis(r.range(1, 80));
            plan.up.latency = latency;
            plan.down.latency = latency;
            1
        }
        85..=92 => {
            plan.up.segment = Some(1);
            plan.down.segment = Some(1);
            2
        }
        _ => {
            plan.up.bytes_per_sec = Some(r.range(2000, 8000));
            plan.down.bytes_per_sec = Some(r.range(1000, 4000));
            3
        }
    };
    (plan, kind, shape)
}

#[derive(Debug, Default)]
struct Planned {
    kinds: [AtomicUsize; KINDS.len()],
    shapes: [AtomicUsize; SHAPES.len()],
}

impl Planned {
    fn show(&self) -> String {
        let list = |names: &[&str], counts: &[AtomicUsize]| {
            names
                .iter()
                .zip(counts)
                .map(|(name, n)| format!("{name} {}", n.load(Ordering::SeqCst)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "planned faults: {}; shapes: {}",
            list(&KINDS, &self.kinds),
            list(&SHAPES, &self.shapes)
        )
    }
}

// ---- what each client saw ----

/// One client's accounts.
#[derive(Debug, Default)]
struct Tally {
    id: usize,
    /// Messages accepted, numbered from 0: `0..sent`.
    sent: u64,
    /// Sends refused (a full outbox): not numbered, not counted as sent.
    refused: u64,
    /// Sends that returned an error other than a refusal: the message was accepted (the
    /// outbox took it, then writing on the current connection failed), so it is numbered.
    accepted_with_error: u64,
    send_error_sample: Option<String>,
    /// Numbers reported undelivered, in the order reported.
    undelivered: Vec<u64>,
    /// Undelivered messages that were not this client's numbered texts.
    foreign: Vec<String>,
    connects: usize,
    opens: usize,
    clean_closes: usize,
    unclean_closes: usize,
    /// How the last connection ended: `Some(true)` for a clean close.
    last_clean: Option<bool>,
    reconnects: usize,
    errors: BTreeMap<String, usize>,
    /// The first error of each kind, in full.
    error_samples: BTreeMap<String, String>,
    unexpected: usize,
    /// The outbox's bytes when the drain time was up.
    left_buffered: usize,
    /// What `close` returned, if it failed.
    close_error: Option<String>,
    /// The client did not end within `CLOSE_WITHIN` of being closed.
    hung: bool,
}

impl Tally {
    fn new(id: usize) -> Tally {
        Tally {
            id,
            ..Tally::default()
        }
    }

    fn text(&self) -> Message {
        Message::text(format!("s{} {}", self.id, self.sent))
    }

    fn error(&mut self, error: &ws_proto_tokio::Error) {
        let kind = error_kind(error);
        *self.errors.entry(kind.clone()).or_default() += 1;
        self.error_samples
            .entry(kind)
            .or_insert_with(|| error.to_string());
    }

    /// The outcome of a send: a refusal (`Error::Send`) leaves the message out; any other
    /// error comes from writing, after the outbox accepted the message.
    fn sent(&mut self, result: Result<(), ws_proto_tokio::Error>) {
        match result {
            Ok(()) => self.sent += 1,
            Err(ws_proto_tokio::Error::Send(SendError::BufferFull { .. })) => self.refused += 1,
            Err(ws_proto_tokio::Error::Send(e)) => {
                panic!("client {}: a send refused: {e}", self.id)
            }
            Err(e) => {
                self.sent += 1;
                self.accepted_with_error += 1;
                self.send_error_sample.get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn undelivered(&mut self, messages: Vec<Message>) {
        for message in messages {
            match message.to_text().and_then(parse) {
                Some((id, seq)) if id == self.id => self.undelivered.push(seq),
                _ => self.foreign.push(format!("{message:?}")),
            }
        }
    }

    fn closed(&mut self, clean: bool) {
        if clean {
            self.clean_closes += 1;
        } else {
            self.unclean_closes += 1;
        }
        self.last_clean = Some(clean);
    }

    fn event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Connected => self.connects += 1,
            SessionEvent::Open(_) => self.opens += 1,
            SessionEvent::Message(_) => self.unexpected += 1,
            SessionEvent::Error(e) => self.error(&e),
            SessionEvent::Closed { clean, .. } => self.closed(clean),
            SessionEvent::Undelivered(messages) => self.undelivered(messages),
            SessionEvent::Reconnecting { .. } => self.reconnects += 1,
            _ => {}
        }
    }
}

/// An error's variant (and the kind of an I/O error, the stage of a timeout).
fn error_kind(error: &ws_proto_tokio::Error) -> String {
    use ws_proto_tokio::Error;
    match error {
        Error::Io(e) => format!("Io({:?})", e.kind()),
        Error::Timeout(t) => format!("Timeout({t:?})"),
        Error::Protocol(p) => format!("Protocol({p})"),
        Error::Connect { attempts, .. } => {
            format!("Connect({:?})", attempts.first().map(|(_, e)| e.kind()))
        }
        other => {
            let debug = format!("{other:?}");
            debug
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    }
}

/// `"s{id} {seq}"`.
fn parse(text: &str) -> Option<(usize, u64)> {
    let (id, seq) = text.strip_prefix('s')?.split_once(' ')?;
    Some((id.parse().ok()?, seq.parse().ok()?))
}

// ---- the tokio sessions ----

async fn tokio_session(
    id: usize,
    url: String,
    seed: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Tally {
    let mut session = ws_proto_tokio::Builder::new(url)
        .ping_interval(PING_INTERVAL)
        .pong_timeout(PONG_TIMEOUT)
        .handshake_timeout(Some(HANDSHAKE_TIMEOUT))
        .close_timeout(CLOSE_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .session(policy())
        .expect("a valid request");
    let mut rng = Rng::new(seed ^ (id as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut tally = Tally::new(id);
    let mut next = tokio::time::Instant::now() + rng.gap();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(next) => {
                // Half the sessions send without waiting, half wait for the write.
                let result = if id.is_multiple_of(2) {
                    session.try_feed(tally.text())
                } else {
                    session.send(tally.text()).await
                };
                tally.sent(result);
                next += rng.gap();
                next = next.max(tokio::time::Instant::now());
            }
            event = session.next_event() => match event {
                Some(event) => tally.event(event),
                None => panic!("session {id} ended by itself"),
            },
        }
    }
    // The relay is calm and its connections were reset: the session opens again (a connection
    // that looks open now may be one whose reset has not arrived yet), what the outbox holds
    // is acknowledged or reported, and then it ends with a closing handshake.
    let drained_by = tokio::time::Instant::now() + DRAIN_WITHIN;
    let opens = tally.opens;
    while (session.buffered_amount() > 0 || !session.is_open() || tally.opens == opens)
        && tokio::time::Instant::now() < drained_by
    {
        tokio::select! {
            event = session.next_event() => match event {
                Some(event) => tally.event(event),
                None => panic!("session {id} ended by itself"),
            },
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    tally.left_buffered = session.buffered_amount();
    let closing = async {
        if let Err(e) = session.close(CloseCode::NORMAL, "soak over").await {
            tally.close_error = Some(e.to_string());
        }
        while let Some(event) = session.next_event().await {
            tally.event(event);
        }
    };
    if tokio::time::timeout(CLOSE_WITHIN, closing).await.is_err() {
        tally.hung = true;
    }
    tally
}

/// Runs the sessions on one current-thread runtime; returns their tallies, the tasks still
/// alive once they were all joined, and how long the runtime's shutdown took.
fn run_tokio_sessions(
    url: String,
    seed: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Vec<Tally>, usize, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tallies, alive) = runtime.block_on(async {
        let tasks: Vec<_> = (0..TOKIO_SESSIONS)
            .map(|id| tokio::spawn(tokio_session(id, url.clone(), seed, stop.clone())))
            .collect();
        drop(stop);
        let mut tallies = Vec::new();
        for task in tasks {
            tallies.push(task.await.expect("a session's task failed"));
        }
        let metrics = tokio::runtime::Handle::current().metrics();
        let mut alive = metrics.num_alive_tasks();
        for _ in 0..100 {
            if alive == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            alive = metrics.num_alive_tasks();
        }
        (tallies, alive)
    });
    let shutdown = Instant::now();
    runtime.shutdown_timeout(Duration::from_secs(5));
    (tallies, alive, shutdown.elapsed())
}

// ---- the std event clients ----

/// The std client's handler: the same accounts through callbacks.
#[derive(Debug)]
struct StdLog {
    tally: Tally,
    /// A connection is open (between `on_open` and `on_close`).
    open: bool,
    /// Attempts that failed before the handshake completed.
    failed_attempts: usize,
    /// `on_error` came, and its `on_close` has not yet.
    errored: bool,
    /// Connections opened, for the test's thread.
    opened: Arc<AtomicUsize>,
}

impl ws_proto_std::Handler for StdLog {
    fn on_connect(&mut self, _: &ws_proto_std::ClientHandle) {
        self.tally.connects += 1;
        // An attempt that failed before its transport was up has no `on_close`.
        self.errored = false;
    }
    fn on_open(&mut self, _: &ws_proto_std::ClientHandle, _: &ws_proto_std::Response) {
        self.tally.opens += 1;
        self.open = true;
        self.opened.fetch_add(1, Ordering::SeqCst);
    }
    fn on_message(&mut self, _: &ws_proto_std::ClientHandle, _: Message) {
        self.tally.unexpected += 1;
    }
    fn on_close(&mut self, _: CloseCode, _: &str) {
        // A clean end is an `on_close` with no `on_error` before it.
        self.tally.closed(!self.errored);
        self.open = false;
        self.errored = false;
    }
    fn on_error(&mut self, error: &ws_proto_std::Error) {
        self.tally.error(error);
        if !self.open {
            self.failed_attempts += 1;
        }
        self.errored = true;
    }
    fn on_undelivered(&mut self, messages: Vec<Message>) {
        self.tally.undelivered(messages);
    }
}

impl StdLog {
    /// Attempts after the first: connections opened plus attempts failed, less one.
    fn finish(mut self) -> Tally {
        self.tally.reconnects = (self.tally.opens + self.failed_attempts).saturating_sub(1);
        self.tally
    }
}

/// A std client: its runner thread (the handler comes back on `done`); returns the handle its
/// sender uses, and its count of connections opened.
fn start_std_client(
    id: usize,
    url: &str,
    done: mpsc::Sender<StdLog>,
) -> (ws_proto_std::ClientHandle, Arc<AtomicUsize>) {
    let builder = ws_proto_std::Builder::new(url)
        .ping_interval(PING_INTERVAL)
        .pong_timeout(PONG_TIMEOUT)
        .handshake_timeout(Some(HANDSHAKE_TIMEOUT))
        .close_timeout(CLOSE_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT);
    let log = StdLog {
        tally: Tally::new(id),
        open: false,
        failed_attempts: 0,
        errored: false,
        opened: Arc::new(AtomicUsize::new(0)),
    };
    let opened = log.opened.clone();
    let client = ws_proto_std::Client::new(builder, log).reconnect(policy());
    let handle = client.handle();
    std::thread::Builder::new()
        .name(format!("soak-std-{id}"))
        .spawn(move || {
            let _ = done.send(client.run());
        })
        .unwrap();
    (handle, opened)
}

/// Sends numbered texts through `handle` until `stop`; returns its accounts of the sends.
fn std_sender(
    id: usize,
    handle: ws_proto_std::ClientHandle,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut rng = Rng::new(seed ^ (id as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut tally = Tally::new(id);
    let mut next = Instant::now() + rng.gap();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        tally.sent(handle.send(tally.text()));
        next = (next + rng.gap()).max(Instant::now());
    }
    tally
}

// ---- measurements ----

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(Iterator::count).unwrap_or(0)
}

fn fds() -> usize {
    count_dir("/proc/self/fd")
}

fn threads() -> usize {
    count_dir("/proc/self/task")
}

/// Memory mappings (each thread's stack is one or two).
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

/// Resident memory in KiB (`/proc/self/statm`'s resident pages, as `/proc/self/status` gives
/// them in kB, which needs no page size).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn secs() -> u64 {
    std::env::var("WS_SOAK_SECS")
        .ok()
        .map(|s| s.parse().expect("WS_SOAK_SECS is a number of seconds"))
        .unwrap_or(120)
}

// ---- the accounts ----

/// What the server read and the clients reported, checked message by message.
#[derive(Debug, Default)]
struct Accounts {
    sent: u64,
    read: u64,
    undelivered: u64,
    /// Reported undelivered and read by the server anyway.
    both: u64,
    lost: u64,
    /// Broken rules, described (the first ones).
    violations: Vec<String>,
    violation_count: usize,
}

impl Accounts {
    fn violation(&mut self, what: String) {
        self.violation_count += 1;
        if self.violations.len() < 30 {
            self.violations.push(what);
        }
    }
}

fn check_accounts(tallies: &[Tally], entries: Vec<(usize, String)>) -> Accounts {
    let mut accounts = Accounts::default();
    // Per server connection, in the order read; connections numbered in the order accepted,
    // which for one client's connections is the order it made them.
    let mut connections: BTreeMap<usize, Vec<(usize, u64)>> = BTreeMap::new();
    for (connection, text) in entries {
        match parse(&text) {
            Some(message) => connections.entry(connection).or_default().push(message),
            None => accounts.violation(format!("connection {connection}: read {text:?}")),
        }
    }
    let mut read_count: Vec<Vec<u32>> = tallies.iter().map(|t| vec![0; t.sent as usize]).collect();
    // The last number each client's connections carried, across its connections.
    let mut last: HashMap<usize, (usize, u64)> = HashMap::new();
    for (&connection, messages) in &connections {
        let owner = messages[0].0;
        let mut previous: Option<u64> = None;
        for &(id, seq) in messages {
            if id != owner {
                accounts.violation(format!(
                    "connection {connection} carried s{owner} and s{id} {seq}"
                ));
                continue;
            }
            if id >= tallies.len() || seq >= tallies[id].sent {
                accounts.violation(format!(
                    "connection {connection}: s{id} {seq} was never sent"
                ));
                continue;
            }
            if let Some(p) = previous {
                if seq <= p {
                    accounts.violation(format!(
                        "connection {connection}: s{id} {seq} after s{id} {p}"
                    ));
                }
            }
            previous = Some(seq);
            if let Some(&(before, p)) = last.get(&id) {
                if before != connection && seq <= p {
                    accounts.violation(format!(
                        "s{id} {seq} on connection {connection} after s{id} {p} on connection {before}"
                    ));
                }
            }
            last.insert(id, (connection, seq));
            read_count[id][seq as usize] += 1;
        }
    }
    for (tally, reads) in tallies.iter().zip(&read_count) {
        let id = tally.id;
        accounts.sent += tally.sent;
        let mut reported = vec![0u32; tally.sent as usize];
        for &seq in &tally.undelivered {
            match reported.get_mut(seq as usize) {
                Some(n) => *n += 1,
                None => accounts.violation(format!("s{id} {seq} reported, never sent")),
            }
        }
        for foreign in &tally.foreign {
            accounts.violation(format!("client {id} reported {foreign}"));
        }
        for seq in 0..tally.sent as usize {
            let (read, undelivered) = (reads[seq], reported[seq]);
            if read > 1 {
                accounts.violation(format!("s{id} {seq} read {read} times"));
            }
            if undelivered > 1 {
                accounts.violation(format!("s{id} {seq} reported {undelivered} times"));
            }
            accounts.read += u64::from(read > 0);
            accounts.undelivered += u64::from(undelivered > 0);
            accounts.both += u64::from(read > 0 && undelivered > 0);
            if read == 0 && undelivered == 0 {
                accounts.lost += 1;
                accounts.violation(format!("s{id} {seq} lost: never read, never reported"));
            }
        }
    }
    accounts
}

// ---- the soak ----

#[test]
#[ignore = "a soak of WS_SOAK_SECS (default 120) seconds: run with --ignored --nocapture"]
fn reconnecting_clients_lose_nothing_silently_through_random_faults() {
    let soak_secs = secs();
    let seed = seed();
    println!(
        "soak: {soak_secs} s, {TOKIO_SESSIONS} tokio sessions + {STD_CLIENTS} std clients, \
         seed {seed} (WS_SOAK_SEED={seed} replays the plans)"
    );
    let (fds_before, threads_before, rss_before, heap_before) =
        (fds(), threads(), rss_kib(), heap());

    let record = Record::default();
    let server = Server::start(record.handler());
    let calm = Arc::new(AtomicBool::new(false));
    let planned = Arc::new(Planned::default());
    let relay = Arc::new(Relay::start(server.addr(), {
        let (calm, planned) = (calm.clone(), planned.clone());
        move |n| {
            if calm.load(Ordering::SeqCst) {
                planned.kinds[KINDS.len() - 1].fetch_add(1, Ordering::SeqCst);
                return Plan {
                    up: Faults::none(),
                    down: Faults::none(),
                };
            }
            let (plan, kind, shape) = plan_for(seed, n);
            planned.kinds[kind].fetch_add(1, Ordering::SeqCst);
            planned.shapes[shape].fetch_add(1, Ordering::SeqCst);
            plan
        }
    }));
    let url = relay.url("/soak");
    let started = Instant::now();

    // The tokio sessions, on a thread of their own.
    let (stop_tokio, stop_rx) = tokio::sync::watch::channel(false);
    let (tokio_done, tokio_result) = mpsc::channel();
    {
        let url = url.clone();
        std::thread::Builder::new()
            .name("soak-tokio".into())
            .spawn(move || {
                let _ = tokio_done.send(run_tokio_sessions(url, seed, stop_rx));
            })
            .unwrap();
    }

    // The std clients and their senders.
    let stop_std = Arc::new(AtomicBool::new(false));
    let (std_done, std_result) = mpsc::channel();
    let mut handles = Vec::new();
    let mut senders = Vec::new();
    for id in TOKIO_SESSIONS..TOKIO_SESSIONS + STD_CLIENTS {
        let (handle, opened) = start_std_client(id, &url, std_done.clone());
        handles.push((handle.clone(), opened));
        let stop = stop_std.clone();
        senders.push(
            std::thread::Builder::new()
                .name(format!("soak-send-{id}"))
                .spawn(move || std_sender(id, handle, seed, stop))
                .unwrap(),
        );
    }
    drop(std_done);

    // Chaos: now and then every open connection is reset, or blackholed.
    let stop_chaos = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (relay, stop) = (relay.clone(), stop_chaos.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed ^ 0xC4A0_5C4A_05C4_A05C);
            let (mut resets, mut blackholes) = (0usize, 0usize);
            'chaos: loop {
                let until = Instant::now() + Duration::from_millis(rng.range(2000, 6000));
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        break 'chaos;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                if rng.chance(50) {
                    relay.reset_open_connections();
                    resets += 1;
                } else {
                    relay.blackhole_open_connections();
                    blackholes += 1;
                }
            }
            (resets, blackholes)
        })
    };

    // The soak itself, with a progress line every 10 s.
    let end = started + Duration::from_secs(soak_secs);
    let mut next_report = started + Duration::from_secs(10);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        if Instant::now() >= next_report && Instant::now() < end {
            next_report += Duration::from_secs(10);
            let counts = relay.counts();
            println!(
                "soak: {:>4} s: connections {}, resets {}, half-closes {}, stalls {}, \
                 server read {}, live {}, fds {}, threads {}, mappings {}, rss {} KiB, heap {} \
                 KiB",
                started.elapsed().as_secs(),
                counts.connections.load(Ordering::SeqCst),
                counts.resets.load(Ordering::SeqCst),
                counts.half_closes.load(Ordering::SeqCst),
                counts.stalls.load(Ordering::SeqCst),
                record.len(),
                record.live(),
                fds(),
                threads(),
                mappings(),
                rss_kib(),
                heap() >> 10,
            );
        }
    }

    // The end: no more chaos, the relay released and calm, sending stopped, the outboxes
    // drain, every client closes.
    stop_chaos.store(true, Ordering::SeqCst);
    let (chaos_resets, chaos_blackholes) = chaos.join().expect("the chaos thread");
    // A blackholed stream cannot resume: the relay dropped bytes from its middle, and what
    // followed would reach the peer as garbage (a frame header in a payload, a Close). So the
    // connections open now are reset, and their clients reconnect through a calm relay.
    calm.store(true, Ordering::SeqCst);
    let std_opens: Vec<usize> = handles
        .iter()
        .map(|(_, opened)| opened.load(Ordering::SeqCst))
        .collect();
    relay.reset_open_connections();
    relay.release();
    let (fds_peak, threads_peak, maps_peak, heap_peak) = (fds(), threads(), mappings(), heap());
    let _ = stop_tokio.send(true);
    stop_std.store(true, Ordering::SeqCst);
    let mut std_sent = HashMap::new();
    for (sender, id) in senders.into_iter().zip(TOKIO_SESSIONS..) {
        std_sent.insert(id, sender.join().expect("a std sender"));
    }
    // As the sessions do: opened again since the reset, open, and nothing held.
    let drained_by = Instant::now() + DRAIN_WITHIN;
    let settled = |(handle, opened): &(ws_proto_std::ClientHandle, Arc<AtomicUsize>), before| {
        handle.buffered_amount() == 0
            && opened.load(Ordering::SeqCst) > before
            && handle.connection().is_some_and(|ws| ws.is_open())
    };
    while handles
        .iter()
        .zip(&std_opens)
        .any(|(client, &before)| !settled(client, before))
        && Instant::now() < drained_by
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let std_left: Vec<usize> = handles.iter().map(|(h, _)| h.buffered_amount()).collect();
    for (handle, _) in &handles {
        handle.stop();
    }
    let mut tallies: Vec<Tally> = Vec::new();
    let mut std_tallies = BTreeMap::new();
    let std_by = Instant::now() + CLOSE_WITHIN;
    while std_tallies.len() < STD_CLIENTS {
        let left = std_by.saturating_duration_since(Instant::now());
        match std_result.recv_timeout(left) {
            Ok(log) => {
                let mut tally = log.finish();
                let sends = std_sent.remove(&tally.id).expect("a sender per client");
                tally.sent = sends.sent;
                tally.refused = sends.refused;
                tally.accepted_with_error = sends.accepted_with_error;
                tally.send_error_sample = sends.send_error_sample;
                tally.left_buffered = std_left[tally.id - TOKIO_SESSIONS];
                std_tallies.insert(tally.id, tally);
            }
            Err(_) => {
                let missing: Vec<usize> = (TOKIO_SESSIONS..TOKIO_SESSIONS + STD_CLIENTS)
                    .filter(|id| !std_tallies.contains_key(id))
                    .collect();
                panic!("std clients {missing:?} did not end within {CLOSE_WITHIN:?} of stop");
            }
        }
    }
    let tokio_within = DRAIN_WITHIN + CLOSE_WITHIN + Duration::from_secs(10);
    let (tokio_tallies, tokio_alive, tokio_shutdown) = tokio_result
        .recv_timeout(tokio_within)
        .expect("the tokio sessions did not end");
    tallies.extend(tokio_tallies);
    tallies.extend(std_tallies.into_values());
    drop(handles);
    assert!(tallies.iter().enumerate().all(|(i, t)| t.id == i));

    // Every connection ends with the relay; the server's handlers then end.
    let relay_counts = {
        let counts = relay.counts();
        (
            counts.connections.load(Ordering::SeqCst),
            counts.resets.load(Ordering::SeqCst),
            counts.half_closes.load(Ordering::SeqCst),
            counts.stalls.load(Ordering::SeqCst),
            counts.up_bytes.load(Ordering::SeqCst),
            counts.down_bytes.load(Ordering::SeqCst),
        )
    };
    let relay_drop = Instant::now();
    drop(Arc::try_unwrap(relay).expect("the relay is no longer shared"));
    let relay_drop = relay_drop.elapsed();
    let quiet_by = Instant::now() + Duration::from_secs(10);
    let mut quiet_since = Instant::now();
    while Instant::now() < quiet_by {
        if record.live() > 0 {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() > Duration::from_millis(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let server_live = record.live();
    drop(server);

    let accounts = check_accounts(&tallies, record.entries());
    drop(record);
    // The clients' accounts, summed up; then they go too, before the heap is counted.
    let summary = Summary::of(&tallies);
    drop(tallies);

    // What is left once everything is closed and dropped: the threads that served the last
    // connections end on their own, so wait (bounded) for the counts to come back.
    let settle_by = Instant::now() + Duration::from_secs(10);
    while (fds() > fds_before + FD_SLACK
        || threads() > threads_before + THREAD_SLACK
        || heap() > heap_before + HEAP_GROWTH_LIMIT)
        && Instant::now() < settle_by
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (fds_after, threads_after, rss_after, heap_after) = (fds(), threads(), rss_kib(), heap());

    let (connections, resets, half_closes, stalls, up_bytes, down_bytes) = relay_counts;
    let reconnects = summary.reconnects_tokio + summary.reconnects_std;
    println!("soak: {}", planned.show());
    println!(
        "soak: opens tokio {} std {}; closes clean {} unclean {}; errors {:?}; relay bytes up \
         {up_bytes} down {down_bytes}; relay drop {relay_drop:?}; runtime shutdown \
         {tokio_shutdown:?}; at the end of sending: fds {fds_peak}, threads {threads_peak}, \
         mappings {maps_peak}, heap {} KiB",
        summary.opens_tokio,
        summary.opens_std,
        summary.clean_closes,
        summary.unclean_closes,
        summary.errors,
        heap_peak >> 10,
    );
    println!(
        "soak: heap peak {} KiB (the record of every text read included)",
        PEAK.load(Ordering::SeqCst) >> 10
    );
    println!("soak: an error of each kind: {:#?}", summary.error_samples);
    println!(
        "soak: at the end, through a calm relay: clients whose last connection did not close \
         cleanly {:?}; outboxes not drained (client, bytes) {:?}; close errors {:?}",
        summary.last_unclean, summary.left_buffered, summary.close_errors
    );
    println!(
        "soak: sends that returned an error though their message was accepted: tokio \
         Session::send {}, std ClientHandle::send {}",
        summary.accepted_with_error_tokio, summary.accepted_with_error_std,
    );
    println!(
        "soak summary: {soak_secs} s, seed {seed}: connections {connections}, faults: resets \
         {resets}, half-closes {half_closes}, stalls {stalls} (chaos: {chaos_resets} resets, \
         {chaos_blackholes} blackholes of all open connections); reconnects {reconnects} \
         (tokio {}, std {}); messages sent {}, read by server {}, reported undelivered {} ({} \
         of them read too), lost unreported {}; fds {fds_before} -> {fds_after}; threads \
         {threads_before} -> {threads_after}; RSS {rss_before} KiB -> {rss_after} KiB; heap \
         {} KiB -> {} KiB; tokio tasks left {tokio_alive}",
        summary.reconnects_tokio,
        summary.reconnects_std,
        accounts.sent,
        accounts.read,
        accounts.undelivered,
        accounts.both,
        accounts.lost,
        heap_before >> 10,
        heap_after >> 10,
    );

    // The accounts.
    assert!(
        accounts.violations.is_empty(),
        "{} broken rules, the first: {:#?}",
        accounts.violation_count,
        accounts.violations
    );
    assert_eq!(accounts.lost, 0);
    assert_eq!(
        accounts.read + accounts.undelivered - accounts.both,
        accounts.sent
    );
    assert!(
        summary.problems.is_empty(),
        "clients: {:#?}",
        summary.problems
    );
    assert_eq!(summary.refused, 0, "sends refused for a full outbox");
    // Through the calm relay at the end, every client drained its outbox and closed cleanly.
    assert!(
        summary.last_unclean.is_empty() && summary.left_buffered.is_empty(),
        "not drained or not closed cleanly through a calm relay: {:?} {:?}",
        summary.last_unclean,
        summary.left_buffered
    );
    assert_eq!(server_live, 0, "the server still serves connections");
    // The soak did what it says: faults of every kind, and reconnections after them.
    assert!(
        connections > 2 * (TOKIO_SESSIONS + STD_CLIENTS),
        "{connections} connections"
    );
    assert!(resets > 0 && half_closes > 0 && stalls > 0);
    assert!(summary.reconnects_tokio > 0 && summary.reconnects_std > 0);
    assert!(accounts.read > 0);
    // Nothing left behind.
    assert_eq!(tokio_alive, 0, "tokio tasks left behind");
    assert!(
        tokio_shutdown < Duration::from_secs(4),
        "the runtime's shutdown waited on something: {tokio_shutdown:?}"
    );
    assert!(
        fds_after <= fds_before + FD_SLACK,
        "file descriptors: {fds_before} before, {fds_after} after {connections} connections"
    );
    assert!(
        threads_after <= threads_before + THREAD_SLACK,
        "threads: {threads_before} before, {threads_after} after"
    );
    assert!(
        heap_after <= heap_before + HEAP_GROWTH_LIMIT,
        "heap: {heap_before} bytes before, {heap_after} after {connections} connections and \
         {reconnects} reconnections"
    );
    assert!(
        rss_after < rss_before + RSS_GROWTH_LIMIT_KIB,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}

/// The clients' tallies, summed up.
#[derive(Debug, Default)]
struct Summary {
    reconnects_tokio: usize,
    reconnects_std: usize,
    opens_tokio: usize,
    opens_std: usize,
    clean_closes: usize,
    unclean_closes: usize,
    refused: u64,
    errors: BTreeMap<String, usize>,
    error_samples: BTreeMap<String, String>,
    /// Sends that returned an error for a message they had accepted, and one such error.
    accepted_with_error_tokio: String,
    accepted_with_error_std: String,
    last_unclean: Vec<usize>,
    left_buffered: Vec<(usize, usize)>,
    close_errors: Vec<(usize, String)>,
    /// What a client did that it should not have.
    problems: Vec<String>,
}

impl Summary {
    fn of(tallies: &[Tally]) -> Summary {
        let mut summary = Summary::default();
        for tally in tallies {
            let tokio = tally.id < TOKIO_SESSIONS;
            let (reconnects, opens) = if tokio {
                (&mut summary.reconnects_tokio, &mut summary.opens_tokio)
            } else {
                (&mut summary.reconnects_std, &mut summary.opens_std)
            };
            *reconnects += tally.reconnects;
            *opens += tally.opens;
            summary.clean_closes += tally.clean_closes;
            summary.unclean_closes += tally.unclean_closes;
            summary.refused += tally.refused;
            for (kind, n) in &tally.errors {
                *summary.errors.entry(kind.clone()).or_default() += n;
            }
            for (kind, sample) in &tally.error_samples {
                summary
                    .error_samples
                    .entry(kind.clone())
                    .or_insert_with(|| sample.clone());
            }
            if tally.last_clean != Some(true) {
                summary.last_unclean.push(tally.id);
            }
            if tally.left_buffered > 0 {
                summary.left_buffered.push((tally.id, tally.left_buffered));
            }
            if let Some(e) = &tally.close_error {
                summary.close_errors.push((tally.id, e.clone()));
            }
            let id = tally.id;
            if tally.hung {
                summary
                    .problems
                    .push(format!("client {id} did not end once closed"));
            }
            if tally.unexpected > 0 {
                summary.problems.push(format!("client {id} got messages"));
            }
            if tally.sent == 0 || tally.opens == 0 {
                summary
                    .problems
                    .push(format!("client {id} sent or opened nothing"));
            }
        }
        let with_error = |range: std::ops::Range<usize>| {
            let n: u64 = tallies[range.clone()]
                .iter()
                .map(|t| t.accepted_with_error)
                .sum();
            let sample = tallies[range]
                .iter()
                .find_map(|t| t.send_error_sample.as_deref())
                .unwrap_or("-");
            format!("{n} ({sample})")
        };
        summary.accepted_with_error_tokio = with_error(0..TOKIO_SESSIONS);
        summary.accepted_with_error_std = with_error(TOKIO_SESSIONS..TOKIO_SESSIONS + STD_CLIENTS);
        summary
    }
}
