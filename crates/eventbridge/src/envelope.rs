//! The event envelope EventBridge wraps around what it routes: a PutEvents entry
//! ([`Envelope::custom`]) or a scheduled rule's tick ([`Envelope::scheduled`]). Keys come in
//! the order AWS sends them (`version`, `id`, `detail-type`, `source`, `account`, `time`,
//! `region`, `resources`, `detail`); `time` is RFC 3339 in whole seconds with `Z`. The id and
//! the clock are the caller's: nothing here is random or reads the time.

use crate::entry::ValidEntry;
use crate::json::Json;

/// An instant an event can carry: whole seconds since the Unix epoch, between
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z (what four-digit RFC 3339 can write).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventTime(i64);

const MIN_SECONDS: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

impl EventTime {
    /// The instant `seconds` after the epoch; `None` outside years 0000-9999.
    pub fn from_epoch_seconds(seconds: i64) -> Option<EventTime> {
        (MIN_SECONDS..=MAX_SECONDS)
            .contains(&seconds)
            .then_some(EventTime(seconds))
    }

    /// Seconds since the epoch.
    pub fn epoch_seconds(self) -> i64 {
        self.0
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, as AWS writes an event's `time`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One event as EventBridge delivers it to rules and targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub detail_type: String,
    pub source: String,
    pub account: String,
    pub time: EventTime,
    pub region: String,
    pub resources: Vec<String>,
    pub detail: Json,
}

/// `detail-type` of the event a scheduled rule sends.
pub const SCHEDULED_DETAIL_TYPE: &str = "Scheduled Event";
/// `source` of the event a scheduled rule sends.
pub const SCHEDULED_SOURCE: &str = "aws.events";

impl Envelope {
    /// The event built from an accepted PutEvents entry, put on a bus of `account` in
    /// `region`: its own `Time` if it had one, otherwise `received` (the PutEvents call's
    /// time, as the model documents).
    pub fn custom(
        entry: &ValidEntry,
        id: &str,
        account: &str,
        region: &str,
        received: EventTime,
    ) -> Envelope {
        Envelope {
            id: id.to_owned(),
            detail_type: entry.detail_type.clone(),
            source: entry.source.clone(),
            account: account.to_owned(),
            time: entry.time.unwrap_or(received),
            region: region.to_owned(),
            resources: entry.resources.clone(),
            detail: entry.detail.clone(),
        }
    }

    /// The event a scheduled rule (`rule_arn`) sends at `time`: detail-type
    /// `Scheduled Event`, source `aws.events`, the rule as its only resource, empty detail.
    pub fn scheduled(
        id: &str,
        account: &str,
        region: &str,
        time: EventTime,
        rule_arn: &str,
    ) -> Envelope {
        Envelope {
            id: id.to_owned(),
            detail_type: SCHEDULED_DETAIL_TYPE.to_owned(),
            source: SCHEDULED_SOURCE.to_owned(),
            account: account.to_owned(),
            time,
            region: region.to_owned(),
            resources: vec![rule_arn.to_owned()],
            detail: Json::Object(Vec::new()),
        }
    }

    /// The event as a JSON value, keys in AWS's order.
    pub fn to_json(&self) -> Json {
        let text = |s: &str| Json::String(s.to_owned());
        Json::Object(vec![
            ("version".to_owned(), text("0")),
            ("id".to_owned(), text(&self.id)),
            ("detail-type".to_owned(), text(&self.detail_type)),
            ("source".to_owned(), text(&self.source)),
            ("account".to_owned(), text(&self.account)),
            ("time".to_owned(), Json::String(self.time.to_rfc3339())),
            ("region".to_owned(), text(&self.region)),
            (
                "resources".to_owned(),
                Json::Array(self.resources.iter().map(|r| text(r)).collect()),
            ),
            ("detail".to_owned(), self.detail.clone()),
        ])
    }

