//! The bench's own `hearth server` (this executable, on a free port and a fresh data
//! directory) and the control-plane calls the bench makes to it: CreateFunction with a
//! base64 zip, GetFunctionConfiguration until Active, Invoke, DeleteFunction, and the
//! Hearth-private log endpoint for `Init Duration`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use super::load::{check_invoke, Conn, Response};

/// Creating a function unpacks and checks its code: generous, but bounded.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A `hearth server` child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

/// A port nothing listens on right now (the server binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts `exe server` on the data directory `<work>/data` (see [`Server::data_dir`]),
    /// logging to `<work>/server.log`, and waits until it answers.
    pub fn start(
        exe: &Path,
        work: &Path,
        runtimes_dir: &Path,
        sandbox: &str,
        idle_ttl: &str,
    ) -> anyhow::Result<Self> {
        Self::start_with(exe, work, runtimes_dir, sandbox, idle_ttl, &[])
    }

    /// [`Server::start`] with more arguments for `hearth server`.
    pub fn start_with(
        exe: &Path,
        work: &Path,
        runtimes_dir: &Path,
        sandbox: &str,
        idle_ttl: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        super::progress(format!("starting hearth server (--sandbox {sandbox})"));
        let data_dir = Self::data_dir(work);
        let log = &work.join("server.log");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(exe)
            .arg("server")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--runtimes-dir")
            .arg(runtimes_dir)
            .arg("--sandbox")
            .arg(sandbox)
            .arg("--idle-ttl")
            .arg(idle_ttl)
            .args(extra)
            // The log goes to a file and into error messages: no colour codes.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {} server", exe.display()))?;
        let mut server = Self {
            child,
            addr,
            log: log.to_path_buf(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the bench's hearth server exited ({status}) while starting:\n{}",
                    self.log_tail()
                );
            }
            // The server writes its administrator key before it listens.
            let creds = Self::data_dir(self.log.parent().unwrap_or(Path::new(".")))
                .join("admin-credentials");
            if let Some((id, secret)) = read_admin_key(&creds) {
                super::load::set_credentials(self.addr, id, secret);
            }
            let mut conn = Conn::new(self.addr);
            if let Ok(r) = conn.request("GET", "/2016-08-19/account-settings", &[], b"") {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "the bench's hearth server did not answer within {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's data directory under the bench's `work` directory.
    pub fn data_dir(work: &Path) -> PathBuf {
        work.join("data")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("{tail}\n(server log: {})", self.log.display())
    }

    /// `e` followed by the end of the server's log, which usually says why.
    pub fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "{e:#}\n--- the end of the server's log ---\n{}",
            self.log_tail()
        )
    }

    /// Fails, with the server's log, if the server has died.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the bench's hearth server exited ({status}):\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    /// SIGTERM, so the server tears its environments down, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The path of a function's resource.
pub fn function_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}")
}

/// The path of Invoke for `name`.
pub fn invoke_path(name: &str) -> String {
    format!("{}/invocations", function_path(name))
}

/// What the bench deploys.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub runtime: String,
    pub handler: String,
    /// The code zip, base64-encoded once for every function that shares it.
    pub zip_base64: String,
    pub memory_mb: u32,
}

pub fn json_of(response: &Response) -> anyhow::Result<Value> {
    serde_json::from_slice(&response.body)
        .with_context(|| format!("the server answered with invalid JSON: {}", response.text()))
}

/// CreateFunction.
pub fn create_function(conn: &mut Conn, name: &str, spec: &FunctionSpec) -> anyhow::Result<()> {
    create_function_with_layers(conn, name, spec, &[])
}

