//! `hearth tune`: power tuning, run by `hearth-tune` (the same run the server's `POST
//! /_hearth/tune/<function>` makes for the console) over this client's signed HTTP: isolated
//! copies of the function at each memory size, invoked and measured, then deleted. Here:
//! the options, a progress bar per size, the deletion of the copies on SIGINT, SIGTERM or
//! SIGHUP, and the figures as a table, a terminal chart and optionally an SVG.

mod chart;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use hearth_cost::PriceTable;
use hearth_tune::{Api, Interrupt, Options, Progress, Reply, SizeStats, Strategy, Tuner};
use ureq::http::Method;

use super::http::Client;
use super::output::{emit, line};
use super::CommonArgs;

#[derive(Debug, clap::Args)]
#[command(after_help = "Strategies (as AWS Lambda Power Tuning defines them): \
cost picks the size with the lowest cost per invocation (ties: the faster); speed the \
lowest time (ties: the cheaper); balanced the lowest 0.5 × cost / highest cost + 0.5 × \
time / highest time, i.e. cost and speed normalised to the worst size and weighed equally. \
Time is the trimmed mean of the billed durations (the fastest and slowest 10% left out); \
cost is requests plus duration at the region's first price tier. Under the jail, CPU is \
given in proportion to memory (1 vCPU at 1769 MB), as on AWS.")]
pub struct TuneArgs {
    /// The function to tune (left unchanged: copies are measured).
    pub name: String,

    /// A file holding the event to invoke with [default: {}].
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,

    /// The memory sizes to measure, in MB.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,256,512,1024,1769,3008"
    )]
    pub memory: Vec<u32>,

    /// Measured invocations per size (after one warm-up).
    #[arg(long, default_value_t = hearth_tune::DEFAULT_INVOCATIONS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(hearth_tune::MAX_INVOCATIONS)))]
    pub invocations: u32,

    /// What to recommend for: cost, speed or balanced.
    #[arg(long, value_enum, default_value = "cost")]
    pub strategy: Strategy,

    /// Write an SVG chart of duration and cost per size to this file.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,

    /// The AWS region whose prices to use.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The Lambda API over this client's signed HTTP.
struct Http(Client);

impl Api for Http {
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let reply = self
            .0
            .send(method, path, headers, body)
            .map_err(|e| format!("{e:#}"))?;
        Ok(Reply {
            status: reply.status,
            headers: reply
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: reply.body,
        })
    }

    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}

/// A progress bar per size (drawn only on a terminal).
#[derive(Default)]
struct Bars(Option<indicatif::ProgressBar>);

impl Progress for Bars {
    fn size_started(&mut self, memory_mb: u32, invocations: u32) {
        self.0 = Some(hearth_cli::progress::counter(
            u64::from(invocations),
            format!("{memory_mb} MB"),
        ));
    }

    fn invoked(&mut self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn size_done(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let payload = match &args.payload {
        Some(file) => std::fs::read(file)
            .with_context(|| format!("reading the payload from {}", file.display()))?,
        None => b"{}".to_vec(),
    };
    let options = Options {
        memory: args.memory.clone(),
        invocations: args.invocations,
        strategy: args.strategy,
        region: args.region.clone(),
        payload,
    };
    options.check()?;
    let tuner = Tuner::new(Arc::new(Http(Client::new(&args.common)?)));
    delete_on_signal(tuner.interrupt())?;
    let report = tuner.run(&args.name, &options, &mut Bars::default())?;

    let best = report.recommended_index();
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::svg(&args.name, &report.sizes, best))
            .with_context(|| format!("writing the chart {}", path.display()))?;
    }
    if args.common.json {
        return line(serde_json::to_string_pretty(&report)?);
    }
    let mut out = table_text(&report.sizes);
    out.push('\n');
    out.push_str(&chart::terminal(&report.sizes, best));
    if let Some(memory) = report.recommended {
        out.push_str(&format!(
            "\nrecommended ({}): {memory} MB\n",
            args.strategy.name(),
        ));
    }
    out.push_str(&format!(
        "prices: AWS Lambda {} {} ({}), read on {}\n",
        report.region,
        report.architecture,
        PriceTable::aws().currency,
        report.prices_read_on
    ));
    emit(out.as_bytes())
}

/// Starts the thread that deletes the copies alive on SIGINT, SIGTERM or SIGHUP and exits
/// with status 130.
fn delete_on_signal(interrupt: Interrupt) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // Registered here, before the first copy exists, so no signal finds one unguarded.
    let (mut int, mut term, mut hup) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("tune-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
            });
            // A CreateFunction under way finishes first, then its copy is deleted with the
            // others, and no new one can start before the exit.
            interrupt.delete_all(
                |n| eprintln!("\ninterrupted: deleting {n} tuning cop(ies)"),
                || std::process::exit(130),
            )
        })?;
    Ok(())
}

/// The figures, one line per size.
fn table_text(sizes: &[SizeStats]) -> String {
    let mut out = format!(
        "{:>8}  {:>10}  {:>10}  {:>14}  {:>16}\n",
        "MEMORY", "P50-MS", "P95-MS", "AVG-BILLED-MS", "$/1M-INVOKES"
    );
    for s in sizes {
        out.push_str(&format!(
            "{:>5} MB  {:>10.2}  {:>10.2}  {:>14.2}  {:>16.6}\n",
            s.memory_mb, s.p50_ms, s.p95_ms, s.average_billed_ms, s.cost_per_million
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_sizes_are_the_librarys() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            tune: super::TuneArgs,
        }
        let cli = Cli::parse_from(["hearth", "f"]);
        assert_eq!(cli.tune.memory, hearth_tune::DEFAULT_MEMORY);
        assert_eq!(cli.tune.invocations, hearth_tune::DEFAULT_INVOCATIONS);
    }
}
