//! `wsc`: a WebSocket client for the command line, on the blocking adapter.
//!
//! ```text
//! cargo install ws-proto-cli        # or, in this repository: cargo run -p ws-proto-cli --
//! echo hello | wsc
//! wsc -H 'Cookie: token=abc' wss://echo.example/chat
//! wsc --help
//! ```
//!
//! Without a URL it talks to an echo server of its own (tungstenite, on loopback), so the first
//! command works offline. One thread sends the lines of standard input while the main thread
//! reads and prints events: the `WebSocket` handle is shared between them.
//!
//! The end of input (Ctrl-D) and Ctrl-C both close the connection cleanly with 1000; a second
//! Ctrl-C, while the server has not answered yet, ends the process at once. SIGINT is caught
//! with the `ctrlc` crate: the standard library has no signal API.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, BufRead, IsTerminal, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ws_proto_std::rustls::pki_types::pem::PemObject;
use ws_proto_std::rustls::pki_types::CertificateDer;
use ws_proto_std::ws_proto::{Request, SendError};
use ws_proto_std::{Builder, CloseCode, CloseFrame, Error, Event, Message, MessageType, WebSocket};

const HELP: &str = "\
wsc: a WebSocket client for the command line

Usage: wsc [OPTIONS] [URL]

Connects to URL (ws:// or wss://), sends each line of standard input as a message and prints
what arrives on standard output:

  < text: hello
  < binary (5 bytes): 68 65 6c 6c 6f
  < ping (0 bytes)
  < pong (4 bytes): 01 02 03 04

Status (connected, subprotocol, closed with code and reason) and errors go to standard error.
The end of input (Ctrl-D) and Ctrl-C close the connection with code 1000 (a second Ctrl-C
exits at once). Without a URL, wsc starts an echo server on 127.0.0.1 and talks to it.

Options:
  -H, --header 'NAME: VALUE'  add a handshake header (repeatable)
      --origin ORIGIN         set the Origin header
      --subprotocol NAME      offer a subprotocol (repeatable, in order of preference)
      --ping-interval SECONDS send a keepalive ping this often; the connection is dropped
                              when the server then stays silent for --ping-timeout
      --ping-timeout SECONDS  how long the server may stay silent after a keepalive ping
                              (default 10)
      --print-ping-rtts       print the round trip of each ping answered to standard error
      --connect-timeout SECONDS
                              give up connecting (DNS, TCP, TLS, proxy) after this long
                              (default 10)
      --max-message-size BYTES
                              the largest message accepted (default 64 MiB); a larger one
                              closes the connection with 1009
      --ca FILE               trust the PEM certificates in FILE for wss://, besides the
                              webpki roots
  -k, --insecure              do not check the server's certificate at all (a test server
                              only: anyone on the path can then read and change the
                              connection); a warning is printed
      --proxy URL             connect through a proxy: http://[USER:PASS@]HOST:PORT (CONNECT),
                              socks5://... (names resolved here) or socks5h://... (by the
                              proxy); without it, https_proxy / http_proxy / all_proxy and
                              no_proxy are honoured, as curl does
      --binary                send lines as binary messages (default: text)
      --base64                print binary messages as base64 rather than hex; with --binary,
                              each input line is base64 too, decoded before it is sent
      --jsonl                 print one JSON object per event on standard output, with the
                              time: {\"time\":1764600000.123,\"event\":\"text\",\"data\":\"hi\"}
                              (binary data as base64; events text, binary, ping, pong, rtt,
                              close)
  -1, --one-message           close (with --close-code) after the first message arrives
  -n, --no-close              do not close at the end of input: wait for the server to close
                              (or Ctrl-C)
      --close-code CODE       the close code wsc sends (default 1000)
      --close-reason TEXT     the close reason wsc sends (default none)
  -h, --help                  print this help
  -V, --version               print the version

Exit status: 0 after a clean close with code 1000 (or none), 1 after any other close (or
unusable input), 2 for invalid arguments, 3 when the server could not be reached (DNS, TCP,
TLS, the proxy, the connect timeout), 4 when it refused the WebSocket handshake (a status
other than 101, an invalid answer, a redirect not followed), 5 when the connection failed once
open (a protocol violation, a timeout, the transport).
";

const USAGE_HINT: &str = "Usage: wsc [OPTIONS] [URL]\nTry 'wsc --help' for more information.";

#[derive(Debug, Default)]
struct Options {
    url: Option<String>,
    headers: Vec<(String, String)>,
    origin: Option<String>,
    subprotocols: Vec<String>,
    ping_interval: Option<Duration>,
    ca: Option<PathBuf>,
    proxy: Option<String>,
    binary: bool,
    insecure: bool,
    ping_timeout: Option<Duration>,
    print_rtts: bool,
    connect_timeout: Option<Duration>,
    max_message_size: Option<usize>,
    base64: bool,
    jsonl: bool,
    one_message: bool,
    no_close: bool,
    close_code: Option<CloseCode>,
    close_reason: String,
}

impl Options {
    /// The code and reason wsc closes with.
    fn close(&self) -> (CloseCode, &str) {
        (
            self.close_code.unwrap_or(CloseCode::NORMAL),
            &self.close_reason,
        )
    }
}

#[derive(Debug)]
enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("wsc {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => return usage_error(&message),
    };
    let roots = match options.ca.as_deref().map(load_certificates).transpose() {
        Ok(roots) => roots.unwrap_or_default(),
        Err(message) => return failure(Failure::closed(message)),
    };
    let url = match options.url.clone() {
        Some(url) => url,
        None => match start_echo_server() {
            Ok(url) => {
                eprintln!("wsc: no URL given, talking to a local echo server at {url}");
                url
            }
            Err(e) => {
                return failure(Failure::closed(format!(
                    "starting the local echo server failed: {e}"
                )))
            }
        },
    };
    // Every part of the request is checked here, so a typo is a usage error, not a failure.
    let request = match build_request(&url, &options) {
        Ok(request) => request,
        Err(message) => return usage_error(&message),
    };
    match run(&url, request, roots, &options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => failure(f),
    }
}

