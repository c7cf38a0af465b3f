//! Python's `websockets`, an independent server for interop tests: a virtual environment under
//! `target/` created on first use (`python3 -m venv` and a pinned `pip install websockets`), or
//! the interpreter in `WS_INTEROP_PYTHON` if set (CI sets it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

const WEBSOCKETS: &str = "websockets==17.4";

/// A Python with `websockets` importable.
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(python) = std::env::var_os("WS_INTEROP_PYTHON") {
            return PathBuf::from(python);
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv");
        let python = venv.join("bin/python");
        let ready = |p: &PathBuf| {
            Command::new(p)
                .args(["-c", "import websockets"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ready(&python) {
            let status = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "python3 -m venv {venv:?} failed"
            );
            let status = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    WEBSOCKETS,
                ])
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "pip install {WEBSOCKETS} failed"
            );
        }
        python
    })
}

/// A script of `tests/python/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// A server script of `tests/python/` that prints its port on its first line, killed when
/// dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Starts `script` with `args` and waits for its port.
    pub fn start(script_name: &str, args: &[&str]) -> Server {
        let mut child = Command::new(python())
            .arg(script(script_name))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script_name}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("read the port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script_name} printed {line:?}"));
        Server { child, port }
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
