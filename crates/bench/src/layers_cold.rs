//! Cold start with five layers against none, side by side in one run: the layers are
//! composed into one `/opt` once per list of layers (when the function settles, or at
//! its first environment), so that an environment of a function with layers costs what
//! one without does. Published through the Layers API (`PublishLayerVersion`) and
//! given to functions with `CreateFunction`'s `Layers`, as a user would.

use std::io::Write;
use std::time::Instant;

use anyhow::bail;
use base64::Engine as _;
use serde_json::json;

use crate::load::Conn;
use crate::progress;
use crate::report::{millis, percentile, Report};
use crate::server::{self, FunctionSpec};

/// Layers per layered function.
const LAYERS: usize = 5;
/// Files in each layer: enough that composing them is not free.
const FILES_PER_LAYER: usize = 50;

/// A layer zip of [`FILES_PER_LAYER`] small files under `python/` and `bin/`, one of
/// them (`shared.txt`) in every layer, so that later layers replace it.
fn layer_zip(i: usize) -> anyhow::Result<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    for f in 0..FILES_PER_LAYER - 1 {
        zip.start_file(format!("python/layer{i}/m{f}.py"), opts)?;
        zip.write_all(format!("VALUE = {f}\n").as_bytes())?;
    }
    zip.start_file("shared.txt", opts)?;
    zip.write_all(format!("layer {i}\n").as_bytes())?;
    zip.finish()?;
    Ok(buf.into_inner())
}

/// PublishLayerVersion; the new version's ARN, or `None` when the server has no
/// Layers API (it answers the unknown resource with a client error).
fn publish(conn: &mut Conn, name: &str, zip: &[u8]) -> anyhow::Result<Option<String>> {
    let body = serde_json::to_vec(&json!({
        "Content": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
        "CompatibleRuntimes": ["provided.al2023"],
    }))?;
    let response = conn.request(
        "POST",
        &format!("/2018-10-31/layers/{name}/versions"),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    match response.status() {
        201 => {
            let v = server::json_of(&response)?;
            match v["LayerVersionArn"].as_str() {
                Some(arn) => Ok(Some(arn.to_string())),
                None => bail!("PublishLayerVersion answered no LayerVersionArn: {v}"),
            }
        }
        // A build without the Layers API says so.
        400 if response.text().contains("NotImplementedException") => Ok(None),
        s => bail!(
            "PublishLayerVersion {name} answered HTTP {s}: {}",
            response.text()
        ),
    }
}

/// `runs` functions with [`LAYERS`] layers and `runs` without, each invoked once (a new
/// environment each), alternating, timed by the client.
pub(super) fn cold_starts_with_layers(
    spec: &FunctionSpec,
    runs: usize,
    conn: &mut Conn,
    report: &mut Report,
) -> anyhow::Result<()> {
    progress(format!(
        "cold starts with {LAYERS} layers against none: {runs} of each"
    ));
    let mut arns = Vec::with_capacity(LAYERS);
    for i in 0..LAYERS {
        match publish(conn, &format!("bench-layer-{i}"), &layer_zip(i)?)? {
            Some(arn) => arns.push(arn),
            None => {
                report.add(
                    "cold_start_layers5_p50_ms",
                    "cold start p50, 5 layers (Rust)",
                    "ms",
                    None,
                    None,
                );
                report
                    .notes
                    .push("cold start with layers: skipped, the server has no Layers API".into());
                return Ok(());
            }
        }
    }
    let layered: Vec<String> = (0..runs).map(|i| format!("bench-layers5-{i}")).collect();
    let bare: Vec<String> = (0..runs).map(|i| format!("bench-layers0-{i}")).collect();
    for (with, without) in layered.iter().zip(&bare) {
        server::create_function_with_layers(conn, with, spec, &arns)?;
        server::create_function(conn, without, spec)?;
    }
    for name in layered.iter().chain(&bare) {
        server::wait_active(conn, name)?;
    }
    let payload = crate::payload_1k();
    let (mut with_layers, mut without) = (Vec::new(), Vec::new());
    for (l, b) in layered.iter().zip(&bare) {
        let started = Instant::now();
        server::invoke(conn, l, &payload)?;
        with_layers.push(started.elapsed());
        let started = Instant::now();
        server::invoke(conn, b, &payload)?;
        without.push(started.elapsed());
    }
    let with_layers = millis(&with_layers);
    let without = millis(&without);
    let (l50, b50) = (percentile(&with_layers, 50.0), percentile(&without, 50.0));
    report.add(
        "cold_start_layers5_p50_ms",
        "cold start p50, 5 layers (Rust)",
        "ms",
        l50,
        None,
    );
    report.add(
        "cold_start_layers0_p50_ms",
        "  the same run without layers, p50",
        "ms",
        b50,
        None,
    );
    report.add(
        "cold_start_layers_extra_p50_ms",
        "  5 layers minus none, p50 (goal: within 1 ms)",
        "ms",
        l50.zip(b50).map(|(l, b)| l - b),
        None,
    );
    report.fact("layer_cold_runs", runs);
    report.method(
        "cold start with layers",
        "N functions with the same 5 layers (50 files each, one file in all of them) and N \
         without, all with the bench's Rust zip, each invoked once (a new environment \
         each), alternating with and without, timed by the client. The layers are \
         composed once for all N (when the first settles); a figure, never a test.",
    );
    for name in layered.iter().chain(&bare) {
        server::delete_function(conn, name)?;
    }
    Ok(())
}
