//! `hearth cost`: what the server's metered use would have cost on AWS Lambda, per function,
//! with the host's own use beside it. The server prices it (`GET /_hearth/cost`, with
//! `hearth-cost`); this module asks for the period and prints the answer.

use std::time::Duration;

use hearth_cost::{Line, Report};
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::{emit, line};
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// The period: the last 30d, 7d, 24h, ... (whole UTC days, today included).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "30d")]
    pub since: Duration,

    /// Only this function.
    #[arg(long)]
    pub function: Option<String>,

    /// The AWS region whose prices to use (only regions in the price table).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// Take AWS's monthly free tier (1 M requests, 400,000 GB-s) off each calendar month
    /// [default].
    #[arg(long, overrides_with = "no_free_tier")]
    pub free_tier: bool,

    /// Price every request and GB-second, as an account past its free tier pays.
    #[arg(long, overrides_with = "free_tier")]
    pub no_free_tier: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl CostArgs {
    /// The last of `--free-tier` / `--no-free-tier` wins (each overrides the other); neither
    /// means the free tier.
    fn wants_free_tier(&self) -> bool {
        !self.no_free_tier
    }
}

pub fn run(args: CostArgs) -> anyhow::Result<()> {
    let free_tier = args.wants_free_tier();
    let client = Client::new(&args.common)?;
    // The server turns the period into whole UTC days (today included), as it prices.
    let mut path = format!(
        "/_hearth/cost?since={}s&region={}&free_tier={free_tier}",
        args.since.as_secs(),
        encode(&args.region)
    );
    if let Some(function) = &args.function {
        path.push_str(&format!("&function={}", encode(function)));
    }
    let doc = client.call(Method::GET, &path, None)?;
    if args.common.json {
        // The server's answer as it came: the one copy of the figures is the server's.
        return line(serde_json::to_string_pretty(&doc)?);
    }
    let report: Report = serde_json::from_value(doc)
        .map_err(|e| anyhow::anyhow!("the server's cost answer is not understood: {e}"))?;
    emit(render(&report).as_bytes())
}

/// The table: one line per function, a total line, and under it where the prices are from.
fn render(bill: &Report) -> String {
    let header = [
        "FUNCTION",
        "REQUESTS",
        "GB-S",
        "REQ-$",
        "DURATION-$",
        "PROV-$",
        "EPHEM-$",
        "TOTAL-$",
        "HOST-CPU-S",
        "HOST-MEM-GB-S",
    ];
    let cells = |name: &str, l: &Line| -> Vec<String> {
        vec![
            name.to_string(),
            l.requests.to_string(),
            format!("{:.3}", l.gb_seconds),
            money(l.charges.requests),
            money(l.charges.duration),
            money(l.charges.provisioned),
            money(l.charges.ephemeral),
            money(l.total),
            format!("{:.3}", l.host_cpu_seconds),
            format!("{:.3}", l.host_memory_gb_seconds),
        ]
    };
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    rows.extend(bill.functions.iter().map(|(name, l)| cells(name, l)));
    rows.push(cells("TOTAL", &bill.total));
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == 0 {
                    format!("{cell:<w$}", w = widths[i])
                } else {
                    format!("{cell:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let months = if bill.months.is_empty() {
        "no usage".to_string()
    } else {
        bill.months.join(", ")
    };
    out.push_str(&format!(
        "AWS Lambda prices for {} ({}), read on {} from {}\n",
        bill.region, bill.currency, bill.prices_read_on, bill.prices_source
    ));
    out.push_str(&format!(
        "months: {months}; free tier {}\n",
        if bill.free_tier {
            "taken off each calendar month"
        } else {
            "not applied"
        }
    ));
    out
}

/// Dollars with six decimals: a month of a small function costs fractions of a cent.
fn money(dollars: f64) -> String {
    format!("{dollars:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_cost::{Architecture, Period, PriceTable, UsageRow};

    #[test]
    fn the_servers_figures_print_exactly_as_they_came() {
        // `--json` parses the answer and prints it again: a parser that rounds the last
        // bit (serde_json without `float_roundtrip`) would print another number.
        for figure in ["1.1875023750000003e-7", "7.187502375000001e-7", "0.007125"] {
            let value: serde_json::Value = serde_json::from_str(figure).expect("a number");
            let again: f64 = serde_json::to_string(&value)
                .expect("prints")
                .parse()
                .expect("a number");
            assert_eq!(
                again.to_bits(),
                figure.parse::<f64>().expect("f64").to_bits()
            );
        }
    }

    #[derive(Debug, clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        args: CostArgs,
    }

    fn free(argv: &[&str]) -> bool {
        use clap::Parser;
        let cmd = Cmd::try_parse_from(std::iter::once("cost").chain(argv.iter().copied()))
            .expect("valid options");
        cmd.args.wants_free_tier()
    }

    #[test]
    fn the_last_free_tier_flag_wins() {
        assert!(free(&[]));
        assert!(free(&["--free-tier"]));
        assert!(!free(&["--no-free-tier"]));
        assert!(free(&["--no-free-tier", "--free-tier"]));
        assert!(!free(&["--free-tier", "--no-free-tier"]));
    }

    #[test]
    fn renders_a_table_with_a_total_and_the_price_date() {
        let row = UsageRow {
            function: "f".into(),
            version: "$LATEST".into(),
            day: 20_425,
            architecture: Architecture::X86_64,
            memory_mb: 512,
            ephemeral_mb: 512,
            requests: 3_000_000,
            billed_ms: 360_000_000,
            init_billed_ms: 0,
            provisioned_seconds: 0,
            host_cpu_ms: 1500,
            host_memory_mb_ms: 1_024_000,
        };
        let period = Period {
            from_day: 20_400,
            to_day: 20_426,
        };
        let report = Report::price(&[row], PriceTable::aws(), "us-east-1", false, period)
            .expect("us-east-1 is priced");
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "f",
                "3000000",
                "180000.000",
                "0.600000",
                "3.000006",
                "0.000000",
                "0.000000",
                "3.600006",
                "1.500",
                "1.000"
            ]
        );
        assert!(lines[2].starts_with("TOTAL "), "{text}");
        assert!(lines[3].starts_with("AWS Lambda prices for us-east-1 (USD), read on 2026-12-03"));
        assert_eq!(lines[4], "months: 2025-12; free tier not applied");
    }
}
