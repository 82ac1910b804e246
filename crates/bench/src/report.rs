//! The bench's results: percentiles of samples, the figures with their targets and
//! verdicts, the table printed at the end and the JSON object `--json` writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// The `p`-th percentile (0–100) of `samples` by the nearest-rank method: the smallest
/// sample at or above `p` percent of them. `None` for no samples.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Microseconds of each duration.
pub fn micros(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(|d| d.as_secs_f64() * 1e6).collect()
}

/// Milliseconds of each duration.
pub fn millis(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(|d| d.as_secs_f64() * 1e3).collect()
}

/// What a figure must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
}

impl Target {
    fn met_by(self, value: f64) -> bool {
        match self {
            Target::AtMost(t) => value <= t,
            Target::AtLeast(t) => value >= t,
        }
    }
}

/// One row of the table and one key of the JSON.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The JSON key.
    pub key: String,
    pub label: String,
    pub unit: &'static str,
    /// `None` when skipped.
    pub value: Option<f64>,
    pub target: Option<Target>,
}

impl Figure {
    pub fn verdict(&self) -> &'static str {
        match (self.value, self.target) {
            (None, _) => "skipped",
            (Some(_), None) => "",
            (Some(v), Some(t)) if t.met_by(v) => "OK",
            (Some(_), Some(_)) => "MISS",
        }
    }
}

/// Everything a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    /// How each figure (or group) was measured, keyed by a short name.
    pub methods: BTreeMap<String, String>,
    /// Why something was skipped, and other remarks.
    pub notes: Vec<String>,
    /// Run facts: sample counts, versions, the machine.
    pub facts: BTreeMap<String, Value>,
}

impl Report {
    pub fn add(
        &mut self,
        key: &str,
        label: &str,
        unit: &'static str,
        value: Option<f64>,
        target: Option<Target>,
    ) {
        self.figures.push(Figure {
            key: key.to_string(),
            label: label.to_string(),
            unit,
            value,
            target,
        });
    }

