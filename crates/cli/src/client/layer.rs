//! `hearth layer publish|ls|rm`: Lambda layers (`/2018-10-31/layers`). A directory is
//! zipped as `hearth deploy` zips one (its paths as they will appear under `/opt`: a
//! Python library in `python/`, a Node.js one in `nodejs/node_modules/`, an executable
//! in `bin/`).

use std::path::PathBuf;

use base64::Engine;
use serde_json::{json, Value};
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::line;
use super::{package, CommonArgs};

#[derive(Debug, clap::Args)]
pub struct LayerArgs {
    #[command(subcommand)]
    pub command: LayerCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum LayerCommand {
    /// Publish a new version of a layer from a directory or a .zip file and print its ARN.
    Publish {
        /// The layer's name.
        name: String,
        /// A directory (zipped for you, file modes kept) or a .zip file.
        path: PathBuf,
        /// A runtime the layer is for (e.g. python3.12); repeat for more.
        #[arg(long = "runtime", value_name = "RUNTIME")]
        runtimes: Vec<String>,
        /// An architecture the layer is for (x86_64 or arm64); repeat for both.
        #[arg(long = "architecture", value_name = "ARCH")]
        architectures: Vec<String>,
        /// A description of this version.
        #[arg(long)]
        description: Option<String>,
        /// The layer's license (an SPDX identifier, a URL or its text).
        #[arg(long)]
        license: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List the layers, each with its latest version, or with a name the versions of one.
    Ls {
        /// List this layer's versions.
        name: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Delete one version of a layer (functions using it keep it).
    Rm {
        name: String,
        version: u64,
        #[command(flatten)]
        common: CommonArgs,
    },
}

pub fn run(args: LayerArgs) -> anyhow::Result<()> {
    match args.command {
        LayerCommand::Publish {
            name,
            path,
            runtimes,
            architectures,
            description,
            license,
            common,
        } => {
            let client = Client::new(&common)?;
            let zip = package::load(&path)?;
            let body = publish_body(
                &base64::engine::general_purpose::STANDARD.encode(&zip),
                &runtimes,
                &architectures,
                description.as_deref(),
                license.as_deref(),
            );
            let path = format!("/2018-10-31/layers/{}/versions", encode(&name));
            let out = client.call(Method::POST, &path, Some(&body))?;
            if common.json {
                return line(serde_json::to_string_pretty(&out)?);
            }
            line(field(&out, "LayerVersionArn"))
        }
        LayerCommand::Ls { name, common } => {
            let client = Client::new(&common)?;
            let items = match &name {
                None => pages(&client, "/2018-10-31/layers", "Layers")?
                    .into_iter()
                    .map(|l| {
                        l.get("LatestMatchingVersion")
                            .cloned()
                            .unwrap_or(Value::Null)
                    })
                    .collect(),
                Some(name) => pages(
                    &client,
                    &format!("/2018-10-31/layers/{}/versions", encode(name)),
                    "LayerVersions",
                )?,
            };
            if common.json {
                return line(serde_json::to_string_pretty(&items)?);
            }
            let mut out = String::new();
            for item in &items {
                out.push_str(&row(item));
                out.push('\n');
            }
            super::output::emit(out.as_bytes())
        }
        LayerCommand::Rm {
            name,
            version,
            common,
        } => {
            let client = Client::new(&common)?;
            let path = format!("/2018-10-31/layers/{}/versions/{version}", encode(&name));
            client.call(Method::DELETE, &path, None)?;
            if !common.json {
                line(format!("deleted {name}:{version}"))?;
            }
            Ok(())
        }
    }
}

/// PublishLayerVersion's body.
fn publish_body(
    zip_b64: &str,
    runtimes: &[String],
    architectures: &[String],
    description: Option<&str>,
    license: Option<&str>,
) -> Value {
    let mut body = json!({ "Content": { "ZipFile": zip_b64 } });
    if !runtimes.is_empty() {
        body["CompatibleRuntimes"] = json!(runtimes);
    }
    if !architectures.is_empty() {
        body["CompatibleArchitectures"] = json!(architectures);
    }
    if let Some(d) = description {
        body["Description"] = json!(d);
    }
    if let Some(l) = license {
        body["LicenseInfo"] = json!(l);
    }
    body
}

/// Every page of a list operation: the items under `key`, following `NextMarker`.
fn pages(client: &Client, path: &str, key: &str) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let url = match &marker {
            None => path.to_string(),
            Some(m) => format!("{path}?Marker={}", encode(m)),
        };
        let page = client.call(Method::GET, &url, None)?;
        items.extend(
            page.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        marker = page
            .get("NextMarker")
            .and_then(Value::as_str)
            .map(str::to_string);
        if marker.is_none() {
            return Ok(items);
        }
    }
}

fn field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string()
}

/// One version as `hearth layer ls` prints it: its ARN, runtimes, architectures and date.
fn row(v: &Value) -> String {
    let list = |name: &str| {
        let items: Vec<&str> = v
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(",")
        }
    };
    format!(
        "{}  {}  {}  {}",
        field(v, "LayerVersionArn"),
        list("CompatibleRuntimes"),
        list("CompatibleArchitectures"),
        field(v, "CreatedDate"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publish_body_has_only_what_was_given() {
        assert_eq!(
            publish_body("UEs=", &[], &[], None, None),
            json!({"Content": {"ZipFile": "UEs="}})
        );
        assert_eq!(
            publish_body(
                "UEs=",
                &["python3.12".into()],
                &["arm64".into()],
                Some("d"),
                Some("MIT")
            ),
            json!({"Content": {"ZipFile": "UEs="}, "CompatibleRuntimes": ["python3.12"],
                   "CompatibleArchitectures": ["arm64"], "Description": "d", "LicenseInfo": "MIT"})
        );
    }

    #[test]
    fn a_row_shows_arn_runtimes_architectures_and_date() {
        let v = json!({"LayerVersionArn": "arn:aws:lambda:us-east-1:000000000000:layer:l:2",
                       "CompatibleRuntimes": ["python3.12", "python3.11"],
                       "CompatibleArchitectures": [], "CreatedDate": "2026-01-01T00:00:00.000+0000"});
        assert_eq!(
            row(&v),
            "arn:aws:lambda:us-east-1:000000000000:layer:l:2  python3.12,python3.11  -  2026-01-01T00:00:00.000+0000"
        );
    }
}