/// Why wsc failed, and its exit status (see the help).
#[derive(Debug)]
struct Failure {
    status: u8,
    message: String,
}

impl Failure {
    /// A close other than a normal one, or input that could not be used: status 1.
    fn closed(message: String) -> Self {
        Failure { status: 1, message }
    }

    /// A connection that failed: 3 if the server was not reached, 4 if it refused the
    /// WebSocket handshake, 5 if the connection failed once open.
    fn of(error: &Error) -> Self {
        let status = match error {
            Error::Dns { .. }
            | Error::Connect { .. }
            | Error::ConnectTimeout { .. }
            | Error::Proxy { .. }
            | Error::Tls { .. } => 3,
            Error::Rejected(_) | Error::Redirect(_) | Error::Handshake(_) => 4,
            Error::Request(_) => 2,
            _ => 5,
        };
        Failure {
            status,
            message: error.to_string(),
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("wsc: {message}\n{USAGE_HINT}");
    ExitCode::from(2)
}

fn failure(failure: Failure) -> ExitCode {
    eprintln!("wsc: {}", failure.message);
    ExitCode::from(failure.status)
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut args = args.into_iter().map(|arg| {
        arg.into_string()
            .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
    });
    let mut options = Options::default();
    let mut urls = Vec::new();
    while let Some(arg) = args.next() {
        let arg = arg?;
        // Values are accepted as the next argument, after `=` (`--origin=x`) or, for `-H`,
        // attached (`-H'Cookie: a=b'`), as in most Unix tools.
        let (name, mut attached) = match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => (name, Some(value.to_owned())),
            _ if arg.starts_with("-H") && arg.len() > 2 => ("-H", Some(arg[2..].to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || match attached.take() {
            Some(value) => Ok(value),
            None => args
                .next()
                .unwrap_or_else(|| Err(format!("{name} needs a value"))),
        };
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--binary" => options.binary = true,
            "-H" | "--header" => options.headers.push(parse_header(&value()?)?),
            "--origin" => options.origin = Some(value()?),
            "--subprotocol" => options.subprotocols.push(value()?),
            "--ping-interval" => options.ping_interval = Some(parse_seconds(name, &value()?)?),
            "--ping-timeout" => options.ping_timeout = Some(parse_seconds(name, &value()?)?),
            "--connect-timeout" => options.connect_timeout = Some(parse_seconds(name, &value()?)?),
            "--print-ping-rtts" => options.print_rtts = true,
            "--max-message-size" => {
                let bytes = value()?;
                options.max_message_size = Some(bytes.parse().map_err(|_| {
                    format!("--max-message-size needs a number of bytes, not {bytes:?}")
                })?)
            }
            "--base64" => options.base64 = true,
            "-k" | "--insecure" => options.insecure = true,
            "--jsonl" => options.jsonl = true,
            "-1" | "--one-message" => options.one_message = true,
            "-n" | "--no-close" => options.no_close = true,
            "--close-code" => {
                let code = value()?;
                let parsed = code
                    .parse::<u16>()
                    .ok()
                    .map(CloseCode::new)
                    .filter(|c| c.is_sendable());
                options.close_code = Some(parsed.ok_or_else(|| {
                    format!("--close-code needs a code that may be sent (1000, 3000-4999, ...), not {code:?}")
                })?)
            }
            "--close-reason" => {
                let reason = value()?;
                if reason.len() > ws_proto_std::ws_proto::MAX_REASON_LEN {
                    return Err(format!(
                        "--close-reason is {} bytes; at most 123 fit in a Close frame",
                        reason.len()
                    ));
                }
                options.close_reason = reason
            }
            "--ca" => options.ca = Some(value()?.into()),
            "--proxy" => options.proxy = Some(value()?),
            "--" => {
                for arg in args.by_ref() {
                    urls.push(arg?);
                }
            }
            _ if name.starts_with('-') => return Err(format!("unknown option {name}")),
            _ => urls.push(arg.clone()),
        }
        if attached.is_some() {
            return Err(format!("{name} takes no value"));
        }
    }
    if urls.len() > 1 {
        return Err(format!("one URL expected, got {}", urls.len()));
    }
    options.url = urls.pop();
    Ok(Command::Run(Box::new(options)))
}

fn parse_header(header: &str) -> Result<(String, String), String> {
    match header.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "header {header:?} is not of the form 'Name: value'"
        )),
    }
}

