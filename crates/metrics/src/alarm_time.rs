//! The two date forms of AWS's alarm texts: the short one of state reasons
//! (`03/12/26 10:00:00`, day/month/year, UTC) and the ISO one of reason data, history and
//! notifications (`2026-12-03T10:00:00.000+0000`).

use chrono::{DateTime, Datelike, Timelike};

fn parts(ms: i64) -> (i32, u32, u32, u32, u32, u32, u32) {
    let t = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis(),
    )
}

/// `dd/mm/yy HH:MM:SS`, as in "Threshold Crossed: ... [5.0 (03/12/26 10:00:00)]".
pub fn reason_date(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = parts(ms);
    format!(
        "{d:02}/{mo:02}/{:02} {h:02}:{mi:02}:{s:02}",
        y.rem_euclid(100)
    )
}

/// `yyyy-mm-ddTHH:MM:SS.sss+0000`.
pub fn iso_date(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}+0000")
}

/// A number as AWS's (Java) texts print a double: `5.0`, `0.25`, `1.0E7`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        // Java switches to computerized scientific notation outside [1e-3, 1e7).
        let s = format!("{v:E}");
        let (mant, exp) = s.split_once('E').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        return format!("{mant}E{exp}");
    }
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-03T10:00:00Z
    const T: i64 = 1_796_292_000_000;

    #[test]
    fn dates_print_as_aws_does() {
        assert_eq!(reason_date(T), "03/12/26 10:00:00");
        assert_eq!(iso_date(T + 456), "2026-12-03T10:00:00.456+0000");
    }

    #[test]
    fn doubles_print_as_java() {
        assert_eq!(java_double(5.0), "5.0");
        assert_eq!(java_double(0.25), "0.25");
        assert_eq!(java_double(-3.0), "-3.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12_345_678.0), "1.2345678E7");
        assert_eq!(java_double(0.0), "0.0");
    }
}
