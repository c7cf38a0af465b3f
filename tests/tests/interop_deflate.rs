//! permessage-deflate against an independent implementation: Python's `websockets` server,
//! with every server-side parameter and the client's own offers, through the blocking adapter.
//!
//! The server runs from a virtual environment under `target/` that this test creates on first
//! use (`python3 -m venv` and a pinned `pip install websockets`), or from the interpreter in
//! `WS_INTEROP_PYTHON` if set (CI sets it).

use ws_proto::{Config, DeflateConfig, Message};
use ws_proto_std::Builder;
use ws_proto_tests::python::Server;

/// The Python server with the server-side parameters given.
fn start_server(
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_bits: Option<u8>,
    client_bits: Option<u8>,
) -> Server {
    let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
    let bits = |b: Option<u8>| b.map_or("-".to_owned(), |b| b.to_string());
    let args = [
        flag(server_no_context_takeover),
        flag(client_no_context_takeover),
        bits(server_bits),
        bits(client_bits),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start("deflate_echo_server.py", &args)
}

/// Messages that exercise compression and context takeover: each is sent twice, so with
/// takeover the second refers to the first.
fn messages() -> Vec<Message> {
    let text = "permessage-deflate interop, ".repeat(400);
    let mut binary: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    binary.extend_from_slice(&[0; 30_000]);
    let one = [
        Message::Text(text.as_str().into()),
        Message::Binary(binary.into()),
        Message::Text("short".into()),
        Message::Binary(vec![1, 2, 3].into()),
        Message::Text("".into()),
    ];
    one.iter().chain(one.iter()).cloned().collect()
}

/// Connects with `offer`, echoes every message, and returns the negotiated extension header.
fn round_trip(server: &Server, offer: DeflateConfig) -> Params {
    let mut config = Config::default();
    config.permessage_deflate(Some(offer));
    let (ws, response) = Builder::new(server.url()).config(config).connect().unwrap();
    for message in messages() {
        match &message {
            Message::Text(t) => ws.send_text(t).unwrap(),
            Message::Binary(b) => ws.send_binary(b).unwrap(),
        }
        assert_eq!(ws.read().unwrap(), message);
    }
    let extensions = response.extensions();
    assert_eq!(extensions.len(), 1, "{extensions:?}");
    assert_eq!(extensions[0].name, "permessage-deflate");
    ws.close(ws_proto::CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Err(ws_proto_std::Error::Closed { .. })));
    extensions[0].params.clone()
}

/// Extension parameters as negotiated: name and optional value.
type Params = Vec<(String, Option<String>)>;

/// A change to the client's default offer.
type Tweak = fn(&mut DeflateConfig);

/// One server configuration and the parameters its answer must carry.
struct ServerCase {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<u8>,
    expected: Params,
}

fn param(name: &str, value: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), value.map(str::to_owned))
}

#[test]
fn every_server_parameter() {
    let case = |snct, cnct, smwb, cmwb, expected| ServerCase {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: smwb,
        client_max_window_bits: cmwb,
        expected,
    };
    let cases = [
        case(false, false, None, None, vec![]),
        case(
            true,
            false,
            None,
            None,
            vec![param("server_no_context_takeover", None)],
        ),
        case(
            false,
            true,
            None,
            None,
            vec![param("client_no_context_takeover", None)],
        ),
        case(
            false,
            false,
            Some(10),
            None,
            vec![param("server_max_window_bits", Some("10"))],
        ),
        case(
            false,
            false,
            None,
            Some(9),
            vec![param("client_max_window_bits", Some("9"))],
        ),
        // The smallest window websockets supports (8 is covered by the core's unit tests).
        case(
            true,
            true,
            Some(9),
            Some(9),
            vec![
                param("server_no_context_takeover", None),
                param("client_no_context_takeover", None),
                param("server_max_window_bits", Some("9")),
                param("client_max_window_bits", Some("9")),
            ],
        ),
    ];
    for mut c in cases {
        let server = start_server(
            c.server_no_context_takeover,
            c.client_no_context_takeover,
            c.server_max_window_bits,
            c.client_max_window_bits,
        );
        let mut params = round_trip(&server, DeflateConfig::default());
        params.sort();
        c.expected.sort();
        assert_eq!(params, c.expected);
    }
}

#[test]
fn every_client_offer() {
    let server = start_server(false, false, None, None);
    let offers: [(Tweak, Params); 4] = [
        (
            |d| {
                d.server_no_context_takeover(true);
            },
            vec![param("server_no_context_takeover", None)],
        ),
        (
            |d| {
                d.client_no_context_takeover(true);
            },
            vec![param("client_no_context_takeover", None)],
        ),
        (
            |d| {
                d.server_max_window_bits(Some(11));
            },
            vec![param("server_max_window_bits", Some("11"))],
        ),
        (
            |d| {
                d.client_max_window_bits(Some(12));
            },
            vec![param("client_max_window_bits", Some("12"))],
        ),
    ];
    for (tweak, expected) in offers {
        let mut offer = DeflateConfig::default();
        tweak(&mut offer);
        let mut params = round_trip(&server, offer);
        params.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(params, expected);
    }
}
