//! `wsc` run as a real process against loopback servers: what it prints, where,
//! and its exit status.

// tungstenite's handshake callback type returns its large `http::Response` as the error.
#![allow(clippy::result_large_err)]

#[path = "../../tests/src/proxies.rs"]
mod proxies;
#[path = "../../ws-proto-std/tests/server/mod.rs"]
mod server;

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;

/// No run of `wsc` here takes more than a fraction of this; past it the process is killed.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The binary under test, built by cargo for this test.
fn wsc_path() -> &'static str {
    env!("CARGO_BIN_EXE_wsc")
}

#[derive(Debug)]
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `wsc` with `input` as standard input, closed after it; with `None` standard input stays
/// open until the process exits, so only the server can end the connection.
fn wsc(args: &[&str], input: Option<&[u8]>) -> Output {
    wsc_with_env(args, input, &[])
}

/// [`wsc`] with these environment variables, and no proxy variable inherited.
fn wsc_with_env(args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(wsc_path());
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(name);
    }
    let mut child = command
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let open_stdin = match input {
        Some(input) => {
            write_and_close(stdin, input.to_vec());
            None
        }
        None => Some(stdin),
    };
    let stdout = read_to_end(child.stdout.take().unwrap());
    let stderr = read_to_end(child.stderr.take().unwrap());
    let status = wait(&mut child);
    drop(open_stdin);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// On a thread, so a child that stops reading its input cannot block the test.
fn write_and_close(mut stdin: ChildStdin, input: Vec<u8>) {
    thread::spawn(move || {
        // The child may exit (a usage error) before reading anything.
        let _ = stdin.write_all(&input);
    });
}

fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    })
}

fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("wsc still running after {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{output:#?}");
}

#[test]
fn without_a_url_it_talks_to_its_own_echo_server() {
    let output = wsc(&[], Some(b"hello\nworld\n"));
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: hello\n< text: world\n");
    assert!(output.stderr.contains("echo server"), "{output:#?}");
    assert!(
        output.stderr.contains("closed: 1000 (normal closure)"),
        "{output:#?}"
    );
}

#[test]
fn binary_lines_are_sent_as_bytes_and_shown_in_hex() {
    let output = wsc(&["--binary"], Some(b"hello\r\n\x00\xff\n"));
    assert_exit(&output, 0);
    assert_eq!(
        output.stdout,
        "< binary (5 bytes): 68 65 6c 6c 6f\n< binary (2 bytes): 00 ff\n"
    );
}

#[test]
fn a_line_that_is_not_utf8_fails_in_text_mode() {
    let output = wsc(&[], Some(b"fine\nbad \xff\nnot sent\n"));
    assert_exit(&output, 1);
    assert_eq!(output.stdout, "< text: fine\n");
    assert!(
        output
            .stderr
            .ends_with("wsc: line 2 of the input is not valid UTF-8 (--binary sends bytes)\n"),
        "{output:#?}"
    );
}

#[test]
fn invalid_arguments_exit_2_with_the_usage() {
    for (args, message) in [
        (
            &["http://example.com/"][..],
            "unsupported URL scheme \"http\"",
        ),
        (&["--bogus"], "unknown option --bogus"),
        (&["-H", "no colon"], "not of the form 'Name: value'"),
        (&["--origin"], "--origin needs a value"),
        (&["--ping-interval", "0"], "positive number of seconds"),
        (&["--binary=yes"], "--binary takes no value"),
        (&["ws://a/", "ws://b/"], "one URL expected, got 2"),
        (
            &["--ping-timeout", "x"],
            "--ping-timeout needs a positive number of seconds",
        ),
        (
            &["--close-code", "1005"],
            "--close-code needs a code that may be sent",
        ),
        (
            &["--close-reason", &"r".repeat(124)],
            "at most 123 fit in a Close frame",
        ),
        (
            &["--max-message-size", "lots"],
            "--max-message-size needs a number of bytes",
        ),
    ] {
        let output = wsc(args, Some(b""));
        assert_exit(&output, 2);
        assert!(output.stderr.contains(message), "{args:?}: {output:#?}");
        assert!(
            output.stderr.contains("Usage: wsc"),
            "{args:?}: {output:#?}"
        );
        assert_eq!(output.stdout, "");
    }
}

