//! What a sync shows while it runs, on stderr: a progress bar (bytes, rate,
//! ETA) when stderr is a terminal, plain lines otherwise (CI logs, pipes),
//! with a progress line every little while so a long run is not silent.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain mode reports bytes.
const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// The display of one run.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    /// A bar when stderr is a terminal, else plain lines.
    pub fn new() -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            started: now,
            last_line: now,
        }
    }

    /// Shows `done` of about `estimate` bytes and `files_done` of `files` files.
    pub fn update(&mut self, done: u64, estimate: u64, files_done: usize, files: usize) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(estimate.max(done));
                bar.set_position(done);
                bar.set_message(format!("{files_done}/{files} files"));
            }
            None => {
                if self.last_line.elapsed() < PLAIN_EVERY {
                    return;
                }
                if done == 0 && files_done > 0 {
                    // A dry run (or a run that only hashes) moves no bytes.
                    self.last_line = Instant::now();
                    eprintln!(
                        "progress: {files_done}/{files} files checked, {}",
                        seconds(self.started.elapsed())
                    );
                } else if done > 0 {
                    self.last_line = Instant::now();
                    eprintln!(
                        "progress: {} of about {}, {files_done}/{files} files, {}",
                        HumanBytes(done),
                        HumanBytes(estimate.max(done)),
                        rate(done, self.started.elapsed())
                    );
                }
            }
        }
    }

    /// Prints a line without tearing the bar.
    pub fn line(&self, text: &str) {
        let text = crate::redact::text(text);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Prints a line on stdout (a report line), the bar held back meanwhile.
    pub fn out(&self, text: &str) {
        let text = crate::redact::text(text);
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// `12.50 MiB/s`.
pub fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    format!("{}/s", HumanBytes((bytes as f64 / secs) as u64))
}

/// `1.2s`, `3m 4s`.
pub fn seconds(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        humantime::format_duration(Duration::from_secs(elapsed.as_secs())).to_string()
    }
}
