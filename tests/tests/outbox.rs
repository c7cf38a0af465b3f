//! The reconnecting session's outbox against a real server process that hangs, is killed and is
//! started again (issue 16, item 3): every accepted message is read by a server exactly once,
//! in order, or reported back as undelivered; none is lost silently, none is refused for want
//! of a connection.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use ws_proto_tests::python::{python, script};
use ws_proto_tokio::{Builder, CloseCode, Message, ReconnectPolicy, SessionEvent};

/// `record_server.py` on a port: what it printed is collected by a thread.
struct Recorder {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Recorder {
    fn start(port: u16) -> Recorder {
        let mut child = Command::new(python())
            .arg(script("record_server.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python server");
        let stdout = child.stdout.take().unwrap();
        let (listening_tx, listening) = mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = lines.clone();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            assert_eq!(lines.next().as_deref(), Some("listening"));
            listening_tx.send(()).unwrap();
            for line in lines {
                collected.lock().unwrap().push(line);
            }
        });
        listening
            .recv_timeout(Duration::from_secs(30))
            .expect("the server did not start");
        Recorder {
            child,
            lines,
            reader,
        }
    }

    /// Freezes the process (SIGSTOP): it neither reads nor answers pings, as a hung server.
    fn freeze(&self) {
        let status = Command::new("kill")
            .args(["-STOP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (a bounded time) until the server printed `count` lines: a clean close shows the
    /// server's WebSocket layer read every message, not that its handler has printed them.
    fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.lines.lock().unwrap().len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process (SIGKILL) and returns what it had received.
    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader thread ends with the pipe, having collected everything.
        self.reader.join().unwrap();
        let lines = self.lines.lock().unwrap();
        lines.clone()
    }
}

/// The scenario, by message number: the first server freezes after it, is killed after it, a
/// second starts after it, and the client stops after the last.
const FREEZE_AT: usize = 20;
const KILL_AT: usize = 28;
const RESTART_AT: usize = 40;
const TOTAL: usize = 55;

fn numbers(lines: &[String]) -> Vec<usize> {
    lines.iter().map(|l| l.parse().unwrap()).collect()
}

/// The accounts of both servers and the client agree, message by message.
fn assert_accounts(first_lines: &[String], undelivered: &[Message], second_lines: &[String]) {
    let a = numbers(first_lines);
    let u: Vec<usize> = undelivered
        .iter()
        .map(|m| m.to_text().unwrap().parse().unwrap())
        .collect();
    let b = numbers(second_lines);
    // The first server read a prefix, in order, including what was queued before the first
    // connection; the frozen server read nothing sent after the freeze.
    assert_eq!(a, (0..a.len()).collect::<Vec<_>>(), "first server");
    assert!(
        (3..=FREEZE_AT).contains(&a.len()),
        "first server read {a:?}"
    );
    // Reported back: everything the first connection carried past what it acknowledged, in
    // order, up to the kill. (It may repeat the last messages the server read before the
    // freeze, whose acknowledgement never came.)
    let first_unacked = u.first().copied().unwrap_or(KILL_AT);
    assert!(first_unacked <= a.len(), "a gap between {a:?} and {u:?}");
    assert_eq!(
        u,
        (first_unacked..KILL_AT).collect::<Vec<_>>(),
        "undelivered"
    );
    assert!(u.len() >= KILL_AT - FREEZE_AT, "{u:?}");
    // Everything sent during the outage and after went to the second server, once, in order,
    // ahead of later sends; the clean close settled the rest.
    assert_eq!(b, (KILL_AT..TOTAL).collect::<Vec<_>>(), "second server");
}

#[tokio::test]
async fn a_killed_and_restarted_server_loses_nothing_silently() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut first = Some(Recorder::start(port));
    let mut second = None;
    let mut session = Builder::new(format!("ws://127.0.0.1:{port}/"))
        .session(ReconnectPolicy::fixed(Duration::from_millis(50)))
        .unwrap();
    let text = |n: usize| Message::text(n.to_string());
    // Accepted before the session was ever polled: there is no connection yet.
    let mut next = 0;
    while next < 3 {
        session.try_feed(text(next)).unwrap();
        next += 1;
    }
    let mut first_lines = Vec::new();
    let mut undelivered = Vec::new();
    let mut log = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            _ = tick.tick(), if next < TOTAL => {
                // Never refused, connected or not.
                session.try_feed(text(next)).unwrap();
                next += 1;
                match next {
                    FREEZE_AT => first.as_ref().unwrap().freeze(),
                    KILL_AT => first_lines = first.take().unwrap().kill(),
                    RESTART_AT => second = Some(Recorder::start(port)),
                    TOTAL => session.close(CloseCode::NORMAL, "done").await.unwrap(),
                    _ => {}
                }
            }
            event = session.next_event() => match event {
                None => break,
                Some(SessionEvent::Undelivered(messages)) => {
                    log.push("undelivered");
                    undelivered.extend(messages);
                }
                Some(SessionEvent::Connected) => log.push("connected"),
                Some(SessionEvent::Open(_)) => log.push("open"),
                Some(SessionEvent::Closed { clean: true, .. }) => log.push("closed clean"),
                Some(SessionEvent::Closed { clean: false, .. }) => log.push("closed"),
                Some(_) => {}
            },
        }
        assert!(log.len() < 100, "runaway session: {log:?}");
    }
    let second = second.unwrap();
    second.wait_for(TOTAL - KILL_AT);
    let second_lines = second.kill();

    assert_accounts(&first_lines, &undelivered, &second_lines);
    assert_eq!(
        log,
        [
            "connected",
            "open",
            "closed",
            "undelivered",
            "connected",
            "open",
            "closed clean"
        ]
    );
    assert_eq!(session.buffered_amount(), 0);
}