#[test]
fn help_and_version() {
    let help = wsc(&["--help"], Some(b""));
    assert_exit(&help, 0);
    assert!(help.stdout.contains("Usage: wsc [OPTIONS] [URL]"));
    assert!(help.stdout.contains("--ping-interval SECONDS"));
    let version = wsc(&["-V"], Some(b""));
    assert_exit(&version, 0);
    assert_eq!(
        version.stdout,
        format!("wsc {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_rejected_handshake_exits_4_with_the_status() {
    let (listener, url) = server::listen();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(server::IO_TIMEOUT)).unwrap();
        let mut request = Vec::new();
        let mut byte = [0];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            request.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
    });
    let output = wsc(&[&url], None);
    server.join().unwrap();
    assert_exit(&output, 4);
    assert_eq!(
        output.stderr, "wsc: handshake rejected by the server: 403 Forbidden\n",
        "{output:#?}"
    );
}

#[test]
fn a_refused_tcp_connection_exits_3() {
    // A port just freed: nothing listens there.
    let (listener, url) = server::listen();
    drop(listener);
    let output = wsc(&[&url], None);
    assert_exit(&output, 3);
    assert!(
        output.stderr.starts_with("wsc: TCP connect to 127.0.0.1:"),
        "{output:#?}"
    );
}

#[test]
fn headers_origin_and_subprotocols_reach_the_server() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut seen = None;
        let ws = server::accept_hdr(&l, |req: &Request, mut res: Response| {
            let h = |name| req.headers()[name].to_str().unwrap().to_owned();
            seen = Some((
                h("cookie"),
                h("x-one"),
                h("origin"),
                h("sec-websocket-protocol"),
            ));
            res.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static("chat.v1"),
            );
            Ok(res)
        });
        server::echo(ws);
        seen.unwrap()
    });
    let output = wsc(
        &[
            "-H",
            "Cookie: token=abc",
            "--header=X-One:1",
            "--origin",
            "https://example.com",
            "--subprotocol",
            "chat.v2",
            "--subprotocol=chat.v1",
            &format!("{url}/chat"),
        ],
        Some(b"hi\n"),
    );
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: hi\n");
    assert!(
        output.stderr.contains("wsc: subprotocol: chat.v1\n"),
        "{output:#?}"
    );
    let (cookie, one, origin, protocols) = server.join().unwrap();
    assert_eq!(cookie, "token=abc");
    assert_eq!(one, "1");
    assert_eq!(origin, "https://example.com");
    assert_eq!(protocols, "chat.v2, chat.v1");
}

#[test]
fn a_close_by_the_server_with_an_error_code_exits_1() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        ws.send(tungstenite::Message::text("bye soon")).unwrap();
        ws.close(Some(CloseFrame {
            code: CloseCode::Error,
            reason: "oops".into(),
        }))
        .unwrap();
        // Until the client's answer completes the closing handshake.
        while ws.read().is_ok() {}
    });
    let output = wsc(&[&url], None);
    server.join().unwrap();
    assert_exit(&output, 1);
    assert_eq!(output.stdout, "< text: bye soon\n");
    assert!(
        output
            .stderr
            .ends_with("wsc: closed: 1011 (internal error), reason \"oops\"\n"),
        "{output:#?}"
    );
}

#[test]
fn a_connection_dropped_without_a_close_exits_5() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| drop(server::accept(&l)));
    let output = wsc(&[&url], None);
    server.join().unwrap();
    assert_exit(&output, 5);
    assert!(
        output
            .stderr
            .ends_with("wsc: connection closed without a close handshake\n"),
        "{output:#?}"
    );
}