    /// The value of the figure `key`, if it was measured.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.key == key)?.value
    }

    pub fn method(&mut self, name: &str, text: &str) {
        self.methods.insert(name.to_string(), text.to_string());
    }

    pub fn fact(&mut self, name: &str, value: impl Into<Value>) {
        self.facts.insert(name.to_string(), value.into());
    }

    /// The table of figure / measured / target / verdict, then the methods and notes.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .figures
            .iter()
            .map(|f| {
                [
                    f.label.clone(),
                    f.value
                        .map(|v| format!("{} {}", number(v), f.unit))
                        .unwrap_or_else(|| "-".into()),
                    match f.target {
                        Some(Target::AtMost(t)) => format!("<= {} {}", number(t), f.unit),
                        Some(Target::AtLeast(t)) => format!(">= {} {}", number(t), f.unit),
                        None => String::new(),
                    },
                    f.verdict().to_string(),
                ]
            })
            .collect();
        // Right-aligned measurements, so that their units line up.
        let mut out = table(
            &["figure", "measured", "target", "verdict"],
            &rows,
            &[false, true, false],
        );
        if !self.methods.is_empty() {
            out.push_str("\nHow each figure is measured:\n");
            for (name, text) in &self.methods {
                let _ = writeln!(out, "- {name}: {text}");
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\nNotes:\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// One JSON object: every figure under its key (null when skipped), plus `targets`,
    /// `verdicts`, `methods`, `notes` and `facts`.
    pub fn json(&self) -> Value {
        let mut top = Map::new();
        let mut targets = Map::new();
        let mut verdicts = Map::new();
        for f in &self.figures {
            top.insert(
                f.key.clone(),
                f.value.map(round).map_or(Value::Null, Value::from),
            );
            if let Some(t) = f.target {
                let t = match t {
                    Target::AtMost(v) => json!({ "max": v }),
                    Target::AtLeast(v) => json!({ "min": v }),
                };
                targets.insert(f.key.clone(), t);
                verdicts.insert(f.key.clone(), json!(f.verdict()));
            }
        }
        top.insert("targets".into(), Value::Object(targets));
        top.insert("verdicts".into(), Value::Object(verdicts));
        top.insert("methods".into(), json!(self.methods));
        top.insert("notes".into(), json!(self.notes));
        top.insert("facts".into(), json!(self.facts));
        Value::Object(top)
    }
}

/// Three significant decimals at most: the figures are not more precise than that.
fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `12345` → `12,345`; small values keep one or two decimals.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let groups: Vec<&str> = digits
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|g| std::str::from_utf8(g).expect("digits are ASCII"))
            .collect();
        let sign = if n < 0 { "-" } else { "" };
        format!("{sign}{}", groups.join(","))
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A plain-text table: the header, a rule of dashes, then `rows`; columns two spaces apart,
/// each as wide as its widest cell (in characters) but the last, which is not padded;
/// `right[i]` aligns column `i` to the right.
pub fn table<R: AsRef<[String]>>(header: &[&str], rows: &[R], right: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = String::new();
    for cells in [header.as_slice(), rule.as_slice()]
        .into_iter()
        .chain(rows.iter().map(AsRef::as_ref))
    {
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let _ = if i + 1 == cells.len() {
                write!(out, "{cell}")
            } else if right.get(i).copied().unwrap_or(false) {
                write!(out, "{cell:>width$}")
            } else {
                write!(out, "{cell:<width$}")
            };
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), Some(50.0));
        assert_eq!(percentile(&s, 99.0), Some(99.0));
        assert_eq!(percentile(&s, 100.0), Some(100.0));
        assert_eq!(percentile(&s, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(micros(&[Duration::from_micros(250)]), vec![250.0]);
        assert_eq!(millis(&[Duration::from_micros(2500)]), vec![2.5]);
    }

    #[test]
    fn verdicts() {
        let mut r = Report::default();
        r.add("a", "A", "us", Some(150.0), Some(Target::AtMost(200.0)));
        r.add("b", "B", "/s", Some(150.0), Some(Target::AtLeast(200.0)));
        r.add("c", "C", "KiB", Some(1.0), None);
        r.add("d", "D", "us", None, Some(Target::AtMost(1.0)));
        let v: Vec<&str> = r.figures.iter().map(Figure::verdict).collect();
        assert_eq!(v, ["OK", "MISS", "", "skipped"]);
    }

    #[test]
    fn json_shape() {
        let mut r = Report::default();
        r.add(
            "warm_overhead_p50_us",
            "warm",
            "us",
            Some(12.34567),
            Some(Target::AtMost(200.0)),
        );
        r.add(
            "python_warm_overhead_p50_us",
            "py",
            "us",
            None,
            Some(Target::AtMost(200.0)),
        );
        r.add("idle_env_kib", "mem", "KiB", Some(100.0), None);
        r.method("idle_env_kib", "PSS");
        r.notes.push("python skipped".into());
        r.fact("cold_runs", 5);
        let j = r.json();
        assert_eq!(j["warm_overhead_p50_us"], json!(12.346));
        assert!(j["python_warm_overhead_p50_us"].is_null());
        assert_eq!(j["idle_env_kib"], json!(100.0));
        assert_eq!(j["targets"]["warm_overhead_p50_us"], json!({"max": 200.0}));
        assert_eq!(j["verdicts"]["warm_overhead_p50_us"], json!("OK"));
        assert_eq!(
            j["verdicts"]["python_warm_overhead_p50_us"],
            json!("skipped")
        );
        assert!(j["verdicts"].get("idle_env_kib").is_none());
        assert_eq!(j["methods"]["idle_env_kib"], json!("PSS"));
        assert_eq!(j["notes"][0], json!("python skipped"));
        assert_eq!(j["facts"]["cold_runs"], json!(5));
    }

    #[test]
    fn tables_align_columns_and_leave_the_last_unpadded() {
        let rows = [
            ["xxx".to_string(), "1".into(), "yy".into()],
            ["y".to_string(), "22222".into(), "z".into()],
        ];
        assert_eq!(
            table(&["a", "bb", "c"], &rows, &[false, true]),
            "a       bb  c\n---  -----  --\nxxx      1  yy\ny    22222  z\n"
        );
        // Widths count characters, not bytes.
        let rows = [["µs".to_string(), "x".into()]];
        assert_eq!(table(&["ab", "c"], &rows, &[]), "ab  c\n--  -\nµs  x\n");
    }

    #[test]
    fn table_has_every_figure() {
        let mut r = Report::default();
        r.add(
            "t",
            "throughput",
            "/s",
            Some(12345.6),
            Some(Target::AtLeast(10000.0)),
        );
        r.add("o", "overhead", "us", Some(-3.5), None);
        let t = r.table();
        assert!(t.starts_with("figure"));
        assert!(t.contains("12,346 /s"));
        assert!(t.contains(">= 10,000 /s"));
        assert!(t.contains("OK"));
        assert!(t.contains("-3.50 us"));
    }
}
