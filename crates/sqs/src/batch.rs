//! The batch operations' shared rules (1 to 10 entries, distinct ids of letters, digits,
//! `-` and `_`, a send batch of at most 1 MiB) and the batches themselves: each entry
//! succeeds or fails on its own.

use std::collections::HashSet;

use futures_util::future::join_all;

use crate::error::{ErrorKind, SqsError};
use crate::message::{SendRequest, SentMessage};
use crate::service::{Local, QueueId};

/// Checks a batch's entry ids; `entry` names the entry shape in AWS's message
/// (`SendMessageBatchRequestEntry`).
pub fn check_batch(ids: &[&str], entry: &str) -> Result<(), SqsError> {
    if ids.is_empty() {
        return Err(SqsError::new(
            ErrorKind::EmptyBatchRequest,
            format!("There should be at least one {entry} in the request."),
        ));
    }
    if ids.len() > 10 {
        return Err(SqsError::new(
            ErrorKind::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                ids.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for id in ids {
        let ok = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(SqsError::new(
                ErrorKind::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(*id) {
            return Err(SqsError::new(
                ErrorKind::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

/// One entry's outcome.
pub type EntryResult<T> = (String, Result<T, SqsError>);

impl Local {
    /// SendMessageBatch: entries are sent in order (a FIFO queue keeps it) and committed
    /// together.
    pub async fn send_message_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, SendRequest)>,
    ) -> Result<Vec<EntryResult<SentMessage>>, SqsError> {
        let ids: Vec<&str> = entries.iter().map(|(i, _)| i.as_str()).collect();
        check_batch(&ids, "SendMessageBatchRequestEntry")?;
        let total: usize = entries
            .iter()
            .map(|(_, r)| {
                r.message.body.len()
                    + r.message
                        .attributes
                        .iter()
                        .map(|(k, v)| {
                            k.len()
                                + v.data_type.len()
                                + v.string_value.as_ref().map_or(0, String::len)
                                + v.binary_value.as_ref().map_or(0, Vec::len)
                        })
                        .sum::<usize>()
            })
            .sum();
        let max = crate::attributes::MAX_MESSAGE_SIZE as usize;
        if total > max {
            return Err(SqsError::new(
                ErrorKind::BatchRequestTooLong,
                format!("Batch requests cannot be longer than {max} bytes. You have sent {total} bytes."),
            ));
        }
        let q = self.queue(id)?;
        // join_all polls in order: each send is handed to the commit in entry order.
        let sends = entries.into_iter().map(|(entry, req)| {
            let q = q.clone();
            async move { (entry, self.send_to(&q, req).await) }
        });
        Ok(join_all(sends).await)
    }

    /// DeleteMessageBatch.
    pub async fn delete_message_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, String)>,
    ) -> Result<Vec<EntryResult<()>>, SqsError> {
        let ids: Vec<&str> = entries.iter().map(|(i, _)| i.as_str()).collect();
        check_batch(&ids, "DeleteMessageBatchRequestEntry")?;
        self.queue(id)?;
        let deletes = entries.into_iter().map(|(entry, handle)| async move {
            let r = self.delete_message(id, &handle).await;
            (entry, r)
        });
        Ok(join_all(deletes).await)
    }

    /// ChangeMessageVisibilityBatch.
    pub fn change_message_visibility_batch(
        &self,
        id: &QueueId,
        entries: Vec<(String, String, i64)>,
    ) -> Result<Vec<EntryResult<()>>, SqsError> {
        let ids: Vec<&str> = entries.iter().map(|(i, _, _)| i.as_str()).collect();
        check_batch(&ids, "ChangeMessageVisibilityBatchRequestEntry")?;
        self.queue(id)?;
        Ok(entries
            .into_iter()
            .map(|(entry, handle, t)| {
                let r = self.change_message_visibility(id, &handle, t);
                (entry, r)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_rules() {
        assert_eq!(
            check_batch(&[], "E").expect_err("empty").kind,
            ErrorKind::EmptyBatchRequest
        );
        let many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            check_batch(&many, "E").expect_err("many").kind,
            ErrorKind::TooManyEntriesInBatchRequest
        );
        assert_eq!(
            check_batch(&["a", "a"], "E").expect_err("dup").message,
            "Id a repeated."
        );
        assert_eq!(
            check_batch(&["a b"], "E").expect_err("bad").kind,
            ErrorKind::InvalidBatchEntryId
        );
        assert!(check_batch(&["a", "b-c_d"], "E").is_ok());
    }
}
