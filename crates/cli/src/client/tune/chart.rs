//! Pictures of a tuning run: a terminal chart (a bar of duration and one of cost per size)
//! and an SVG file with the same figures (bars for duration, a line for cost).

use hearth_tune::SizeStats;

/// The widest bar of the terminal chart, in characters.
const BAR: usize = 30;

/// One line per size: `  512 MB  ████████ 120.0 ms  ▒▒▒▒ $1.200001/M`, the recommended one
/// marked.
pub fn terminal(stats: &[SizeStats], recommended: Option<usize>) -> String {
    let max_time = stats.iter().map(|s| s.p50_ms).fold(0.0, f64::max);
    let max_cost = stats.iter().map(|s| s.cost_per_million).fold(0.0, f64::max);
    let bar = |v: f64, max: f64, c: char| -> String {
        let n = if max > 0.0 {
            ((v / max) * BAR as f64).round() as usize
        } else {
            0
        };
        let mut s: String = std::iter::repeat_n(c, n.max(1)).collect();
        s.extend(std::iter::repeat_n(' ', BAR - n.clamp(1, BAR)));
        s
    };
    let mut out = String::new();
    for (i, s) in stats.iter().enumerate() {
        let mark = if Some(i) == recommended { "*" } else { " " };
        out.push_str(&format!(
            "{mark}{:>6} MB  {} {:>9.1} ms  {} ${:.6}/M\n",
            s.memory_mb,
            bar(s.p50_ms, max_time, '█'),
            s.p50_ms,
            bar(s.cost_per_million, max_cost, '▒'),
            s.cost_per_million,
        ));
    }
    out
}

/// An SVG chart: per size a bar of p50 duration (left axis) and a point of cost per million
/// (right axis), joined by a line.
pub fn svg(function: &str, stats: &[SizeStats], recommended: Option<usize>) -> String {
    let (width, height) = (720.0, 400.0);
    let (left, right, top, bottom) = (70.0, 90.0, 40.0, 50.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max_time = stats.iter().map(|s| s.p50_ms).fold(0.0, f64::max).max(1e-9);
    let max_cost = stats
        .iter()
        .map(|s| s.cost_per_million)
        .fold(0.0, f64::max)
        .max(1e-12);
    let slot = plot_w / stats.len().max(1) as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"24\" font-size=\"15\">{} — duration (p50, bars) and cost per 1M invocations (line)</text>\n\
         <line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"black\"/>\n\
         <text x=\"12\" y=\"{top}\" fill=\"#3366cc\">{max_time:.1} ms</text>\n\
         <text x=\"{xr}\" y=\"{top}\" fill=\"#cc3300\">${max_cost:.6}</text>\n",
        xml_escape(function),
        y0 = top + plot_h,
        x1 = left + plot_w,
        xr = left + plot_w + 8.0,
    );
    let mut points = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        let x = left + slot * i as f64;
        let h = s.p50_ms / max_time * plot_h;
        let fill = if Some(i) == recommended {
            "#1a9641"
        } else {
            "#3366cc"
        };
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{} MB: {:.1} ms</title></rect>\n",
            x + slot * 0.15,
            top + plot_h - h,
            slot * 0.7,
            s.memory_mb,
            s.p50_ms,
        ));
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} MB</text>\n",
            x + slot / 2.0,
            top + plot_h + 18.0,
            s.memory_mb
        ));
        let cy = top + plot_h - s.cost_per_million / max_cost * plot_h;
        points.push(format!("{:.1},{cy:.1}", x + slot / 2.0));
        out.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"4\" fill=\"#cc3300\"><title>{} MB: ${:.6} per 1M</title></circle>\n",
            x + slot / 2.0,
            s.memory_mb,
            s.cost_per_million
        ));
    }
    out.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#cc3300\" stroke-width=\"2\"/>\n</svg>\n",
        points.join(" ")
    ));
    out
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(memory_mb: u32, p50_ms: f64, cost_per_million: f64) -> SizeStats {
        SizeStats {
            memory_mb,
            invocations: 5,
            p50_ms,
            p95_ms: p50_ms,
            average_billed_ms: p50_ms,
            trimmed_billed_ms: p50_ms,
            cost_per_million,
        }
    }

    #[test]
    fn terminal_bars_scale_to_the_largest() {
        let text = terminal(&[size(128, 100.0, 2.0), size(256, 50.0, 1.0)], Some(1));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("    128 MB  "), "{text}");
        assert_eq!(lines[0].matches('█').count(), 30);
        assert_eq!(lines[1].matches('█').count(), 15);
        assert_eq!(lines[1].matches('▒').count(), 15);
        assert!(lines[1].starts_with('*'));
        assert!(lines[1].ends_with("$1.000000/M"), "{text}");
    }

    #[test]
    fn svg_has_a_bar_and_a_point_per_size() {
        let doc = svg(
            "f<&>",
            &[size(128, 100.0, 2.0), size(1024, 20.0, 3.0)],
            None,
        );
        assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(doc.trim_end().ends_with("</svg>"));
        assert_eq!(doc.matches("<rect x=").count(), 2);
        assert_eq!(doc.matches("<circle").count(), 2);
        assert!(doc.contains("f&lt;&amp;&gt;"));
        assert!(doc.contains("<title>1024 MB: $3.000000 per 1M</title>"));
    }
}
