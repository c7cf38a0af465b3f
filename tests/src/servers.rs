//! Loopback WebSocket servers from another library (tungstenite), for the reliability tests:
//! one thread per connection, each running a handler, with a record of the text messages every
//! connection read.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tungstenite::{Message, WebSocket};

/// What a connection's handler gets: its socket and its number (from 0).
pub type Handler = dyn Fn(WebSocket<TcpStream>, usize) + Send + Sync;

/// A tungstenite server on a loopback port; it stops accepting when dropped (connections in
/// progress end with their clients).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    closing: Arc<AtomicBool>,
}

impl Server {
    /// Serves every connection with `handler` on its own thread.
    pub fn start(handler: impl Fn(WebSocket<TcpStream>, usize) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the server");
        let addr = listener.local_addr().expect("the server's address");
        let closing = Arc::new(AtomicBool::new(false));
        let stop = closing.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    // A handshake cut by a fault is that connection's end.
                    if let Ok(ws) = tungstenite::accept(stream) {
                        handler(ws, n);
                    }
                });
            }
        });
        Server { addr, closing }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// The text messages each connection read, in order: `(connection, text)`.
#[derive(Debug, Default, Clone)]
pub struct Record {
    entries: Arc<Mutex<Vec<(usize, String)>>>,
    /// Connections whose handler is still running.
    live: Arc<AtomicUsize>,
}

impl Record {
    /// Everything read so far.
    pub fn entries(&self) -> Vec<(usize, String)> {
        self.entries.lock().unwrap().clone()
    }

    /// How many texts were read.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Connections still being served.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `count` texts were read.
    pub fn wait_for(&self, count: usize, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while self.len() < count {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// A handler that reads until the connection ends, recording every text (pings are
    /// answered by tungstenite as it reads).
    pub fn handler(&self) -> impl Fn(WebSocket<TcpStream>, usize) + Send + Sync + 'static {
        let record = self.clone();
        move |mut ws, n| {
            record.live.fetch_add(1, Ordering::SeqCst);
            loop {
                match ws.read() {
                    Ok(Message::Text(text)) => {
                        record
                            .entries
                            .lock()
                            .unwrap()
                            .push((n, text.as_str().to_owned()));
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            record.live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
