//! Durations on the command line: a whole number and a unit (`500ms`, `30s`, `10m`,
//! `1h`, `2d`).

use std::time::Duration;

/// Parses `500ms`, `30s`, `10m`, `1h`, `2d`; a bare number is seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("expected a duration like 30s, 10m, 1h or 2d, got {text:?}"))?;
    if unit == "ms" {
        return Ok(Duration::from_millis(count));
    }
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit in {text:?}: use ms, s, m, h or d (e.g. 10m)"
            ))
        }
    };
    count
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse("5x").is_err());
        assert!(parse("m").is_err());
    }
}