#[test]
fn keepalive_pings_are_sent_at_the_interval() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        let started = Instant::now();
        loop {
            if let tungstenite::Message::Ping(_) = ws.read().unwrap() {
                break;
            }
        }
        let waited = started.elapsed();
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        waited
    });
    let output = wsc(&["--ping-interval", "0.2", &url], None);
    let waited = server.join().unwrap();
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_exit(&output, 0);
    assert!(
        output
            .stderr
            .ends_with("wsc: closed: 1005 (no status received)\n"),
        "{output:#?}"
    );
}

/// A TLS server configuration for 127.0.0.1 and its certificate in PEM.
fn tls_server() -> (Arc<ServerConfig>, String) {
    use base64::Engine as _;
    let (config, cert) = server::tls_server();
    let body = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let lines: Vec<_> = body
        .as_bytes()
        .chunks(64)
        .map(String::from_utf8_lossy)
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    (config, pem)
}

#[test]
fn wss_with_a_root_certificate_from_a_pem_file() {
    let (config, pem) = tls_server();
    let (listener, url) = server::listen();
    let wss = url.replace("ws://", "wss://");
    let ca = std::env::temp_dir().join(format!(
        "wsc-test-{}-{}.pem",
        std::process::id(),
        listener.local_addr().unwrap().port()
    ));
    std::fs::write(&ca, pem).unwrap();
    let server = server::spawn(listener, move |l| {
        let ws = tungstenite::accept(server::accept_tls_stream(&l, &config)).unwrap();
        server::echo(ws)
    });
    let output = wsc(&["--ca", ca.to_str().unwrap(), &wss], Some(b"secret\n"));
    std::fs::remove_file(&ca).unwrap();
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: secret\n");
    let close = server.join().unwrap().unwrap();
    assert_eq!(close.code, CloseCode::Normal);
}

#[test]
fn wss_without_the_root_certificate_fails_verification() {
    let (config, _) = tls_server();
    let (listener, url) = server::listen();
    let server = server::spawn(listener, move |l| {
        // The client aborts the TLS handshake.
        assert!(tungstenite::accept(server::accept_tls_stream(&l, &config)).is_err());
    });
    let output = wsc(&[&url.replace("ws://", "wss://")], None);
    server.join().unwrap();
    assert_exit(&output, 3);
    assert!(
        output
            .stderr
            .starts_with("wsc: TLS handshake with \"127.0.0.1\" failed:"),
        "{output:#?}"
    );
    assert!(output.stderr.contains("UnknownIssuer"), "{output:#?}");
}

