//! The soak's report: the series it follows with their thresholds, a row per sample
//! while it runs, and the closing table of growth per minute and verdicts.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::sample::Sample;
use super::trend::{self, Threshold, Trend};

/// One series the soak follows.
pub struct Series {
    pub key: &'static str,
    pub label: &'static str,
    /// Shown in this unit: values are divided by `scale`.
    pub unit: &'static str,
    pub scale: f64,
    pub threshold: Threshold,
    pub value: fn(&Sample) -> Option<f64>,
}

const MIB: f64 = 1024.0 * 1024.0;
/// 1 MiB a minute, or 0.5 % of the series a minute if that is more.
const BYTES: Threshold = Threshold {
    per_minute: MIB,
    relative: 0.005,
    per_half: 0.0,
};
/// 1 a minute, or 0.5 % a minute, or 2 over the second half if that is more.
const COUNT: Threshold = Threshold {
    per_minute: 1.0,
    relative: 0.005,
    per_half: 2.0,
};

pub fn series() -> Vec<Series> {
    let bytes = |key, label, value| Series {
        key,
        label,
        unit: "MiB",
        scale: MIB,
        threshold: BYTES,
        value,
    };
    let count = |key, label, value| Series {
        key,
        label,
        unit: "",
        scale: 1.0,
        threshold: COUNT,
        value,
    };
    vec![
        bytes("rss", "server RSS", |s| Some(s.rss_kib as f64 * 1024.0)),
        count("fds", "server open fds", |s| Some(s.fds as f64)),
        count("threads", "server threads", |s| Some(s.threads as f64)),
        bytes("data_dir", "data dir", |s| Some(s.data.total as f64)),
        bytes("db", "  db + wal", |s| Some(s.data.db as f64)),
        bytes("blobs", "  blobs (zips)", |s| Some(s.data.blobs as f64)),
        bytes("code", "  code (unpacked)", |s| Some(s.data.code as f64)),
        bytes("jail", "  jail", |s| Some(s.data.jail as f64)),
        count("environments", "environments (idle + busy)", |s| {
            Some((s.envs_idle + s.envs_busy) as f64)
        }),
        count("cgroups", "environment cgroups", |s| {
            s.cgroups.map(|c| c as f64)
        }),
        Series {
            threshold: Threshold {
                per_minute: 10.0,
                relative: 0.0,
                per_half: 0.0,
            },
            ..count("async_backlog", "async backlog", |s| Some(s.backlog as f64))
        },
    ]
}

/// A series with its samples and its trend.
pub struct Followed<'a> {
    pub series: &'a Series,
    pub trend: Trend,
    /// (seconds, value) of every sample that has the series.
    pub points: Vec<(f64, f64)>,
}

impl Followed<'_> {
    pub fn json(&self) -> (String, Value) {
        let (s, t) = (self.series, &self.trend);
        (
            s.key.to_string(),
            json!({
                "label": s.label.trim(),
                "unit": if s.unit.is_empty() { "count" } else { "bytes" },
                "growth_per_minute": t.slope_per_minute,
                "threshold_per_minute": t.threshold_per_minute,
                "verdict": t.verdict.as_str(),
            }),
        )
    }
}

/// The trend of every series the samples have (cgroups only with the jail).
pub fn follow<'a>(all: &'a [Series], samples: &[Sample]) -> Vec<Followed<'a>> {
    all.iter()
        .filter_map(|s| {
            let points: Vec<(f64, f64)> = samples
                .iter()
                .filter_map(|x| (s.value)(x).map(|v| (x.t, v)))
                .collect();
            (!points.is_empty()).then(|| Followed {
                series: s,
                trend: trend::trend(&points, s.threshold),
                points,
            })
        })
        .collect()
}

pub const METHOD: &str = "Mixed load at a fixed pace (sync invokes and Event invokes of a warm \
Rust echo, create/invoke/update-code/invoke/delete cycles of functions with new code every \
cycle, and a Python function printing 200 lines of 100 bytes per invoke when Python is \
installed). Sampled: the server's VmRSS, /proc/<pid>/fd entries and Threads; the data \
directory's allocated blocks (as du counts them, not crossing into other file systems), by \
top-level entry; idle and busy environments from /_hearth/concurrency; env-* directories in \
the server's environment cgroup base (on cgroup v1, the memory hierarchy); async events not \
done from /_hearth/queue. Growth per minute is the least-squares slope over the samples of \
the second half of the run; a series is flat when that is at most its threshold: 1 MiB/min \
for sizes, 1/min for counts (10/min for the async backlog), or 0.5 % of the series' mean per \
minute if that is more, and for counts (not the backlog) at least 2 over the whole second \
half. Environment cgroups include sandboxes made ahead that hold no function yet. Log lines are kept in the db (within retention), so the db grows \
with a log-chatty function by design.";

