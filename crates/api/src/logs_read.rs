//! CloudWatch Logs' reading operations over functions' log groups: DescribeLogGroups,
//! DescribeLogStreams, GetLogEvents and FilterLogEvents, with the shapes of botocore's
//! `logs/2014-03-28` model and the answers recorded on AWS. The store picks the lines
//! (streams, time ranges, patterns, direction); this file only reads the request and
//! writes the answer and its paging tokens.

use hearth_engine::{LogEvent, LogGroupInfo, LogQuery, LogStreamInfo};
use hearth_model::arn::{function_key, key_account, key_name, REGION};
use hearth_model::log_filter::FilterPattern;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::cloudwatch_logs::{function_of, LogsError, GROUP_PREFIX};
use crate::AppState;

/// CloudWatch's bound on one answer's events: 1 MB, each event counting 26 bytes more
/// than its message.
const RESPONSE_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const EVENTS_LIMIT: i64 = 10_000;
const DESCRIBE_LIMIT: i64 = 50;
/// Bytes of lines one FilterLogEvents call reads at most; it then answers what it found
/// with a `nextToken` (possibly with no events), as CloudWatch does when a search takes
/// long, so that a rare pattern over a large group does not hold the store.
const FILTER_SCAN_BYTES: usize = 16 << 20;

fn invalid(message: impl Into<String>) -> LogsError {
    LogsError::client("InvalidParameterException", message)
}

fn bad_token() -> LogsError {
    invalid("The specified nextToken is invalid.")
}

