//! The map for the tables every invocation looks up (admission, the pool, the function
//! registry, the signing keys): std's `HashMap` with foldhash instead of SipHash. Each
//! warm invoke hashed some twenty names with SipHash, about 200 instructions apiece;
//! foldhash is seeded per process, like std's, and costs a fraction of that. Their keys
//! are names an authenticated caller chose, not data from the open network.

/// A `HashMap` hashed with foldhash; made with `FastMap::default()`.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