fn parse_seconds(name: &str, seconds: &str) -> Result<Duration, String> {
    seconds
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{name} needs a positive number of seconds, not {seconds:?}"))
}

fn build_request(url: &str, options: &Options) -> Result<Request, String> {
    let mut request = Request::new(url).map_err(|e| e.to_string())?;
    for (name, value) in &options.headers {
        request = request
            .with_header(name, value)
            .map_err(|e| e.to_string())?;
    }
    if let Some(origin) = &options.origin {
        request = request.with_origin(origin).map_err(|e| e.to_string())?;
    }
    for protocol in &options.subprotocols {
        request = request
            .with_subprotocol(protocol)
            .map_err(|e| e.to_string())?;
    }
    Ok(request)
}

fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &dyn std::fmt::Display| format!("--ca {}: {e}", path.display());
    let pem = std::fs::read(path).map_err(|e| fail(&e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"no CERTIFICATE section found"));
    }
    Ok(certs)
}

/// Starts an echo server for one connection on loopback, and returns its URL.
fn start_echo_server() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    std::thread::spawn(move || {
        // Any failure here reaches the user as the client's own error.
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        // tungstenite answers pings and the Close itself; the read after the Close writes the
        // answer and ends the loop.
        while let Ok(message) = ws.read() {
            if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                return;
            }
        }
    });
    Ok(url)
}

/// What the input thread and the main thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Why the input thread gave up, if it did: the session then fails even if it closes cleanly.
    input_error: OnceLock<String>,
}

