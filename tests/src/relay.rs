//! A fault-injecting TCP relay for the reliability tests: it sits between a client and a real
//! server on loopback and, per connection and per direction, adds latency, cuts segments down
//! (to one byte, say), limits bandwidth, resets the connection after a number of bytes (inside
//! the handshake, a frame header, a payload), half-closes, stalls (a blackhole: bytes are read
//! and dropped, as on a dead path) or stops reading (the peer's writes back up, as with a server
//! that stops reading). Faults are scripted by a function of the connection's number.
//!
//! Threads, blocking sockets and bounded waits: every pump ends when either side closes, when
//! the relay is dropped (it shuts every socket down), or after a reset.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// What happens to the bytes of one direction of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Each piece is held this long before it is forwarded.
    pub latency: Duration,
    /// Pieces of at most this many bytes, each written on its own (1: one byte at a time).
    pub segment: Option<usize>,
    /// At most this many bytes a second.
    pub bytes_per_sec: Option<u64>,
    /// After this many bytes, both sides are reset (RST): the rest is never delivered.
    pub reset_after: Option<u64>,
    /// After this many bytes, the receiver's side is half-closed (FIN): no more bytes reach it,
    /// though the other direction goes on.
    pub half_close_after: Option<u64>,
    /// After this many bytes, what arrives is read and dropped (a blackhole), until
    /// [`Relay::release`].
    pub blackhole_after: Option<u64>,
    /// After this many bytes, nothing more is read (the sender's writes back up), until
    /// [`Relay::release`].
    pub stop_reading_after: Option<u64>,
}

impl Faults {
    /// No fault.
    pub fn none() -> Self {
        Faults::default()
    }
}

/// The faults of one connection: client to server and server to client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plan {
    /// What the client sends.
    pub up: Faults,
    /// What the server sends.
    pub down: Faults,
}

/// What the relay did, for the tests' accounts.
#[derive(Debug, Default)]
pub struct Counts {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Resets injected.
    pub resets: AtomicUsize,
    /// Half-closes injected.
    pub half_closes: AtomicUsize,
    /// Stalls (blackholes or stopped reads) that began.
    pub stalls: AtomicUsize,
    /// Bytes forwarded, client to server.
    pub up_bytes: AtomicU64,
    /// Bytes forwarded, server to client.
    pub down_bytes: AtomicU64,
}

/// The relay: listens on a loopback port and forwards each connection to `upstream`.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: SocketAddr,
    plan: Box<dyn Fn(usize) -> Plan + Send + Sync>,
    closing: AtomicBool,
    /// The connections so far, for faults injected on demand.
    pairs: Mutex<Vec<Weak<Pair>>>,
    /// Every socket, so dropping the relay ends every pump. Weak: a reset's RST goes out when
    /// the pumps, which own the sockets, let go of them.
    sockets: Mutex<Vec<Weak<TcpStream>>>,
    pumps: Mutex<Vec<JoinHandle<()>>>,
    counts: Counts,
}

