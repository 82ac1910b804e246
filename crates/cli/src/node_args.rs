//! How this server takes part in a fleet (issue 21, docs/fleet.md): its node id (kept in
//! the data directory, so a restarted node is the same node), the address other nodes
//! reach it at, how often it heartbeats and after how long a silent node counts as gone,
//! and which certificates it trusts when it forwards invokes to nodes serving HTTPS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The address other nodes (and `hearth nodes`) reach this node at, `host:port`
    /// [default: the listen address, or this host's name when listening on every
    /// address].
    #[arg(long, env = "HEARTH_ADVERTISE", value_name = "HOST:PORT")]
    pub advertise: Option<String>,

    /// How often this node tells the fleet it is alive.
    #[arg(long, env = "HEARTH_HEARTBEAT", default_value = "2s", value_parser = crate::duration::parse)]
    pub heartbeat: Duration,

    /// How long a node may be silent before the fleet counts it as gone.
    #[arg(long, env = "HEARTH_NODE_TIMEOUT", default_value = "10s", value_parser = crate::duration::parse)]
    pub node_timeout: Duration,

    /// The certificates (PEM) this node trusts when it forwards invokes to nodes that
    /// serve HTTPS [default: the Mozilla roots and the certificate this node serves].
    #[arg(long, env = "HEARTH_FLEET_CA", value_name = "FILE")]
    pub fleet_ca: Option<PathBuf>,
}

impl NodeArgs {
    /// The node's settings, for a server listening on `listening`.
    pub fn config(
        &self,
        data_dir: &Path,
        listening: std::net::SocketAddr,
    ) -> anyhow::Result<hearth_engine::fleet::NodeConfig> {
        anyhow::ensure!(
            self.node_timeout > self.heartbeat,
            "--node-timeout ({:?}) must be longer than --heartbeat ({:?})",
            self.node_timeout,
            self.heartbeat
        );
        let address = self.advertise.clone().unwrap_or_else(|| {
            if listening.ip().is_unspecified() {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| "localhost".into());
                format!("{host}:{}", listening.port())
            } else {
                listening.to_string()
            }
        });
        Ok(hearth_engine::fleet::NodeConfig {
            id: node_id(data_dir)?,
            address,
            heartbeat: self.heartbeat,
            timeout: self.node_timeout,
        })
    }
}

impl NodeArgs {
    /// What this node trusts when it forwards to a node serving HTTPS: `--fleet-ca`'s
    /// certificates, else the Mozilla roots and `served` (the certificate file this node
    /// serves, if it serves HTTPS: a fleet sharing one certificate, or one CA's, needs
    /// no more).
    pub fn fleet_roots(&self, served: Option<&Path>) -> anyhow::Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let files: Vec<&Path> = match &self.fleet_ca {
            Some(ca) => vec![ca.as_path()],
            None => {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                served.into_iter().collect()
            }
        };
        for file in files {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                .and_then(|certs| certs.collect())
                .with_context(|| format!("cannot read the certificates of {}", file.display()))?;
            anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", file.display());
            for cert in certs {
                roots
                    .add(cert)
                    .with_context(|| format!("cannot trust a certificate of {}", file.display()))?;
            }
        }
        Ok(roots)
    }
}

/// The node's id: `DATA_DIR/node-id`, made on first start (`node-` and 12 hex digits).
fn node_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let raw = hearth_store::seal::random_bytes::<6>()
        .map_err(|e| anyhow::anyhow!("cannot make a node id: {e}"))?;
    let id = format!(
        "node-{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    // Private, as everything in the data directory (docs/data-protection.md).
    hearth_store::private::write(&path, format!("{id}\n").as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(fleet_ca: Option<PathBuf>) -> NodeArgs {
        NodeArgs {
            advertise: None,
            heartbeat: Duration::from_secs(2),
            node_timeout: Duration::from_secs(10),
            fleet_ca,
        }
    }

    #[test]
    fn forwards_trust_the_fleet_ca_alone_or_the_mozilla_roots_and_the_served_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let now = chrono::Utc::now().timestamp();
        let (pem, _key) =
            crate::tls::generate(&["node-a".into()], now, now + 86_400).expect("a certificate");
        std::fs::write(&cert, pem).expect("written");
        let mozilla = webpki_roots::TLS_SERVER_ROOTS.len();

        let default = args(None).fleet_roots(None).expect("roots");
        assert_eq!(default.len(), mozilla);
        let serving = args(None).fleet_roots(Some(&cert)).expect("roots");
        assert_eq!(serving.len(), mozilla + 1);
        // --fleet-ca replaces both.
        let chosen = args(Some(cert.clone())).fleet_roots(None).expect("roots");
        assert_eq!(chosen.len(), 1);

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("written");
        let err = args(Some(empty))
            .fleet_roots(None)
            .expect_err("no certificate");
        assert!(err.to_string().contains("holds no certificate"), "{err:#}");
        let err = args(Some(dir.path().join("missing.pem")))
            .fleet_roots(None)
            .expect_err("no file");
        assert!(err.to_string().contains("cannot read"), "{err:#}");
    }

    #[test]
    fn the_node_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = node_id(dir.path()).expect("made");
        assert!(id.starts_with("node-") && id.len() == 17, "{id}");
        assert_eq!(node_id(dir.path()).expect("read"), id);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("node-id"))
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
