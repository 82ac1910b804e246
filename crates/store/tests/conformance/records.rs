//! Records and code the tests store, and the steps several areas share.

use std::io::{Cursor, Write};

use hearth_model::alias::Alias;
use hearth_model::FunctionConfig;
use hearth_store::{Publish, Store};

/// A minimal `$LATEST` record.
pub use hearth_model::testing::function as sample;

/// Publishes `$LATEST` of `name` as its next version.
pub fn publish(store: &Store, name: &str) -> FunctionConfig {
    store
        .metadata()
        .publish_version(name, |latest, _, next| {
            let mut v = latest.clone();
            v.version = next.to_string();
            Ok::<_, ()>(Publish::New(v))
        })
        .expect("store")
        .expect("the function exists")
        .expect("published")
}

/// An alias of `function` to version 1.
pub fn alias(function: &str, name: &str) -> Alias {
    Alias {
        function: function.into(),
        name: name.into(),
        function_version: "1".into(),
        description: String::new(),
        additional_weights: Default::default(),
        revision_id: "r1".into(),
    }
}

/// A zip of `(name, contents, unix mode)` entries.
pub fn zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, data, mode) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*name, opts).expect("start an entry");
            w.write_all(data).expect("write an entry");
        }
        w.finish().expect("finish the zip");
    }
    buf.into_inner()
}