impl Relay {
    /// A relay to `upstream` whose connection number `n` (from 0) gets `plan(n)`.
    pub fn start(
        upstream: SocketAddr,
        plan: impl Fn(usize) -> Plan + Send + Sync + 'static,
    ) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let shared = Arc::new(Shared {
            upstream,
            plan: Box::new(plan),
            closing: AtomicBool::new(false),
            pairs: Mutex::new(Vec::new()),
            sockets: Mutex::new(Vec::new()),
            pumps: Mutex::new(Vec::new()),
            counts: Counts::default(),
        });
        let accepting = shared.clone();
        let acceptor = std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                if accepting.closing.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                accepting.prune();
                accepting.counts.connections.fetch_add(1, Ordering::SeqCst);
                let plan = (accepting.plan)(n);
                if let Err(e) = connect(&accepting, client, plan) {
                    eprintln!("relay: connection {n}: {e}");
                }
            }
        });
        Relay {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The relay's address, to connect to in place of the server's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR/` plus `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Ends the stalls of the connections open now: stopped reads go on, and a connection that
    /// dropped bytes (a blackhole) is reset, since what follows would make no sense to its
    /// receiver. Later connections get their plans afresh.
    pub fn release(&self) {
        for pair in self.open_pairs() {
            pair.released.store(true, Ordering::SeqCst);
            pair.blackholed.store(false, Ordering::SeqCst);
            if pair.dropped.load(Ordering::SeqCst) {
                pair.reset(&self.shared.counts);
            }
        }
    }

    /// From now on, every connection open now drops what either side sends (a dead path, a
    /// peer that vanished), until [`release`](Self::release). Later connections are spared.
    pub fn blackhole_open_connections(&self) {
        for pair in self.open_pairs() {
            pair.blackholed.store(true, Ordering::SeqCst);
            self.shared.counts.stalls.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Resets every connection open now.
    pub fn reset_open_connections(&self) {
        for pair in self.open_pairs() {
            pair.reset(&self.shared.counts);
        }
    }

    /// The connections open now.
    fn open_pairs(&self) -> Vec<Arc<Pair>> {
        let pairs = self.shared.pairs.lock().unwrap();
        pairs.iter().filter_map(Weak::upgrade).collect()
    }

    /// What the relay did so far.
    pub fn counts(&self) -> &Counts {
        &self.shared.counts
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        for socket in self.shared.sockets.lock().unwrap().drain(..) {
            if let Some(socket) = socket.upgrade() {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        // Wakes the acceptor, which then sees `closing`.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let pumps: Vec<_> = self.shared.pumps.lock().unwrap().drain(..).collect();
        for pump in pumps {
            let _ = pump.join();
        }
    }
}

fn connect(shared: &Arc<Shared>, client: TcpStream, plan: Plan) -> std::io::Result<()> {
    let server = TcpStream::connect(shared.upstream)?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
        // Every blocking read wakes up now and then, to see a release, a reset or the end.
        s.set_read_timeout(Some(Duration::from_millis(20)))?;
    }
    let pair = Arc::new(Pair {
        client: Arc::new(client),
        server: Arc::new(server),
        reset: AtomicBool::new(false),
        blackholed: AtomicBool::new(false),
        released: AtomicBool::new(false),
        dropped: AtomicBool::new(false),
    });
    shared.pairs.lock().unwrap().push(Arc::downgrade(&pair));
    shared
        .sockets
        .lock()
        .unwrap()
        .extend([Arc::downgrade(&pair.client), Arc::downgrade(&pair.server)]);
    let pumps = [true, false].map(|up| {
        let (shared, pair) = (shared.clone(), pair.clone());
        std::thread::spawn(move || {
            let (src, dst) = if up {
                (pair.client.clone(), pair.server.clone())
            } else {
                (pair.server.clone(), pair.client.clone())
            };
            let faults = if up { plan.up } else { plan.down };
            pump(&shared, &pair, &src, &dst, faults, up);
        })
    });
    shared.pumps.lock().unwrap().extend(pumps);
    Ok(())
}

/// Both sockets of a connection, shared by its two pumps.
struct Pair {
    client: Arc<TcpStream>,
    server: Arc<TcpStream>,
    reset: AtomicBool,
    /// Everything either side sends is dropped ([`Relay::blackhole_open_connections`]).
    blackholed: AtomicBool,
    /// [`Relay::release`] ended this connection's stalls.
    released: AtomicBool,
    /// Bytes were dropped: the stream cannot resume.
    dropped: AtomicBool,
}

impl Pair {
    /// Resets both sides: with SO_LINGER 0, closing sends RST rather than FIN. The sockets close
    /// when both pumps, which see `reset` within a read timeout, have let go of them.
    fn reset(&self, counts: &Counts) {
        if !self.reset.swap(true, Ordering::SeqCst) {
            counts.resets.fetch_add(1, Ordering::SeqCst);
        }
        for s in [&self.client, &self.server] {
            let _ = socket2::SockRef::from(&**s).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Forwards one direction under `faults` until either side ends.
fn pump(shared: &Shared, pair: &Pair, src: &TcpStream, dst: &TcpStream, faults: Faults, up: bool) {
    let (mut src, mut dst) = (src, dst);
    let counts = &shared.counts;
    let forwarded = if up {
        &counts.up_bytes
    } else {
        &counts.down_bytes
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut sent: u64 = 0;
    let mut stalled = false;
    let limit = |at: Option<u64>| at.unwrap_or(u64::MAX);
    loop {
        if shared.closing.load(Ordering::SeqCst) || pair.reset.load(Ordering::SeqCst) {
            return;
        }
        let released = pair.released.load(Ordering::SeqCst);
        if sent >= limit(faults.stop_reading_after) && !released {
            if !stalled {
                stalled = true;
                counts.stalls.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        // Never read past the byte where a fault begins, so it falls exactly there.
        let next_fault = [
            faults.reset_after,
            faults.half_close_after,
            faults.blackhole_after,
            faults.stop_reading_after,
        ]
        .into_iter()
        .flatten()
        .filter(|&at| at > sent)
        .min()
        .unwrap_or(u64::MAX);
        // A bandwidth limit forwards pieces of 20 ms each, so a reset or the end is seen soon.
        let per_tick = faults
            .bytes_per_sec
            .map_or(usize::MAX, |rate| (rate / 50) as usize);
        let want = buf
            .len()
            .min(per_tick)
            .min(faults.segment.unwrap_or(usize::MAX))
            .min(usize::try_from(next_fault - sent).unwrap_or(usize::MAX))
            .max(1);
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => {
                // The sender's FIN goes on to the receiver.
                let _ = dst.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => {
                // A reset from one side reaches the other as a reset.
                pair.reset(counts);
                return;
            }
        };
        if (sent >= limit(faults.blackhole_after) && !released)
            || pair.blackholed.load(Ordering::SeqCst)
        {
            if !stalled {
                stalled = true;
                counts.stalls.fetch_add(1, Ordering::SeqCst);
            }
            pair.dropped.store(true, Ordering::SeqCst);
            sent += n as u64;
            continue;
        }
        if sent >= limit(faults.half_close_after) {
            counts.half_closes.fetch_add(1, Ordering::SeqCst);
            let _ = dst.shutdown(Shutdown::Write);
            // The rest of this direction is read and dropped: the receiver is gone.
            drain(shared, pair, src);
            return;
        }
        if !faults.latency.is_zero() {
            std::thread::sleep(faults.latency);
        }
        for piece in buf[..n].chunks(faults.segment.unwrap_or(n).max(1)) {
            if let Some(rate) = faults.bytes_per_sec {
                std::thread::sleep(Duration::from_secs_f64(piece.len() as f64 / rate as f64));
            }
            if dst.write_all(piece).is_err() {
                pair.reset(counts);
                return;
            }
        }
        sent += n as u64;
        forwarded.fetch_add(n as u64, Ordering::SeqCst);
        if sent >= limit(faults.reset_after) {
            pair.reset(counts);
            return;
        }
    }
}

/// Reads and drops until the connection ends.
fn drain(shared: &Shared, pair: &Pair, mut src: &TcpStream) {
    let mut buf = [0u8; 4096];
    while !shared.closing.load(Ordering::SeqCst) && !pair.reset.load(Ordering::SeqCst) {
        match src.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

impl Shared {
    /// Joins the pumps that ended and forgets closed connections, so a long run holds only
    /// what is open.
    fn prune(&self) {
        let mut pumps = self.pumps.lock().unwrap();
        let (done, running): (Vec<_>, Vec<_>) = pumps.drain(..).partition(JoinHandle::is_finished);
        *pumps = running;
        drop(pumps);
        for pump in done {
            let _ = pump.join();
        }
        self.pairs.lock().unwrap().retain(|p| p.strong_count() > 0);
        self.sockets
            .lock()
            .unwrap()
            .retain(|s| s.strong_count() > 0);
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("upstream", &self.upstream)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}