fn no_stream() -> LogsError {
    LogsError::client(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
}

/// `limit` within `1..=max`, as AWS's validator words a violation.
fn limit(value: Option<i64>, max: i64, default: i64) -> Result<usize, LogsError> {
    match value {
        None => Ok(default as usize),
        Some(v) if v < 1 => Err(invalid(format!(
            "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        Some(v) if v > max => Err(invalid(format!(
            "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to {max}"
        ))),
        Some(v) => Ok(v as usize),
    }
}

fn group_arn(group: &str, account: &str) -> String {
    format!("arn:aws:logs:{REGION}:{account}:log-group:{group}")
}

/// The key of `account`'s function whose group a request's `logGroupName` or
/// `logGroupIdentifier` (a name or an ARN) names.
fn group_of(
    name: &Option<String>,
    identifier: &Option<String>,
    account: &str,
) -> Result<String, LogsError> {
    let group = match (name, identifier) {
        (Some(_), Some(_)) => {
            return Err(LogsError::client(
                "ValidationException",
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            ))
        }
        (Some(n), None) => n.as_str(),
        (None, Some(id)) if id.starts_with("arn:") => id
            .strip_prefix(&group_arn("", account))
            .map(|g| g.strip_suffix(":*").unwrap_or(g))
            .ok_or_else(|| {
                LogsError::client(
                    "ResourceNotFoundException",
                    "The specified log group does not exist.",
                )
            })?,
        (None, Some(id)) => id.as_str(),
        (None, None) => {
            return Err(invalid(
                "Either logGroupName or logGroupIdentifier is required.",
            ))
        }
    };
    function_of(group).map(|name| function_key(account, name))
}

/// Keeps the events that fit in one answer; true if some were left out.
fn fit(events: &mut Vec<LogEvent>) -> bool {
    let mut bytes = 0;
    let fits = events
        .iter()
        .take_while(|e| {
            bytes += e.message.len() + EVENT_OVERHEAD;
            bytes <= RESPONSE_BYTES
        })
        .count()
        .max(1);
    let cut = fits < events.len();
    events.truncate(fits);
    cut
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLogGroups {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(crate) async fn describe_log_groups(
    s: &AppState,
    account: &str,
    req: DescribeLogGroups,
) -> Result<Value, LogsError> {
    if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
        return Err(invalid(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let limit = limit(req.limit, DESCRIBE_LIMIT, DESCRIBE_LIMIT)?;
    let groups = s.engine.log_groups().await?;
    let named = groups
        .into_iter()
        .filter(|g| key_account(&g.function) == account)
        .map(|g| (format!("{GROUP_PREFIX}{}", key_name(&g.function)), g));
    let mut chosen: Vec<(String, LogGroupInfo)> = named
        .filter(|(name, _)| {
            req.log_group_name_prefix
                .as_deref()
                .is_none_or(|p| name.starts_with(p))
                && req
                    .log_group_name_pattern
                    .as_deref()
                    .is_none_or(|p| name.contains(p))
        })
        .collect();
    // The token is the last name answered; groups are in name order.
    if let Some(token) = &req.next_token {
        chosen.retain(|(name, _)| name.as_str() > token.as_str());
    }
    let more = chosen.len() > limit;
    chosen.truncate(limit);
    let next = more
        .then(|| chosen.last().map(|(n, _)| n.clone()))
        .flatten();
    let log_groups: Vec<Value> = chosen
        .into_iter()
        .map(|(name, g)| {
            let mut o = Map::new();
            o.insert("logGroupName".into(), json!(name));
            if let Some(t) = g.first_ts {
                o.insert("creationTime".into(), json!(t));
            }
            if let Some(d) = g.retention_days {
                o.insert("retentionInDays".into(), json!(d));
            }
            o.insert("metricFilterCount".into(), json!(0));
            o.insert(
                "arn".into(),
                json!(format!("{}:*", group_arn(&name, account))),
            );
            o.insert("storedBytes".into(), json!(g.stored_bytes));
            o.insert("logGroupClass".into(), json!("STANDARD"));
            o.insert("logGroupArn".into(), json!(group_arn(&name, account)));
            o.insert("deletionProtectionEnabled".into(), json!(false));
            Value::Object(o)
        })
        .collect();
    let mut out = json!({ "logGroups": log_groups });
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLogStreams {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

pub(crate) async fn describe_log_streams(
    s: &AppState,
    account: &str,
    req: DescribeLogStreams,
) -> Result<Value, LogsError> {
    let function = group_of(&req.log_group_name, &req.log_group_identifier, account)?;
    let by_time = match req.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )))
        }
    };
    if by_time && req.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let limit = limit(req.limit, DESCRIBE_LIMIT, DESCRIBE_LIMIT)?;
    let mut streams: Vec<LogStreamInfo> = s.engine.log_streams(&function).await?;
    if let Some(p) = &req.log_stream_name_prefix {
        streams.retain(|st| st.name.starts_with(p.as_str()));
    }
    if by_time {
        streams.sort_by(|a, b| a.last_ts.cmp(&b.last_ts).then(a.name.cmp(&b.name)));
    }
    if req.descending.unwrap_or(false) {
        streams.reverse();
    }
    // The token is how many streams of this order were answered before.
    let skip = match &req.next_token {
        None => 0,
        Some(t) => t
            .strip_prefix("s/")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(bad_token)?,
    };
    let total = streams.len();
    let group = format!("{GROUP_PREFIX}{}", key_name(&function));
    let page: Vec<Value> = streams
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|st| {
            json!({
                "logStreamName": st.name,
                "creationTime": st.first_ts,
                "firstEventTimestamp": st.first_ts,
                "lastEventTimestamp": st.last_ts,
                "lastIngestionTime": st.last_ts,
                "uploadSequenceToken": format!("{:056}", st.last_id + 1),
                "arn": format!("{}:log-stream:{}", group_arn(&group, account), st.name),
                // Deprecated by CloudWatch, which answers 0 for every stream.
                "storedBytes": 0,
            })
        })
        .collect();
    let mut out = json!({ "logStreams": page });
    if skip + limit < total {
        out["nextToken"] = json!(format!("s/{}", skip + limit));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetLogEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
    // `unmask` and `interleaved` are read and ignored, as unknown members are: Hearth
    // masks nothing and always interleaves streams.
}

/// A GetLogEvents position: `f/N` reads events with ids from N on, `b/N` those before N
/// (the ids are the store's; zero-padded as CloudWatch's tokens are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Forward(i64),
    Backward(i64),
}

impl Token {
    fn parse(t: &str) -> Result<Self, LogsError> {
        let (dir, rest) = t.split_at_checked(2).ok_or_else(bad_token)?;
        let n = rest
            .strip_suffix("/s")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(bad_token)?;
        match dir {
            "f/" => Ok(Self::Forward(n)),
            "b/" => Ok(Self::Backward(n)),
            _ => Err(bad_token()),
        }
    }

    fn encode(self) -> String {
        match self {
            Self::Forward(n) => format!("f/{n:056}/s"),
            Self::Backward(n) => format!("b/{n:056}/s"),
        }
    }
}

pub(crate) async fn get_log_events(
    s: &AppState,
    account: &str,
    req: GetLogEvents,
) -> Result<Value, LogsError> {
    let function = group_of(&req.log_group_name, &req.log_group_identifier, account)?;
    let limit = limit(req.limit, EVENTS_LIMIT, EVENTS_LIMIT)?;
    let token = req.next_token.as_deref().map(Token::parse).transpose()?;
    let mut q = LogQuery {
        since_ms: req.start_time,
        until_ms: req.end_time,
        streams: vec![req.log_stream_name.clone()],
        limit,
        ..Default::default()
    };
    match token {
        Some(Token::Forward(n)) => q.after = Some(n - 1),
        Some(Token::Backward(n)) => {
            q.before = Some(n);
            q.newest_first = true;
        }
        // Without a token, the newest events unless asked for the oldest.
        None => q.newest_first = !req.start_from_head.unwrap_or(false),
    }
    let mut events = s.engine.logs(&function, q.clone()).await?;
    if q.newest_first {
        // Newest first in the store's answer, oldest first in the response; when one
        // answer cannot hold them all, the ones nearest the start position are kept.
        fit(&mut events);
        events.reverse();
    } else {
        fit(&mut events);
    }
    if events.is_empty() && token.is_none() {
        let streams = s.engine.log_streams(&function).await?;
        if !streams.iter().any(|st| st.name == req.log_stream_name) {
            return Err(no_stream());
        }
    }
    // At the end of the stream a token comes back as it was given.
    let (forward, backward) = match (events.first(), events.last(), token) {
        (Some(first), Some(last), _) => (Token::Forward(last.id + 1), Token::Backward(first.id)),
        (_, _, Some(Token::Forward(n))) => (Token::Forward(n), Token::Backward(n)),
        (_, _, Some(Token::Backward(n))) => (Token::Forward(n), Token::Backward(n)),
        _ => (Token::Forward(0), Token::Backward(0)),
    };
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            json!({
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.timestamp,
            })
        })
        .collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": forward.encode(),
        "nextBackwardToken": backward.encode(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilterLogEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
    // `unmask` and `interleaved` are read and ignored, as unknown members are: Hearth
    // masks nothing and always interleaves streams.
}

