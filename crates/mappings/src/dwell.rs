//! What a batch of SQS messages tells its invocation's trace about the time it waited.
//!
//! UNSURE: as we remember AWS's documentation, X-Ray shows an SQS → Lambda invocation as
//! an event source mapping's synchronous invoke, linked to the producer's trace through
//! the messages' `AWSTraceHeader` attribute; whether AWS's `AWS::Lambda` segment carries
//! `Dwell Time`/`Attempt #N` subsegments for it is not documented that we know of. Chosen
//! here, so that the queue time shows: the batch is "accepted" when its oldest message was
//! sent (`SentTimestamp`), and its attempt is that message's `ApproximateReceiveCount`.

use hearth_triggers::Queued;

use crate::client::Message;

/// The batch's queue time: its oldest message's `SentTimestamp` and receive count, or
/// `None` when no message says when it was sent.
pub(crate) fn queued<'a>(batch: impl IntoIterator<Item = &'a Message>) -> Option<Queued> {
    batch
        .into_iter()
        .filter_map(|m| {
            let sent: i64 = m.attributes.get("SentTimestamp")?.parse().ok()?;
            let receives = m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1)
                .max(1);
            Some((sent, receives))
        })
        .min_by_key(|(sent, _)| *sent)
        .map(|(accepted_ms, attempt)| Queued {
            accepted_ms,
            attempt,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(attributes: &[(&str, &str)]) -> Message {
        Message {
            message_id: "m".into(),
            receipt_handle: "h".into(),
            body: String::new(),
            md5_of_body: String::new(),
            md5_of_message_attributes: None,
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            message_attributes: Default::default(),
        }
    }

    #[test]
    fn the_oldest_message_dates_the_batch() {
        let batch = [
            message(&[
                ("SentTimestamp", "1700000000500"),
                ("ApproximateReceiveCount", "1"),
            ]),
            message(&[
                ("SentTimestamp", "1700000000200"),
                ("ApproximateReceiveCount", "3"),
            ]),
            message(&[("SentTimestamp", "not a number")]),
        ];
        assert_eq!(
            queued(&batch),
            Some(Queued {
                accepted_ms: 1_700_000_000_200,
                attempt: 3
            })
        );
    }

    #[test]
    fn without_a_sent_timestamp_there_is_no_queue_time() {
        assert_eq!(
            queued(&[message(&[("ApproximateReceiveCount", "2")])]),
            None
        );
        let unnumbered = [message(&[("SentTimestamp", "5")])];
        assert_eq!(
            queued(&unnumbered),
            Some(Queued {
                accepted_ms: 5,
                attempt: 1
            })
        );
    }
}
