//! The EventBridge Scheduler API as the client speaks it (REST-JSON, signed for
//! `scheduler`): the paths and query names of botocore's `scheduler` 2021-06-30 model for
//! CreateSchedule, DeleteSchedule and ListSchedules.

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, Client};

/// The credential scope's service of the Scheduler API.
pub const SERVICE: &str = "scheduler";

/// ListSchedules' pages are followed at most this far: a server that kept answering new
/// tokens would otherwise keep `hearth ls` waiting forever.
const MAX_PAGES: usize = 1000;

/// `POST /schedules/{Name}` (CreateSchedule).
pub fn schedule_path(name: &str) -> String {
    format!("/schedules/{}", encode(name))
}

/// `/schedules/{Name}?groupName=G` (DeleteSchedule, GetSchedule): the group is a query
/// parameter named `groupName` there, unlike ListSchedules' `ScheduleGroup`.
pub fn schedule_in_group_path(name: &str, group: Option<&str>) -> String {
    match group {
        Some(group) => format!("{}?groupName={}", schedule_path(name), encode(group)),
        None => schedule_path(name),
    }
}

/// `GET /schedules` (ListSchedules) of one group (every group without one), from a page's
/// `NextToken`.
pub fn list_path(group: Option<&str>, next: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(group) = group {
        query.push(format!("ScheduleGroup={}", encode(group)));
    }
    if let Some(next) = next {
        query.push(format!("NextToken={}", encode(next)));
    }
    if query.is_empty() {
        "/schedules".to_string()
    } else {
        format!("/schedules?{}", query.join("&"))
    }
}

/// Every schedule summary (`Name`, `GroupName`, `State`, `Target.Arn`, ...) of one group,
/// or of all groups, all pages.
pub fn list_all(client: &Client, group: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut schedules = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client.call_to(
            SERVICE,
            Method::GET,
            &list_path(group, next.as_deref()),
            None,
        )?;
        if let Some(items) = page.get("Schedules").and_then(Value::as_array) {
            schedules.extend(items.iter().cloned());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) if !token.is_empty() && next.as_deref() != Some(token) => {
                next = Some(token.to_string());
            }
            _ => break,
        }
    }
    Ok(schedules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_model() {
        assert_eq!(schedule_path("every-5"), "/schedules/every-5");
        assert_eq!(schedule_path("a b"), "/schedules/a%20b");
        assert_eq!(
            schedule_in_group_path("n", Some("ops team")),
            "/schedules/n?groupName=ops%20team"
        );
        assert_eq!(schedule_in_group_path("n", None), "/schedules/n");
        assert_eq!(list_path(None, None), "/schedules");
        assert_eq!(list_path(Some("g"), None), "/schedules?ScheduleGroup=g");
        assert_eq!(
            list_path(Some("g"), Some("t/1=")),
            "/schedules?ScheduleGroup=g&NextToken=t%2F1%3D"
        );
        assert_eq!(list_path(None, Some("t")), "/schedules?NextToken=t");
    }
}
