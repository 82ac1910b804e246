//! Property tests of the parsers that take outside input (metric math, EMF lines,
//! stored point bytes, statistic names) and of the histogram's accuracy.

use proptest::prelude::*;

use crate::point::PointStats;
use crate::statistic::Statistic;
use crate::stats::Stats;

proptest! {
    #[test]
    fn expressions_never_panic(src in ".{0,200}") {
        let _ = crate::expr::parse(&src);
    }

    #[test]
    fn expression_like_input_never_panics(src in "[a-zA-Z0-9_ ()\\[\\],+*/\"-]{0,200}") {
        let _ = crate::expr::parse(&src);
    }

    #[test]
    fn emf_lines_never_panic(line in ".{0,300}") {
        let _ = crate::emf::extract(&line);
    }

    #[test]
    fn emf_shaped_lines_never_panic(ns in ".{0,10}", dim in ".{0,5}", v in proptest::num::f64::ANY, ts in any::<i64>()) {
        let line = serde_json::json!({
            "_aws": {"Timestamp": ts, "CloudWatchMetrics": [{"Namespace": ns, "Dimensions": [[dim.clone()]], "Metrics": [{"Name": "m"}]}]},
            dim: "x", "m": if v.is_finite() { serde_json::json!(v) } else { serde_json::json!(null) },
        });
        let _ = crate::emf::extract(&line.to_string());
    }

    #[test]
    fn point_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = PointStats::decode(&bytes);
    }

    #[test]
    fn statistic_names_never_panic(name in ".{0,30}") {
        let _ = Statistic::parse(&name);
    }

    #[test]
    fn encoding_round_trips(values in proptest::collection::vec(-1e12f64..1e12, 1..100)) {
        let s = Stats::from_values(&values, None).expect("values");
        let p = PointStats::single(3, s);
        prop_assert_eq!(PointStats::decode(&p.encode()), Ok(p));
    }

    #[test]
    fn percentiles_are_within_one_percent(
        mut values in proptest::collection::vec(1e-6f64..1e9, 1..300),
        p in 0.0f64..=100.0,
    ) {
        let s = Stats::from_values(&values, None).expect("values");
        values.sort_by(f64::total_cmp);
        // The nearest-rank percentile: the least value with p % at or below it.
        let rank = ((p / 100.0 * values.len() as f64).ceil() as usize).clamp(1, values.len());
        let exact = values[rank - 1];
        let got = s.percentile(p).expect("histogram");
        prop_assert!((got - exact).abs() <= 0.01 * exact.abs() + 1e-12, "p{} {} vs {}", p, got, exact);
    }
}
