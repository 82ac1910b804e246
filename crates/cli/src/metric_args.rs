//! `hearth server`'s options for how long CloudWatch keeps metric data at each
//! resolution (AWS's retention by default: one-minute points 15 days, five-minute points
//! 63 days, one-hour points 455 days). Shorter bounds the store on a small disk; longer
//! keeps detail for longer than AWS does.

use hearth_metrics::Retention;

#[derive(Debug, clap::Args)]
pub struct MetricArgs {
    /// Days one-minute metric points are kept before they are rolled up to five minutes.
    #[arg(long, env = "HEARTH_METRICS_MINUTE_DAYS", default_value_t = 15, value_name = "DAYS",
          value_parser = clap::value_parser!(i64).range(1..=3653))]
    pub metrics_minute_days: i64,

    /// Days five-minute metric points are kept before they are rolled up to one hour.
    #[arg(long, env = "HEARTH_METRICS_FIVE_MINUTE_DAYS", default_value_t = 63,
          value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=3653))]
    pub metrics_five_minute_days: i64,

    /// Days one-hour metric points are kept; older metric data is deleted.
    #[arg(long, env = "HEARTH_METRICS_HOUR_DAYS", default_value_t = 455, value_name = "DAYS",
          value_parser = clap::value_parser!(i64).range(1..=3653))]
    pub metrics_hour_days: i64,
}

impl MetricArgs {
    /// The retention the options give, or why they contradict each other: each
    /// resolution must be kept at least as long as the finer one before it, since data
    /// reaches a coarser resolution only when the finer one lets it go.
    pub fn retention(&self) -> Result<Retention, String> {
        let r = Retention {
            minute_days: self.metrics_minute_days,
            five_minute_days: self.metrics_five_minute_days,
            hour_days: self.metrics_hour_days,
            ..Retention::default()
        };
        if r.five_minute_days < r.minute_days {
            return Err(format!(
                "--metrics-five-minute-days ({}) must be at least --metrics-minute-days ({})",
                r.five_minute_days, r.minute_days
            ));
        }
        if r.hour_days < r.five_minute_days {
            return Err(format!(
                "--metrics-hour-days ({}) must be at least --metrics-five-minute-days ({})",
                r.hour_days, r.five_minute_days
            ));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        metrics: MetricArgs,
    }

    fn retention(args: &[&str]) -> Result<Retention, String> {
        let cli = Cli::try_parse_from(std::iter::once("hearth").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.metrics.retention()
    }

    #[test]
    fn defaults_are_aws_retention() {
        assert_eq!(retention(&[]), Ok(Retention::default()));
        assert_eq!(Retention::default().minute_days, 15);
    }

    #[test]
    fn each_resolution_is_set_and_checked_against_the_finer_one() {
        let r = retention(&[
            "--metrics-minute-days",
            "3",
            "--metrics-five-minute-days",
            "10",
        ])
        .expect("valid");
        assert_eq!(
            (r.minute_days, r.five_minute_days, r.hour_days),
            (3, 10, 455)
        );
        assert_eq!(
            retention(&["--metrics-minute-days", "70"]),
            Err(
                "--metrics-five-minute-days (63) must be at least --metrics-minute-days (70)"
                    .into()
            )
        );
        assert_eq!(
            retention(&["--metrics-hour-days", "20"]),
            Err("--metrics-hour-days (20) must be at least --metrics-five-minute-days (63)".into())
        );
        assert!(retention(&["--metrics-minute-days", "0"]).is_err());
    }
}