#[test]
fn a_ca_file_without_certificates_exits_1() {
    let ca = std::env::temp_dir().join(format!("wsc-test-{}-empty.pem", std::process::id()));
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let output = wsc(&["--ca", ca.to_str().unwrap(), "wss://127.0.0.1:1/"], None);
    std::fs::remove_file(&ca).unwrap();
    assert_exit(&output, 1);
    assert_eq!(
        output.stderr,
        format!("wsc: --ca {}: no CERTIFICATE section found\n", ca.display())
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_closes_cleanly_with_1000() {
    let mut child = Command::new(wsc_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input stays open: only the interrupt can end the session.
    let _stdin = child.stdin.take().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // The interrupt must come once the connection is open: wait for that status line.
    let mut seen = String::new();
    for _ in 0..5 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        seen.push_str(&line);
        if line.starts_with("wsc: connected to ws://127.0.0.1:") {
            break;
        }
    }
    assert!(seen.contains("wsc: connected to"), "{seen:?}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = wait(&mut child);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("wsc: interrupted, closing"), "{rest}");
    assert!(rest.contains("closed: 1000 (normal closure)"), "{rest}");
}

#[test]
fn proxy_from_the_flag_or_the_environment_and_no_proxy() {
    if !proxies::available("tinyproxy") {
        return;
    }
    let proxy = proxies::tinyproxy(Some(("alice", "s3cret")));
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        for _ in 0..3 {
            server::echo(server::accept(&l));
        }
    });
    // Nothing listens on this port: a proxy there fails the connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bogus = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let good = format!("http://alice:s3cret@127.0.0.1:{}", proxy.port);

    // The environment's proxy is used...
    let output = wsc_with_env(&[&url], Some(b"hi\n"), &[("http_proxy", &bogus)]);
    assert_exit(&output, 3);
    assert!(
        output.stderr.contains("TCP connect to 127.0.0.1"),
        "{output:#?}"
    );
    let output = wsc_with_env(&[&url], Some(b"env\n"), &[("HTTP_PROXY", &good)]);
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: env\n");
    // ...except for the hosts no_proxy lists...
    let output = wsc_with_env(
        &[&url],
        Some(b"direct\n"),
        &[("http_proxy", &bogus), ("no_proxy", "localhost,127.0.0.1")],
    );
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: direct\n");
    // ...and --proxy wins over it.
    let output = wsc_with_env(
        &["--proxy", &good, &url],
        Some(b"flag\n"),
        &[("http_proxy", &bogus)],
    );
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: flag\n");
    server.join().unwrap();
    // Without the credentials the proxy's refusal is the error.
    let without = format!("http://127.0.0.1:{}", proxy.port);
    let output = wsc(&["--proxy", &without, "ws://127.0.0.1:9/"], Some(b""));
    assert_exit(&output, 3);
    assert!(
        output.stderr.contains("407 Proxy Authentication Required"),
        "{output:#?}"
    );
}

#[test]
fn jsonl_prints_one_object_per_event_with_the_time() {
    let output = wsc(&["--jsonl"], Some(b"hello \"you\"\n"));
    assert_exit(&output, 0);
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{output:#?}");
    let (time, rest) = lines[0]
        .strip_prefix("{\"time\":")
        .and_then(|l| l.split_once(','))
        .expect("starts with the time");
    let time: f64 = time.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - time).abs() < 60.0, "{time} against {now}");
    assert_eq!(rest, "\"event\":\"text\",\"data\":\"hello \\\"you\\\"\"}");
    assert!(
        lines[1].ends_with(",\"event\":\"close\",\"code\":1000,\"reason\":\"\"}"),
        "{output:#?}"
    );
}

#[test]
fn base64_lines_in_and_out_with_binary() {
    let output = wsc(&["--binary", "--base64"], Some(b"aGVsbG8=\nAP8=\n"));
    assert_exit(&output, 0);
    assert_eq!(
        output.stdout,
        "< binary (5 bytes) base64: aGVsbG8=\n< binary (2 bytes) base64: AP8=\n"
    );
    let output = wsc(&["--binary", "--base64"], Some(b"not base64!\n"));
    assert_exit(&output, 1);
    assert!(
        output.stderr.contains("line 1 of the input is not base64"),
        "{output:#?}"
    );
}

#[test]
fn one_message_closes_after_the_first_with_the_close_code_and_reason() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        for text in ["first", "second"] {
            ws.send(tungstenite::Message::text(text)).unwrap();
        }
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Close(frame)) => {
                    let frame = frame.unwrap();
                    while ws.read().is_ok() {}
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
    let output = wsc(
        &[
            "-1",
            "--close-code",
            "4000",
            "--close-reason",
            "enough",
            &url,
        ],
        None,
    );
    assert_eq!(server.join().unwrap(), (4000, "enough".to_owned()));
    // The second message may arrive before the server's answer to the close.
    assert!(output.stdout.starts_with("< text: first\n"), "{output:#?}");
    // A close with a code other than 1000 is not a success.
    assert_exit(&output, 1);
    assert!(
        output
            .stderr
            .ends_with("wsc: closed: 4000, reason \"enough\"\n"),
        "{output:#?}"
    );
}

