//! What clients and functions send is untrusted: route keys (CreateRoute's), request
//! paths, and function answers never make the parsers panic, and what they accept holds
//! together.

use hearth_http_events::routes::{match_route, RouteKey};
use hearth_http_events::v1;
use http::Method;
use proptest::prelude::*;

proptest! {
    #[test]
    fn route_keys_and_paths_never_panic(
        keys in proptest::collection::vec("(\\$default|(GET|ANY|POST|FETCH) /[a-z{}+/%]{0,20})", 0..6),
        path in "/[a-z{}+/%0-9]{0,30}",
    ) {
        let parsed: Vec<RouteKey> = keys.iter().filter_map(|k| RouteKey::parse(k).ok()).collect();
        if let Some(m) = match_route(&parsed, &Method::GET, &path) {
            prop_assert!(m.index < parsed.len());
            // A route that matches binds a parameter for each of its variables.
            let resource = parsed[m.index].resource();
            prop_assert_eq!(resource.matches('{').count(), m.path_parameters.len());
        }
    }

    #[test]
    fn function_answers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = v1::response(&bytes);
    }

    #[test]
    fn a_well_formed_answer_keeps_its_status_and_body(status in 100u16..600, body in ".{0,40}") {
        let answer = serde_json::json!({ "statusCode": status, "body": body });
        let resp = v1::response(answer.to_string().as_bytes()).expect("well formed");
        prop_assert_eq!(resp.status().as_u16(), status);
        prop_assert_eq!(resp.body().as_ref(), body.as_bytes());
    }
}