/// CreateFunction with `layers` (version ARNs, in order; none: no `Layers` member).
pub fn create_function_with_layers(
    conn: &mut Conn,
    name: &str,
    spec: &FunctionSpec,
    layers: &[String],
) -> anyhow::Result<()> {
    let mut body = json!({
        "FunctionName": name,
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        // The default execution role every server makes (roles are checked).
        "Role": "arn:aws:iam::000000000000:role/hearth",
        "MemorySize": spec.memory_mb,
        "Timeout": 30,
        "Code": { "ZipFile": spec.zip_base64 },
    });
    if !layers.is_empty() {
        body["Layers"] = json!(layers);
    }
    let body = serde_json::to_vec(&body)?;
    let response = conn.request(
        "POST",
        "/2015-03-31/functions",
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 201 {
        bail!(
            "CreateFunction {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// UpdateFunctionCode to `spec`'s zip.
pub fn update_code(conn: &mut Conn, name: &str, spec: &FunctionSpec) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&json!({ "ZipFile": spec.zip_base64 }))?;
    let response = conn.request(
        "PUT",
        &format!("{}/code", function_path(name)),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 200 {
        bail!(
            "UpdateFunctionCode {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// Polls GetFunctionConfiguration until the function is Active (what the AWS CLI's
/// `function-active-v2` waiter does, faster).
pub fn wait_active(conn: &mut Conn, name: &str) -> anyhow::Result<()> {
    let path = format!("{}/configuration", function_path(name));
    let deadline = Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let response = conn.request("GET", &path, &[], b"")?;
        if response.status() != 200 {
            bail!(
                "GetFunctionConfiguration {name} answered HTTP {}: {}",
                response.status(),
                response.text()
            );
        }
        let config = json_of(&response)?;
        let field = |key: &str| config.get(key).and_then(Value::as_str).unwrap_or("");
        match field("State") {
            "Active" if field("LastUpdateStatus") != "InProgress" => return Ok(()),
            "Failed" => bail!(
                "{name} failed to become active: {}: {}",
                field("StateReasonCode"),
                field("StateReason")
            ),
            _ => {}
        }
        if Instant::now() >= deadline {
            bail!(
                "{name} is still {} after {ACTIVE_TIMEOUT:?}",
                field("State")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// DeleteFunction (which retires the function's environments).
pub fn delete_function(conn: &mut Conn, name: &str) -> anyhow::Result<()> {
    let response = conn.request("DELETE", &function_path(name), &[], b"")?;
    if response.status() != 204 && response.status() != 200 {
        bail!(
            "DeleteFunction {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(())
}

/// CreateFunctionUrlConfig with `AuthType` `NONE`, and AddPermission for anyone to call
/// it (which such a URL needs before it serves anything); the path of the URL on the
/// server (`/lambda-url/<url-id>/`).
pub fn create_public_url(conn: &mut Conn, name: &str) -> anyhow::Result<String> {
    let body = serde_json::to_vec(&json!({ "AuthType": "NONE" }))?;
    let response = conn.request(
        "POST",
        &format!("/2021-10-31/functions/{name}/url"),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 201 {
        bail!(
            "CreateFunctionUrlConfig {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    let config = json_of(&response)?;
    let url = config
        .get("FunctionUrl")
        .and_then(Value::as_str)
        .context("CreateFunctionUrlConfig answered no FunctionUrl")?;
    let path = url
        .find("/lambda-url/")
        .map(|i| url[i..].to_string())
        .with_context(|| format!("the function URL {url} has no /lambda-url/ path"))?;
    let body = serde_json::to_vec(&json!({
        "StatementId": "bench-public-url",
        "Action": "lambda:InvokeFunctionUrl",
        "Principal": "*",
        "FunctionUrlAuthType": "NONE",
    }))?;
    let response = conn.request(
        "POST",
        &format!("{}/policy", function_path(name)),
        &[("Content-Type", "application/json")],
        &body,
    )?;
    if response.status() != 201 {
        bail!(
            "AddPermission {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    Ok(path)
}

/// One successful Invoke; a failure says what the function logged.
pub fn invoke(conn: &mut Conn, name: &str, payload: &[u8]) -> anyhow::Result<()> {
    let response = conn.request("POST", &invoke_path(name), &[], payload)?;
    if let Err(e) = check_invoke(&response) {
        let lines = log_messages(conn, name)
            .map(|m| m[m.len().saturating_sub(15)..].join("\n"))
            .unwrap_or_else(|e| format!("(no log: {e:#})"));
        return Err(anyhow::anyhow!(
            "invoking {name}: {e:#}\n--- the end of {name}'s log ---\n{lines}"
        ));
    }
    Ok(())
}

/// Every message in a function's log, oldest first.
fn log_messages(conn: &mut Conn, name: &str) -> anyhow::Result<Vec<String>> {
    let response = conn.request("GET", &format!("/_hearth/logs/{name}"), &[], b"")?;
    if response.status() != 200 {
        bail!(
            "the logs of {name} answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    let logs = json_of(&response)?;
    let events = logs
        .get("events")
        .and_then(Value::as_array)
        .context("the log answer has no events")?;
    Ok(events
        .iter()
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .map(|m| m.trim_end().to_string())
        .collect())
}

/// The `Init Duration` (ms) of every REPORT line in a function's log.
pub fn init_durations(conn: &mut Conn, name: &str) -> anyhow::Result<Vec<f64>> {
    Ok(log_messages(conn, name)?
        .iter()
        .filter_map(|m| init_duration_of(m))
        .collect())
}

/// `REPORT ... Init Duration: 12.34 ms ...` → 12.34.
fn init_duration_of(message: &str) -> Option<f64> {
    if !message.starts_with("REPORT") {
        return None;
    }
    let rest = message.split("Init Duration: ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The default profile's key of the administrator credentials file the server writes.
fn read_admin_key(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let value = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().to_string())
    };
    Some((value("aws_access_key_id")?, value("aws_secret_access_key")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_duration_from_report_lines() {
        assert_eq!(
            init_duration_of(
                "REPORT RequestId: x\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 3 MB\tInit Duration: 7.25 ms\t"
            ),
            Some(7.25)
        );
        assert_eq!(
            init_duration_of("REPORT RequestId: x\tDuration: 1.00 ms\t"),
            None
        );
        assert_eq!(init_duration_of("START Init Duration: 1 ms"), None);
    }
}
