//! Progress bars for long operations (tuning, benchmarks, uploads, runtime installs): drawn
//! on standard error, and only when it is a terminal, so scripts and tests that read the
//! output see exactly what they saw before.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn at all.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

fn hidden_unless_terminal(bar: ProgressBar) -> ProgressBar {
    if enabled() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// A bar counting `total` steps, with the count and the time left.
pub fn counter(total: u64, message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} (ETA {eta})")
            .expect("a fixed, valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.into());
    hidden_unless_terminal(bar)
}

/// A bar of `total` bytes, with the rate and the time left.
pub fn bytes(total: u64, message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} (ETA {eta})",
        )
        .expect("a fixed, valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.into());
    hidden_unless_terminal(bar)
}

/// A spinner for a step of unknown length.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .expect("a fixed, valid template"),
    );
    bar.set_message(message.into());
    let bar = hidden_unless_terminal(bar);
    if enabled() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    bar
}
