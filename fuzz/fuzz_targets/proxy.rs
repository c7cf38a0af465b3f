//! The proxies' answer parsers (HTTP `CONNECT` and SOCKS5) fed arbitrary answers. Invariants:
//! whole or read `read_limit()` bytes at a time, the outcome is the same; a reader that keeps
//! to the limit never reads a byte past the answer (the tunnel's first bytes stay unread);
//! what is held stays under the caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::{Config, Proxy, ProxyError, ProxyHandshake};

/// The HTTP answer's caps here: head, then body.
const MAX_HEAD: usize = 512;
const MAX_BODY: usize = 64;
/// The longest SOCKS5 exchange: a method reply, an authentication reply, a CONNECT reply
/// with a 255-byte bound name.
const MAX_SOCKS5: usize = 2 + 2 + 4 + 1 + 255 + 2;

fn handshake(flags: u8) -> ProxyHandshake {
    let url = match (flags & 1, flags & 2) {
        (0, 0) => "http://127.0.0.1:3128",
        (0, _) => "http://user:pw@127.0.0.1:3128",
        (_, 0) => "socks5h://127.0.0.1:1080",
        _ => "socks5h://user:pw@127.0.0.1:1080",
    };
    let host = if flags & 4 == 0 { "example.com" } else { "::1" };
    let mut config = Config::default();
    config
        .max_response_size(MAX_HEAD)
        .max_rejection_body(MAX_BODY);
    let mut handshake =
        ProxyHandshake::new(&Proxy::new(url).unwrap(), host, 443, None, &config).unwrap();
    assert!(handshake.poll_transmit().is_some(), "the first request");
    handshake
}

fuzz_target!(|data: &[u8]| {
    let (flags, answer) = data.split_first().map_or((0, data), |(f, rest)| (*f, rest));
    let whole: Result<usize, ProxyError> = handshake(flags).handle_input(answer);

    // An adapter's way: never more than the limit per read.
    let mut machine = handshake(flags);
    let mut read = 0;
    let driven = loop {
        while machine.poll_transmit().is_some() {}
        if machine.is_open() {
            break Ok(read);
        }
        let limit = machine.read_limit();
        assert!(limit > 0, "a live handshake always wants more");
        let n = limit.min(answer.len() - read);
        if n == 0 {
            break Err(machine.handle_eof());
        }
        let used = match machine.handle_input(&answer[read..read + n]) {
            Ok(used) => used,
            Err(e) => break Err(e),
        };
        assert_eq!(
            used, n,
            "within the limit, every byte belongs to the answer"
        );
        read += n;
    };
    let cap = if flags & 1 == 0 {
        MAX_HEAD + MAX_BODY
    } else {
        MAX_SOCKS5
    };
    assert!(read <= cap, "{read} bytes read past the cap {cap}");
    match (&whole, &driven) {
        (Ok(used), Ok(read)) => assert_eq!(used, read, "the tunnel's bytes are left alone"),
        // Cut short by the end of the input, the whole feed is still waiting.
        (Ok(used), Err(ProxyError::Closed { .. } | ProxyError::Rejected { .. })) => {
            assert_eq!(*used, answer.len())
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("whole {a:?} but driven {b:?}"),
    }
});
