//! Any text as what a client claims about its signature: an `Authorization` header, a
//! presigned URL's query string, a credential scope. The parsers refuse or accept, never
//! panic, and what they accept names a scope that parses again.
#![no_main]

use hearth_auth::parse::{parse_authorization, parse_presigned, parse_scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for claimed in [parse_authorization(text), parse_presigned(text)]
        .into_iter()
        .flatten()
    {
        let s = &claimed.scope;
        let again = format!(
            "{}/{}/{}/{}/aws4_request",
            s.access_key_id, s.date, s.region, s.service
        );
        assert_eq!(parse_scope(&again).ok().as_ref(), Some(s), "{again}");
    }
    let _ = parse_scope(text);
});
