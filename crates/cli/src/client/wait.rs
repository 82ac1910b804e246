//! Waiting for a function to settle after CreateFunction or an update, by polling
//! GetFunctionConfiguration (what the `function_active_v2` / `function_updated_v2` waiters do).

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;
use ureq::http::Method;

use super::http::{function_path, Client};

/// Creating a function unpacks and checks its code; generous, but bounded.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Polls until the function is neither `Pending` nor `InProgress`, and returns its
/// configuration.
pub fn settled(client: &Client, name: &str) -> anyhow::Result<Value> {
    let path = format!("{}/configuration", function_path(name));
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let config = client.call(Method::GET, &path, None)?;
        if !is_busy(&config) {
            return Ok(config);
        }
        if Instant::now() >= deadline {
            bail!(
                "{name} is still {} after {} s",
                field(&config, "State"),
                SETTLE_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Polls until the function has settled and checks that it is usable: `State` Active and the
/// last update (if any) Successful.
pub fn ready(client: &Client, name: &str) -> anyhow::Result<Value> {
    let config = settled(client, name)?;
    if field(&config, "State") == "Failed" {
        bail!(
            "{name} failed to become active: {}: {}",
            field(&config, "StateReasonCode"),
            field(&config, "StateReason")
        );
    }
    if field(&config, "LastUpdateStatus") == "Failed" {
        bail!(
            "updating {name} failed: {}: {}",
            field(&config, "LastUpdateStatusReasonCode"),
            field(&config, "LastUpdateStatusReason")
        );
    }
    Ok(config)
}

fn is_busy(config: &Value) -> bool {
    field(config, "State") == "Pending" || field(config, "LastUpdateStatus") == "InProgress"
}

/// A string field of a configuration, or `-` when absent.
pub fn field<'a>(config: &'a Value, key: &str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn busy_states() {
        assert!(is_busy(&json!({"State": "Pending"})));
        assert!(is_busy(
            &json!({"State": "Active", "LastUpdateStatus": "InProgress"})
        ));
        assert!(!is_busy(
            &json!({"State": "Active", "LastUpdateStatus": "Successful"})
        ));
        assert!(!is_busy(&json!({"State": "Failed"})));
        assert_eq!(field(&json!({}), "State"), "-");
    }
}
