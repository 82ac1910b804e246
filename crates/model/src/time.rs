//! Timestamps in the formats Lambda prints.

use chrono::{DateTime, Utc};

/// `2020-04-10T19:06:32.563+0000`, the `LastModified` format.
pub fn lambda_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_like_lambda() {
        let t = Utc
            .timestamp_millis_opt(1_586_545_592_563)
            .single()
            .expect("valid timestamp");
        assert_eq!(lambda_timestamp(t), "2020-04-10T19:06:32.563+0000");
    }
}
