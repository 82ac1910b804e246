//! The parts of `hearth`'s command line that `hearth-bench` shares with it: the data and
//! runtimes directories, the sandbox choice, durations, and writing to standard output.

pub mod dirs;
pub mod duration;
pub mod output;
pub mod progress;
pub mod sandbox_kind;