pub fn row_header() -> String {
    format!(
        "{:>7} {:>8} {:>5} {:>4} {:>9} {:>8} {:>8} {:>8} {:>7} {:>10} {:>7} {:>7} {:>8} {:>6}",
        "time s",
        "rss MiB",
        "fds",
        "thr",
        "data MiB",
        "db MiB",
        "blobs",
        "code",
        "jail",
        "envs i/b",
        "cgroups",
        "backlog",
        "done",
        "failed"
    )
}

pub fn row(s: &Sample) -> String {
    let mib = |b: u64| format!("{:.1}", b as f64 / MIB);
    format!(
        "{:>7.1} {:>8.1} {:>5} {:>4} {:>9} {:>8} {:>8} {:>8} {:>7} {:>10} {:>7} {:>7} {:>8} {:>6}",
        s.t,
        s.rss_kib as f64 / 1024.0,
        s.fds,
        s.threads,
        mib(s.data.total),
        mib(s.data.db),
        mib(s.data.blobs),
        mib(s.data.code),
        mib(s.data.jail),
        format!("{}/{}", s.envs_idle, s.envs_busy),
        s.cgroups.map_or("-".to_string(), |c| c.to_string()),
        s.backlog,
        s.done,
        s.errors
    )
}

/// The closing table: each series' first and last value, its growth per minute over the
/// second half, the threshold and the verdict; then the load done and any errors.
pub fn summary(
    trends: &[Followed<'_>],
    counts: &Value,
    errors: &[String],
    notes: &[String],
) -> String {
    let fmt = |s: &Series, v: f64| {
        if s.unit.is_empty() {
            format!("{v:.1}")
        } else {
            format!("{:.2} {}", v / s.scale, s.unit)
        }
    };
    let rows: Vec<[String; 5]> = trends
        .iter()
        .map(|f| {
            let (s, t, points) = (f.series, &f.trend, &f.points);
            let first = points.first().map_or(0.0, |p| p.1);
            let last = points.last().map_or(0.0, |p| p.1);
            [
                s.label.to_string(),
                format!("{} -> {}", fmt(s, first), fmt(s, last)),
                t.slope_per_minute
                    .map_or("-".into(), |v| format!("{}/min", fmt(s, v))),
                format!("<= {}/min", fmt(s, t.threshold_per_minute)),
                t.verdict.as_str().to_string(),
            ]
        })
        .collect();
    let mut out = String::from("\n");
    out.push_str(&crate::report::table(
        &[
            "series",
            "first -> last",
            "growth (2nd half)",
            "flat if",
            "verdict",
        ],
        &rows,
        &[false, true, true, false],
    ));
    let _ = writeln!(out, "\nLoad: {counts}");
    let _ = writeln!(out, "\nHow: {METHOD}");
    if !errors.is_empty() {
        out.push_str("\nFirst errors:\n");
        for e in errors {
            let _ = writeln!(out, "- {e}");
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_series_with_its_verdict() {
        let all = series();
        let samples: Vec<Sample> = (0..=12u32)
            .map(|i| Sample {
                t: f64::from(i) * 10.0,
                rss_kib: 100_000,
                fds: 50 + u64::from(i) * 5,
                ..Sample::default()
            })
            .collect();
        let trends = follow(&all, &samples);
        // No cgroups without the jail: that series is left out.
        assert_eq!(trends.len(), all.len() - 1);
        let text = summary(&trends, &json!({}), &[], &[]);
        let fds = text
            .lines()
            .find(|l| l.starts_with("server open fds"))
            .expect("fds row");
        assert!(
            fds.contains("30.0/min") && fds.ends_with("growing"),
            "{fds}"
        );
        let rss = text
            .lines()
            .find(|l| l.starts_with("server RSS"))
            .expect("rss row");
        assert!(
            rss.contains("97.66 MiB -> 97.66 MiB") && rss.ends_with("flat"),
            "{rss}"
        );
    }
}