fn run(
    url: &str,
    request: Request,
    roots: Vec<CertificateDer<'static>>,
    options: &Options,
) -> Result<(), Failure> {
    let message_type = if options.binary {
        MessageType::Binary
    } else {
        MessageType::Text
    };
    let mut builder = Builder::from_request(request).default_message_type(message_type);
    if let Some(interval) = options.ping_interval {
        builder = builder.ping_interval(interval);
    }
    if let Some(timeout) = options.ping_timeout {
        builder = builder.pong_timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(bytes) = options.max_message_size {
        builder = builder.max_message_size(bytes).max_frame_size(bytes);
    }
    for root in roots {
        builder = builder.root_certificate(root);
    }
    if options.insecure {
        eprintln!(
            "wsc: WARNING: --insecure: the server's certificate is not checked; anyone on the \
             path can read and change this connection"
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder = match &options.proxy {
        Some(proxy) => builder.proxy(proxy),
        // A command-line client follows the environment, as curl does.
        None => builder.proxy_from_env(),
    };
    let (ws, _) = builder.connect().map_err(|e| Failure::of(&e))?;
    let (code, reason) = options.close();
    {
        let ws = ws.clone();
        let reason = reason.to_owned();
        let interrupted = std::sync::atomic::AtomicBool::new(false);
        // Installed once per process, before "connected" is printed (a script may interrupt as
        // soon as it sees that); a failure only means Ctrl-C keeps its default effect.
        let _ = ctrlc::set_handler(move || {
            if interrupted.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("wsc: interrupted, closing");
            // Refused only when a close is already under way.
            let _ = ws.close(code, &reason);
        });
    }
    eprintln!("wsc: connected to {url}");
    if let Some(protocol) = ws.subprotocol() {
        eprintln!("wsc: subprotocol: {protocol}");
    }
    if io::stdin().is_terminal() {
        let eof = if cfg!(windows) {
            "Ctrl-Z then Enter"
        } else {
            "Ctrl-D"
        };
        eprintln!("wsc: each line typed is sent; {eof} closes the connection");
    }

    let shared = Arc::new(Shared::default());
    {
        let (ws, shared) = (ws.clone(), shared.clone());
        let (base64, close) = (options.base64 && options.binary, !options.no_close);
        let reason = reason.to_owned();
        // Not joined: it may be blocked reading the terminal when the server ends the
        // connection, and the process exits regardless.
        std::thread::spawn(move || {
            send_input(&ws, &shared, base64, close.then_some((code, reason)))
        });
    }
    let closed = print_events(&ws, options).map_err(|e| match e {
        Ended::Failed(error) => Failure::of(&error),
        Ended::Output(message) => Failure::closed(message),
    })?;
    finish(closed, &shared)
}

/// Sends standard input line by line, then closes with `close` at its end (unless it is `None`:
/// `--no-close`), or with 1001 if the input could not be used.
fn send_input(ws: &WebSocket, shared: &Shared, base64: bool, close: Option<(CloseCode, String)>) {
    let (code, reason) = match send_lines(ws, base64) {
        Ok(()) => match close {
            Some(close) => close,
            None => return,
        },
        Err(message) => {
            let _ = shared.input_error.set(message);
            (CloseCode::GOING_AWAY, String::new())
        }
    };
    // Refused only when the connection is already closing; the main thread reports its end.
    let _ = ws.close(code, &reason);
}

fn send_lines(ws: &WebSocket, base64: bool) -> Result<(), String> {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = stdin
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading standard input failed: {e}"))?;
        if read == 0 {
            break;
        }
        let data = line.strip_suffix(b"\n").unwrap_or(&line);
        let data = data.strip_suffix(b"\r").unwrap_or(data);
        let decoded;
        let data = if base64 {
            decoded = BASE64
                .decode(data)
                .map_err(|e| format!("line {number} of the input is not base64: {e}"))?;
            &decoded[..]
        } else {
            data
        };
        // Waits while the send buffer is full, so input is read only as fast as it goes out.
        match ws.send_default_type(data) {
            Ok(()) => {}
            Err(Error::Send(SendError::InvalidUtf8)) => {
                return Err(format!(
                    "line {number} of the input is not valid UTF-8 (--binary sends bytes)"
                ))
            }
            // The connection is ending: nothing more can be sent, and the main thread reports
            // how it ended.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// How printing events ended, short of a clean close.
enum Ended {
    /// The connection failed.
    Failed(Error),
    /// Standard output could not be written.
    Output(String),
}

/// Prints every event until the end of the connection, and returns the clean close.
fn print_events(ws: &WebSocket, options: &Options) -> Result<CloseFrame, Ended> {
    let mut out = io::stdout().lock();
    let mut messages = 0;
    loop {
        let event = ws.read_event().map_err(Ended::Failed)?;
        let rtt = match &event {
            Event::Pong(pong) if options.print_rtts => pong.rtt,
            _ => None,
        };
        if matches!(event, Event::Message(_)) {
            messages += 1;
        }
        let closed = match &event {
            Event::Close(frame) => Some(frame.clone()),
            _ => None,
        };
        let printed = if options.jsonl {
            print_json(&mut out, &event, rtt)
        } else {
            print_text(&mut out, &event, options.base64, rtt)
        };
        printed.map_err(|e| Ended::Output(format!("writing to standard output failed: {e}")))?;
        if let Some(frame) = closed {
            return Ok(frame);
        }
        if options.one_message && messages == 1 {
            let (code, reason) = options.close();
            // Refused only when a close is already under way.
            let _ = ws.close(code, reason);
        }
    }
}

/// One event as a line of text: `< text: hello`; the round trip of a ping to standard error.
fn print_text(
    out: &mut impl Write,
    event: &Event,
    base64: bool,
    rtt: Option<Duration>,
) -> io::Result<()> {
    let data = |data: &[u8]| {
        if base64 {
            format!("({} bytes) base64: {}", data.len(), BASE64.encode(data))
        } else {
            bytes(data)
        }
    };
    match event {
        Event::Message(Message::Text(text)) => writeln!(out, "< text: {text}")?,
        Event::Message(Message::Binary(payload)) => writeln!(out, "< binary {}", data(payload))?,
        Event::Ping(payload) => writeln!(out, "< ping {}", bytes(payload))?,
        Event::Pong(pong) => writeln!(out, "< pong {}", bytes(&pong.payload))?,
        // `connect` returned after `Open`; the close is reported by `finish`.
        _ => {}
    }
    if let Some(rtt) = rtt {
        eprintln!("wsc: ping rtt {:.3} ms", rtt.as_secs_f64() * 1e3);
    }
    Ok(())
}

/// One event as a JSON object on a line of its own, with the time in seconds since the epoch.
fn print_json(out: &mut impl Write, event: &Event, rtt: Option<Duration>) -> io::Result<()> {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let line = |fields: String| format!("{{\"time\":{time:.6},{fields}}}");
    let data = |kind: &str, data: &[u8]| {
        line(format!(
            "\"event\":\"{kind}\",\"data\":\"{}\"",
            BASE64.encode(data)
        ))
    };
    let text = match event {
        Event::Message(Message::Text(text)) => {
            line(format!("\"event\":\"text\",\"data\":{}", json_string(text)))
        }
        Event::Message(Message::Binary(payload)) => data("binary", payload),
        Event::Ping(payload) => data("ping", payload),
        Event::Pong(pong) => data("pong", &pong.payload),
        Event::Close(frame) => line(format!(
            "\"event\":\"close\",\"code\":{},\"reason\":{}",
            frame.code.as_u16(),
            json_string(&frame.reason)
        )),
        _ => return Ok(()),
    };
    writeln!(out, "{text}")?;
    if let Some(rtt) = rtt {
        let ms = rtt.as_secs_f64() * 1e3;
        writeln!(out, "{}", line(format!("\"event\":\"rtt\",\"ms\":{ms:.3}")))?;
    }
    Ok(())
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(5 bytes): 68 65 6c 6c 6f`.
fn bytes(data: &[u8]) -> String {
    let mut text = match data.len() {
        1 => "(1 byte)".to_owned(),
        n => format!("({n} bytes)"),
    };
    for (i, byte) in data.iter().enumerate() {
        let sep = if i == 0 { ": " } else { " " };
        let _ = write!(text, "{sep}{byte:02x}");
    }
    text
}

/// Reports the end of the connection: success only for a clean close with 1000 (or no code)
/// after all input was sent.
fn finish(closed: CloseFrame, shared: &Shared) -> Result<(), Failure> {
    let mut status = format!("closed: {}", closed.code);
    if !closed.reason.is_empty() {
        let _ = write!(status, ", reason {:?}", closed.reason);
    }
    if let Some(error) = shared.input_error.get() {
        eprintln!("wsc: {status}");
        return Err(Failure::closed(error.clone()));
    }
    let normal = [CloseCode::NORMAL, CloseCode::NO_STATUS].contains(&closed.code);
    if !normal {
        return Err(Failure::closed(status));
    }
    eprintln!("wsc: {status}");
    Ok(())
}
