//! What the layer tests share: two layer zips whose files overlap, a `provided`
//! function whose `bootstrap` (sh and curl) answers each event with what it finds on
//! its layers' `PATH` and `LD_LIBRARY_PATH`, and a way to give a function layers
//! without the Layers API (their zips written into the code store, the function's row
//! naming them, as `UpdateFunctionConfiguration` with `Layers` will).

#![allow(dead_code)]

use std::io::Write;

use hearth_engine::{Engine, NewFunction};
use hearth_model::function::LayerRef;

/// What the function answers when the second layer's files win over the first's.
pub const EXPECTED: &str = "\"two first lib-two\"";

/// A zip of `(name, contents, mode)`.
pub fn zip(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    for (name, body, mode) in files {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        zip.start_file(*name, opts).expect("zip entry");
        zip.write_all(body.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip finish");
    buf.into_inner()
}

/// The first layer: `bin/answer` (says `one`), `bin/only-one`, `lib/lib.txt`.
pub fn first_layer() -> Vec<u8> {
    zip(&[
        ("bin/answer", "#!/bin/sh\necho one\n", 0o755),
        ("bin/only-one", "#!/bin/sh\necho first\n", 0o755),
        ("lib/lib.txt", "lib-one", 0o644),
    ])
}

/// The second layer: its `bin/answer` says `two`, its `lib/lib.txt` replaces the first's.
pub fn second_layer() -> Vec<u8> {
    zip(&[
        ("bin/answer", "#!/bin/sh\necho two\n", 0o755),
        ("lib/lib.txt", "lib-two", 0o644),
    ])
}

/// A runtime in sh: each event is answered with `"<answer> <only-one> <lib.txt>"`,
/// the programs found on `PATH` and the file in the last directory of
/// `LD_LIBRARY_PATH` (Lambda's `/opt/lib`), then, if the function sets `OPT_PROBE`,
/// whether a file can be created there (`writable` or `read-only`).
const BOOTSTRAP: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while :; do
  id=$(curl -gsS -D - -o /dev/null "$api/invocation/next" | tr -d '\r' | sed -n 's/^lambda-runtime-aws-request-id: *//Ip')
  out="$(answer) $(only-one) $(cat "${LD_LIBRARY_PATH##*:}/lib.txt")"
  if [ -n "$OPT_PROBE" ]; then
    if touch "$OPT_PROBE" 2>/dev/null; then out="$out writable"; else out="$out read-only"; fi
  fi
  curl -gsS -X POST -d "\"$out\"" "$api/invocation/$id/response" >/dev/null
done
"#;

/// The `provided` function `name` running [`BOOTSTRAP`].
pub fn function(name: &str) -> NewFunction {
    NewFunction {
        zip: zip(&[("bootstrap", BOOTSTRAP, 0o755)]),
        timeout: 10,
        ..hearth_engine::testing::new_function(name)
    }
}

/// Stores `zips` as layer versions' code and gives them, in this order, to `name`.
pub fn give_layers(engine: &Engine, name: &str, zips: &[Vec<u8>]) -> Vec<LayerRef> {
    let store = engine.store();
    // The pins keep the zips until the row names them.
    let (layers, _pins): (Vec<LayerRef>, Vec<_>) = zips
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let (code, pin) = store.code().put_zip(z).expect("store a layer");
            let arn = format!("arn:aws:lambda:us-east-1:000000000000:layer:test{i}:1");
            (LayerRef { arn, code }, pin)
        })
        .unzip();
    store
        .metadata()
        .update_function(name, |f| {
            f.layers = layers.clone();
            Ok::<_, ()>(())
        })
        .expect("database")
        .expect("the function exists")
        .expect("updated");
    layers
}
