//! `Marker` / `MaxItems` pagination for the list operations whose items live in memory
//! (versions, aliases, provisioned-concurrency configurations): the marker is the
//! position of the next item.

use std::collections::HashMap;

use hearth_model::AwsError;

use crate::error::ApiResult;

/// `MaxItems` from the query: `default` when absent, else 1..=`max`.
pub(crate) fn max_items(
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> ApiResult<usize> {
    match query.get("MaxItems") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AwsError::constraint(
                v,
                "maxItems",
                &format!("Member must have value between 1 and {max}"),
            )
            .into()),
        },
    }
}

/// The request's `Marker`, if it has a non-empty one.
pub(crate) fn marker(query: &HashMap<String, String>) -> Option<&str> {
    query
        .get("Marker")
        .map(String::as_str)
        .filter(|m| !m.is_empty())
}

/// The page of `items` after `Marker`, and the marker of the next page.
pub(crate) fn page<T>(
    items: Vec<T>,
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let limit = max_items(query, default, max)?;
    let start = match marker(query) {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| AwsError::invalid(format!("Invalid Marker: {m}")))?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + out.len() < total).then(|| (start + out.len()).to_string());
    Ok((out, next))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query string's parameters, as the handlers receive them.
    pub(crate) fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_walk_the_whole_list() {
        let items: Vec<u32> = (0..5).collect();
        let (a, next) = page(items.clone(), &q(&[("MaxItems", "2")]), 50, 50).expect("page");
        assert_eq!((a, next.as_deref()), (vec![0, 1], Some("2")));
        let (b, next) = page(
            items.clone(),
            &q(&[("MaxItems", "2"), ("Marker", "4")]),
            50,
            50,
        )
        .expect("page");
        assert_eq!((b, next), (vec![4], None));
        assert!(page(items.clone(), &q(&[("MaxItems", "0")]), 50, 50).is_err());
        assert!(page(items, &q(&[("Marker", "x")]), 50, 50).is_err());
    }
}