#[test]
fn no_close_keeps_the_connection_open_after_the_input_ends() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        // The input ("hi") arrives, then nothing: no Close from the client.
        let got = ws.read().unwrap();
        let quiet = ws
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(300)));
        quiet.unwrap();
        let after = ws.read();
        ws.get_ref()
            .set_read_timeout(Some(server::IO_TIMEOUT))
            .unwrap();
        ws.send(tungstenite::Message::text("late")).unwrap();
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
        (got, after.is_err())
    });
    let output = wsc(&["-n", &url], Some(b"hi\n"));
    let (got, timed_out) = server.join().unwrap();
    assert_eq!(got, tungstenite::Message::text("hi"));
    assert!(timed_out, "the client closed at the end of its input");
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: late\n");
}

#[test]
fn ping_rtts_are_printed_and_a_silent_server_times_out_with_exit_5() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        // Answers two keepalive pings, then stops reading: its pongs stop.
        let mut pings = 0;
        while pings < 2 {
            if let tungstenite::Message::Ping(_) = ws.read().unwrap() {
                pings += 1;
            }
        }
        // Flush the second pong, then go quiet until the client gives up.
        let _ = ws.flush();
        thread::sleep(Duration::from_secs(2));
    });
    let output = wsc(
        &[
            "--ping-interval",
            "0.1",
            "--ping-timeout",
            "0.3",
            "--print-ping-rtts",
            &url,
        ],
        None,
    );
    server.join().unwrap();
    assert_exit(&output, 5);
    let rtts = output
        .stderr
        .lines()
        .filter(|l| l.starts_with("wsc: ping rtt ") && l.ends_with(" ms"))
        .count();
    assert!(rtts >= 1, "{output:#?}");
    assert!(
        output
            .stderr
            .contains("no answer to a keepalive ping in time"),
        "{output:#?}"
    );
}

#[test]
fn a_message_over_max_message_size_closes_with_1009_and_exits_5() {
    let (listener, url) = server::listen();
    let server = server::spawn(listener, |l| {
        let mut ws = server::accept(&l);
        ws.send(tungstenite::Message::binary(vec![0u8; 100]))
            .unwrap();
        let mut code = None;
        while let Ok(message) = ws.read() {
            if let tungstenite::Message::Close(Some(frame)) = message {
                code = Some(u16::from(frame.code));
            }
        }
        code
    });
    let output = wsc(&["--max-message-size", "64", &url], None);
    assert_eq!(server.join().unwrap(), Some(1009));
    assert_exit(&output, 5);
}

#[test]
fn a_connect_timeout_exits_3() {
    // A proxy that takes the connection and never answers: its answer counts against the
    // connect timeout.
    let (listener, _) = server::listen();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let silent = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        thread::sleep(Duration::from_secs(1));
        drop(stream);
    });
    let start = Instant::now();
    let output = wsc(
        &[
            "--proxy",
            &proxy,
            "--connect-timeout",
            "0.2",
            "ws://127.0.0.1:9/",
        ],
        None,
    );
    assert!(start.elapsed() < Duration::from_secs(1), "{output:#?}");
    silent.join().unwrap();
    assert_exit(&output, 3);
    assert!(output.stderr.contains("timed out"), "{output:#?}");
}

#[test]
fn insecure_accepts_an_unknown_certificate_and_says_so() {
    let (config, _) = tls_server();
    let (listener, url) = server::listen();
    let server = server::spawn(listener, move |l| {
        server::echo(tungstenite::accept(server::accept_tls_stream(&l, &config)).unwrap());
    });
    let output = wsc(
        &["-k", &url.replace("ws://", "wss://")],
        Some(b"trusted anyway\n"),
    );
    server.join().unwrap();
    assert_exit(&output, 0);
    assert_eq!(output.stdout, "< text: trusted anyway\n");
    assert!(
        output
            .stderr
            .starts_with("wsc: WARNING: --insecure: the server's certificate is not checked"),
        "{output:#?}"
    );
}