pub(crate) async fn filter_log_events(
    s: &AppState,
    account: &str,
    req: FilterLogEvents,
) -> Result<Value, LogsError> {
    let function = group_of(&req.log_group_name, &req.log_group_identifier, account)?;
    if req.log_stream_names.is_some() && req.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    if let Some(names) = &req.log_stream_names {
        if names.is_empty() || names.len() > 100 {
            return Err(invalid(format!(
                "1 validation error detected: Value '{names:?}' at 'logStreamNames' failed to satisfy constraint: Member must have length between 1 and 100"
            )));
        }
    }
    let limit = limit(req.limit, EVENTS_LIMIT, EVENTS_LIMIT)?;
    let pattern = match req.filter_pattern.as_deref() {
        None => None,
        Some(p) if p.len() > 1024 => {
            return Err(invalid(
                "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024",
            ))
        }
        Some(p) => Some(FilterPattern::parse(p).map_err(|e| invalid(e.to_string()))?),
    };
    // The token carries the direction and the next id; the rest of the request is
    // sent again by the client.
    let token = req.next_token.as_deref().map(Token::parse).transpose()?;
    let newest_first = match token {
        Some(Token::Backward(_)) => true,
        Some(Token::Forward(_)) => false,
        None => !req.start_from_head.unwrap_or(true),
    };
    let q = LogQuery {
        after: match token {
            Some(Token::Forward(n)) => Some(n - 1),
            _ => None,
        },
        before: match token {
            Some(Token::Backward(n)) => Some(n),
            _ => None,
        },
        since_ms: req.start_time,
        // FilterLogEvents' endTime is inclusive, GetLogEvents' is not.
        until_ms: req.end_time.map(|t| t.saturating_add(1)),
        streams: req.log_stream_names.unwrap_or_default(),
        stream_prefix: req.log_stream_name_prefix,
        pattern,
        newest_first,
        limit,
        scan_bytes: Some(FILTER_SCAN_BYTES),
    };
    let scan = s.engine.scan_logs(&function, q).await?;
    let mut events = scan.events;
    if events.is_empty() && token.is_none() && !s.engine.log_group_exists(&function).await? {
        return Err(LogsError::client(
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        ));
    }
    let cut = fit(&mut events);
    let next = match (cut || events.len() >= limit, events.last(), scan.resume) {
        (true, Some(last), _) if newest_first => Some(Token::Backward(last.id)),
        (true, Some(last), _) => Some(Token::Forward(last.id + 1)),
        (_, _, Some(at)) if newest_first => Some(Token::Backward(at)),
        (_, _, Some(at)) => Some(Token::Forward(at + 1)),
        _ => None,
    };
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            json!({
                "logStreamName": e.log_stream,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.timestamp,
                "eventId": format!("{:056}", e.id),
            })
        })
        .collect();
    let mut out = json!({ "events": events, "searchedLogStreams": [] });
    if let Some(t) = next {
        out["nextToken"] = json!(t.encode());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::arn::ACCOUNT;

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        for t in [Token::Forward(0), Token::Backward(123_456)] {
            assert_eq!(Token::parse(&t.encode()).ok(), Some(t));
        }
        for bad in ["", "x", "f/", "f/12", "f/-1/s", "z/1/s", "f/abc/s"] {
            assert!(Token::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_names_and_arns() {
        let name = |n: Option<&str>, id: Option<&str>| {
            group_of(&n.map(String::from), &id.map(String::from), ACCOUNT).map_err(|e| e.code)
        };
        assert_eq!(name(Some("/aws/lambda/f"), None), Ok("f".into()));
        assert_eq!(name(None, Some("/aws/lambda/f")), Ok("f".into()));
        let arn = group_arn("/aws/lambda/f", ACCOUNT);
        assert_eq!(name(None, Some(&arn)), Ok("f".into()));
        assert_eq!(name(None, Some(&format!("{arn}:*"))), Ok("f".into()));
        assert_eq!(
            name(Some("/aws/lambda/f"), Some(&arn)),
            Err("ValidationException")
        );
        assert_eq!(name(None, None), Err("InvalidParameterException"));
        assert_eq!(
            name(Some("/other/f"), None),
            Err("ResourceNotFoundException")
        );
        // Another account's group, by name and by ARN: that account's function.
        let other = "111122223333";
        let mine = group_of(&Some("/aws/lambda/f".into()), &None, other).map_err(|e| e.code);
        assert_eq!(mine, Ok("111122223333:f".into()));
        let by_arn = group_of(&None, &Some(group_arn("/aws/lambda/f", other)), other);
        assert_eq!(by_arn.map_err(|e| e.code), Ok("111122223333:f".into()));
        // The default account's ARN, asked in another account, is no group of its.
        let theirs = group_of(&None, &Some(arn), other).map_err(|e| e.code);
        assert_eq!(theirs, Err("ResourceNotFoundException"));
    }
}
