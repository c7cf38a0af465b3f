//! Timing and its tables, shared by the binaries that compare clients: wall and CPU time per
//! run, medians over interleaved rounds, ratios paired per round.

use std::time::{Duration, Instant};

/// What one run of a scenario took, in seconds: wall time, and the CPU time of the client's
/// thread (user and kernel). CPU time leaves out waiting (for the server, for a wake-up), which
/// on a noisy VM swings wall times by tens of percent, so it compares the work clients do.
#[derive(Clone, Copy, Debug)]
pub struct Times {
    pub wall: f64,
    pub cpu: f64,
    /// The peak heap of the client's thread in bytes, from before connecting until the
    /// connection (and the runtime) is dropped: streamed scenarios only.
    pub peak_heap: Option<usize>,
}

/// Starts timing; `stop` must run on the same thread.
pub struct Stopwatch {
    wall: Instant,
    clock: libc::clockid_t,
    cpu: Duration,
}

impl Stopwatch {
    /// CPU time of the calling thread. The async clients run on current-thread runtimes and
    /// ws-proto-std blocks, so each client's work is all on the thread that runs it.
    pub fn start() -> Self {
        Self::on(libc::CLOCK_THREAD_CPUTIME_ID)
    }

    /// CPU time of the whole process: for clients on many threads (the server runs in another
    /// process).
    pub fn start_process() -> Self {
        Self::on(libc::CLOCK_PROCESS_CPUTIME_ID)
    }

    fn on(clock: libc::clockid_t) -> Self {
        Stopwatch {
            wall: Instant::now(),
            clock,
            cpu: cpu_time(clock),
        }
    }

    pub fn stop(self) -> Times {
        Times {
            wall: self.wall.elapsed().as_secs_f64(),
            cpu: (cpu_time(self.clock) - self.cpu).as_secs_f64(),
            peak_heap: None,
        }
    }
}

fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and both CPU-time clocks exist on every Linux
    // kernel.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// That a run received every payload byte it should have.
pub fn check(got: usize, want: usize) -> crate::peers::Res<()> {
    if got != want {
        return Err(format!("received {got} payload bytes, expected {want}").into());
    }
    Ok(())
}

/// A number from the environment, or `default`.
pub fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether `name` is selected by `var`, a comma-separated list of substrings, or of exact
/// names after `=` (all when unset).
pub fn selected(var: &str, name: &str) -> bool {
    match std::env::var(var) {
        Ok(list) if !list.is_empty() => {
            list.split(',')
                .map(str::trim)
                .any(|p| match p.strip_prefix('=') {
                    Some(exact) => name == exact,
                    None => name.contains(p),
                })
        }
        _ => true,
    }
}

/// The `q` quantile (0.5: the median) of `v`, interpolating between neighbours.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = q * (v.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
}

pub fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

pub fn human_rate(bytes_per_s: f64) -> String {
    if bytes_per_s >= 1e9 {
        format!("{:.2} GB/s", bytes_per_s / 1e9)
    } else {
        format!("{:.0} MB/s", bytes_per_s / 1e6)
    }
}

/// A duration per message, in the unit that suits it.
pub fn human_time(secs: f64) -> String {
    if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} us", secs * 1e6)
    } else {
        format!("{:.0} ns", secs * 1e9)
    }
}

/// Prints one scenario's table: a row per client, `times` being its runs in round order (`None`
/// where a run failed), so that runs with the same index shared a round. `floors` are the
/// clients doing the least the scenario needs (a column of paired ratios each); "best other
/// crate" is the fastest client that is neither ws-proto nor a floor (a floor's ratio to it shows
/// what no client can go below).
pub fn print_table(
    title: &str,
    n: usize,
    payload_bytes: usize,
    rows: &[(&str, &[Option<Times>])],
    floors: &[&str],
) {
    println!();
    println!("### {title}");
    println!();
    print!("| client | median | msg/s | payload | spread | vs best other crate |");
    for f in floors {
        print!(" vs {f} |");
    }
    println!(" CPU | CPU vs best other crate |");
    println!(
        "|---|---:|---:|---:|---:|---:|{}---:|---:|",
        "---:|".repeat(floors.len())
    );
    let of = |times: &[Option<Times>], pick: fn(&Times) -> f64| -> Vec<f64> {
        times.iter().flatten().map(pick).collect()
    };
    let medians = |pick: fn(&Times) -> f64| -> Vec<Option<f64>> {
        rows.iter()
            .map(|(_, times)| {
                Some(of(times, pick))
                    .filter(|t| !t.is_empty())
                    .map(|t| median(&t))
            })
            .collect()
    };
    let wall = medians(|t| t.wall);
    let cpu = medians(|t| t.cpu);
    let is_other = |c: &str| !c.starts_with("ws-proto") && !floors.contains(&c);
    // The best of the other crates: ws-proto's rows below 1.00x are faster than all of them.
    let best = |medians: &[Option<f64>]| {
        rows.iter()
            .zip(medians)
            .filter(|((c, _), _)| is_other(c))
            .filter_map(|(_, m)| *m)
            .fold(f64::INFINITY, f64::min)
    };
    let (best_wall, best_cpu) = (best(&wall), best(&cpu));
    // A floor's ratio too: a target below it asks what no client can do.
    let vs_best = |m: f64, best: f64| {
        if best.is_infinite() {
            "-".to_owned()
        } else {
            format!("{:.2}x", m / best)
        }
    };
    // Both runs of a round share the machine's state at that moment, so their ratio cancels
    // much of the drift between rounds.
    let paired = |times: &[Option<Times>], c: &str, floor: &str| {
        let Some((_, floor_times)) = rows.iter().find(|(f, _)| *f == floor && *f != c) else {
            return "-".to_owned();
        };
        let ratios: Vec<f64> = times
            .iter()
            .zip(floor_times.iter())
            .filter_map(|(a, b)| Some(a.as_ref()?.wall / b.as_ref()?.wall))
            .collect();
        if ratios.is_empty() {
            return "-".to_owned();
        }
        format!(
            "{:.2}x ({:.2}-{:.2})",
            median(&ratios),
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.75)
        )
    };
    for (ri, (c, times)) in rows.iter().enumerate() {
        let (Some(m), Some(cm)) = (wall[ri], cpu[ri]) else {
            println!("| {c} | failed |{}", " |".repeat(6 + floors.len()));
            continue;
        };
        let t = of(times, |t| t.wall);
        let spread = (t.iter().cloned().fold(f64::MIN, f64::max)
            - t.iter().cloned().fold(f64::MAX, f64::min))
            / m;
        print!(
            "| {c} | {:.1} ms | {:.2} M | {} | {:.0}% | {} |",
            m * 1e3,
            n as f64 / m / 1e6,
            human_rate(payload_bytes as f64 / m),
            spread * 100.0,
            vs_best(m, best_wall),
        );
        for f in floors {
            print!(" {} |", paired(times, c, f));
        }
        println!(
            " {} | {} |",
            human_time(cm / n as f64),
            vs_best(cm, best_cpu)
        );
    }
}
