//! Any bytes a function answers a 2.0 event with (`hearth_http_events::response`): never
//! a panic; an answer it accepts is one an HTTP server can send (a real status, a
//! `Content-Type`), and a JSON answer without `statusCode` is a 200 whose body is the
//! payload (a JSON string's text for a string).
#![no_main]

use hearth_http_events::response::response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = response(data) else {
        return;
    };
    assert!((100..=999).contains(&r.status().as_u16()));
    assert!(r.headers().contains_key("content-type"));
    let v: serde_json::Value = serde_json::from_slice(data).expect("accepted answers are JSON");
    let has_status = v.as_object().is_some_and(|o| o.contains_key("statusCode"));
    if !has_status {
        assert_eq!(r.status().as_u16(), 200);
        match &v {
            serde_json::Value::String(s) => assert_eq!(r.body().as_ref(), s.as_bytes()),
            _ => assert_eq!(r.body().as_ref(), data),
        }
    }
});