    /// The event as compact JSON text: what a target without input settings receives.
    pub fn to_text(&self) -> String {
        self.to_json().to_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{validate_entry, PutEventsEntry};

    fn at(seconds: i64) -> EventTime {
        EventTime::from_epoch_seconds(seconds).expect("in range")
    }

    #[test]
    fn formats_rfc3339_seconds() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1, "1970-01-01T00:00:01Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_447_277_394, "2015-11-11T21:29:54Z"),
            (1_796_292_000, "2026-12-03T10:00:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (MIN_SECONDS, "0000-01-01T00:00:00Z"),
            (MAX_SECONDS, "9999-12-31T23:59:59Z"),
        ];
        for (seconds, want) in cases {
            assert_eq!(at(seconds).to_rfc3339(), want, "for {seconds}");
            assert_eq!(at(seconds).epoch_seconds(), seconds);
        }
    }

    #[test]
    fn refuses_times_rfc3339_cannot_write() {
        assert_eq!(EventTime::from_epoch_seconds(MIN_SECONDS - 1), None);
        assert_eq!(EventTime::from_epoch_seconds(MAX_SECONDS + 1), None);
        assert_eq!(EventTime::from_epoch_seconds(i64::MIN), None);
        assert_eq!(EventTime::from_epoch_seconds(i64::MAX), None);
    }

    fn entry(json: &str) -> ValidEntry {
        let raw: PutEventsEntry = serde_json::from_str(json).expect("entry JSON");
        validate_entry(&raw).expect("valid entry")
    }

    #[test]
    fn custom_event_in_aws_order_with_detail_order_kept() {
        let e = entry(
            r#"{"Source":"com.example.orders","DetailType":"Order Placed",
                "Detail":"{ \"zeta\": 1, \"alpha\": {\"y\": [1, 2], \"b\": \"x\"} }",
                "Resources":["arn:aws:s3:::bucket","r2"]}"#,
        );
        let envelope = Envelope::custom(
            &e,
            "6f7c7a0e-1b2c-4d5e-8f90-123456789abc",
            "123456789012",
            "eu-west-1",
            at(1_796_292_000),
        );
        assert_eq!(
            envelope.to_text(),
            concat!(
                r#"{"version":"0","id":"6f7c7a0e-1b2c-4d5e-8f90-123456789abc","#,
                r#""detail-type":"Order Placed","source":"com.example.orders","#,
                r#""account":"123456789012","time":"2026-12-03T10:00:00Z","#,
                r#""region":"eu-west-1","resources":["arn:aws:s3:::bucket","r2"],"#,
                r#""detail":{"zeta":1,"alpha":{"y":[1,2],"b":"x"}}}"#
            )
        );
    }

    #[test]
    fn custom_event_takes_entry_time_over_received() {
        let e = entry(r#"{"Source":"s","DetailType":"d","Detail":"{}","Time":1447277394.9}"#);
        let envelope = Envelope::custom(&e, "id-1", "111111111111", "us-east-1", at(0));
        assert_eq!(
            envelope.to_text(),
            r#"{"version":"0","id":"id-1","detail-type":"d","source":"s","account":"111111111111","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":[],"detail":{}}"#
        );
    }

    #[test]
    fn scheduled_event() {
        let rule = "arn:aws:events:us-east-1:123456789012:rule/nightly";
        let envelope = Envelope::scheduled(
            "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "123456789012",
            "us-east-1",
            at(1_444_323_186),
            rule,
        );
        assert_eq!(
            envelope.to_text(),
            r#"{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2015-10-08T16:53:06Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/nightly"],"detail":{}}"#
        );
        assert_eq!(
            envelope.to_json().to_value()["detail-type"],
            "Scheduled Event"
        );
    }

    #[test]
    fn strings_are_escaped() {
        let e = entry(r#"{"Source":"a\"b","DetailType":"line\nbreak","Detail":"{}"}"#);
        let text = Envelope::custom(&e, "i", "1", "r", at(0)).to_text();
        assert!(
            text.contains(r#""detail-type":"line\nbreak","source":"a\"b""#),
            "{text}"
        );
        assert!(Json::parse(&text).is_ok());
    }
}
