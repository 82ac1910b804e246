//! How this server takes part in a fleet (issue 21, docs/fleet.md): its node id (kept in
//! the data directory, so a restarted node is the same node), the address other nodes
//! reach it at, how often it heartbeats and after how long a silent node counts as gone.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

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