/// What the std event client reports, for the same scenario.
#[derive(Default)]
struct Log {
    events: Vec<&'static str>,
    undelivered: Vec<Message>,
}

impl ws_proto_std::Handler for Log {
    fn on_open(&mut self, _: &ws_proto_std::ClientHandle, _: &ws_proto_std::Response) {
        self.events.push("open");
    }
    fn on_close(&mut self, _: CloseCode, _: &str) {
        self.events.push("closed");
    }
    fn on_undelivered(&mut self, messages: Vec<Message>) {
        self.events.push("undelivered");
        self.undelivered.extend(messages);
    }
}

/// The same with the blocking event client (`ClientHandle::send` from another thread).
#[test]
fn the_std_client_loses_nothing_silently_either() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut first = Some(Recorder::start(port));
    let client = ws_proto_std::Client::new(
        ws_proto_std::Builder::new(format!("ws://127.0.0.1:{port}/")),
        Log::default(),
    )
    .reconnect(ReconnectPolicy::fixed(Duration::from_millis(50)));
    let handle = client.handle();
    let text = |n: usize| Message::text(n.to_string());
    // Accepted before `run` was even called.
    for n in 0..3 {
        handle.send(text(n)).unwrap();
    }
    let runner = std::thread::spawn(move || client.run());
    let mut first_lines = Vec::new();
    let mut second = None;
    for n in 3..TOTAL {
        std::thread::sleep(Duration::from_millis(20));
        handle.send(text(n)).unwrap();
        match n + 1 {
            FREEZE_AT => first.as_ref().unwrap().freeze(),
            KILL_AT => first_lines = first.take().unwrap().kill(),
            RESTART_AT => second = Some(Recorder::start(port)),
            _ => {}
        }
    }
    // Give the last sends their acknowledgements, then stop (a clean close).
    let second = second.unwrap();
    second.wait_for(TOTAL - KILL_AT);
    handle.stop();
    let log = runner.join().unwrap();
    let second_lines = second.kill();

    assert_accounts(&first_lines, &log.undelivered, &second_lines);
    let mut events = log.events;
    // Refused attempts during the outage report nothing before `on_connect`.
    events.dedup();
    assert_eq!(events, ["open", "closed", "undelivered", "open", "closed"]);
    assert_eq!(handle.buffered_amount(), 0);
}
