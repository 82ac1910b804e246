//! The bench's HTTP client and load generator. Each worker is one OS thread with one
//! keep-alive HTTP/1.1 connection over a blocking socket, writing each request in one
//! `write` and parsing the answer by hand (see `wire`). Why so lean: on a 2-core machine the
//! client shares the CPUs with the server it measures, so a client that spends tens of
//! microseconds per request (an async runtime's wake-ups, a general HTTP stack) would show up
//! as Hearth's overhead and cap the throughput it reports. The floor is measured without
//! this client, so everything it costs would be charged to Hearth.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::wire::{self, Head, Stream};

/// How long one request may take before the bench gives up on it (a cold start included).
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// One answer.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status().unwrap_or(0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The keys requests are signed with (SigV4): each bench server's administrator key.
static CREDENTIALS: RwLock<Option<HashMap<SocketAddr, (String, String)>>> = RwLock::new(None);

/// How long a signature is reused for the same request: well within the server's 15
/// minutes of clock skew. Signing each request would charge the client's HMACs (tens of
/// microseconds) to Hearth, which shares the CPUs; the server verifies every request all
/// the same.
const SIGNATURE_REUSE: Duration = Duration::from_secs(60);

/// Signs the requests of every connection to `addr` from now on with this key.
pub fn set_credentials(addr: SocketAddr, access_key_id: String, secret: String) {
    CREDENTIALS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(addr, (access_key_id, secret));
}

/// Signs the requests of every connection to `to` from now on with the key of `from`, if it
/// has one: a stand-in server (the relay floor) then reads the very same requests.
pub fn share_credentials(from: SocketAddr, to: SocketAddr) {
    let mut credentials = CREDENTIALS.write().unwrap_or_else(|p| p.into_inner());
    let map = credentials.get_or_insert_with(HashMap::new);
    if let Some(key) = map.get(&from).cloned() {
        map.insert(to, key);
    }
}

/// The SigV4 headers of one request for the bench's server.
fn sign(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let Some((id, secret)) = CREDENTIALS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(&addr).cloned())
    else {
        return Ok(Vec::new());
    };
    let identity = aws_credential_types::Credentials::new(id, secret, None, None, "bench").into();
    // The server tells services apart by the signature's scope: SQS's and EventBridge's
    // JSON protocols name themselves in their targets, the bench's only forms are IAM's;
    // everything else on `/` is CloudWatch Logs'; Scheduler's REST paths are its own.
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| *value)
    };
    let service = match path {
        _ if header("x-amz-target").is_some_and(|t| t.starts_with("AmazonSQS.")) => "sqs",
        _ if header("x-amz-target").is_some_and(|t| t.starts_with("AWSEvents.")) => "events",
        _ if header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")) =>
        {
            "iam"
        }
        "/" => "logs",
        _ if path.starts_with("/schedules/") => "scheduler",
        _ => "lambda",
    };
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let url = format!("http://{addr}{path}");
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )?;
    let (instructions, _) = sign(request, &params)?.into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// The last request signed on a connection, reused while it is fresh.
struct Signed {
    method: String,
    path: String,
    body: Vec<u8>,
    at: Instant,
    headers: Vec<(String, String)>,
}

/// A keep-alive connection to one server, reopened when the server closes it.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<Stream>,
    /// Reused for every request so that sending allocates nothing once warm.
    buf: Vec<u8>,
    /// Whether requests are signed (with the key [`set_credentials`] gave for `addr`).
    signing: bool,
    signed: Option<Signed>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(4096),
            signing: true,
            signed: None,
        }
    }

    /// The server this connection talks to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connection whose requests are never signed, whatever key `addr` has: a caller
    /// of a function URL without authentication.
    pub fn unsigned(addr: SocketAddr) -> Self {
        Self {
            signing: false,
            ..Self::new(addr)
        }
    }

    fn open(&mut self) -> anyhow::Result<&mut Stream> {
        if self.stream.is_none() {
            let socket = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))
                .with_context(|| format!("cannot connect to {}", self.addr))?;
            socket.set_read_timeout(Some(IO_TIMEOUT))?;
            socket.set_write_timeout(Some(IO_TIMEOUT))?;
            self.stream = Some(wire::stream(socket)?);
        }
        self.stream
            .as_mut()
            .context("connection vanished right after it was opened")
    }

    /// Sends one request and reads the answer. A reused connection the server has closed in
    /// the meantime is reopened once, as every keep-alive client does (nothing was answered,
    /// so nothing ran twice).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Response> {
        self.buf.clear();
        write!(
            self.buf,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        )?;
        for (name, value) in headers {
            write!(self.buf, "{name}: {value}\r\n")?;
        }
        if self.signing {
            let fresh = self.signed.as_ref().is_some_and(|s| {
                s.at.elapsed() < SIGNATURE_REUSE
                    && s.method == method
                    && s.path == path
                    && s.body == body
            });
            if !fresh {
                self.signed = Some(Signed {
                    method: method.to_string(),
                    path: path.to_string(),
                    body: body.to_vec(),
                    at: Instant::now(),
                    headers: sign(self.addr, method, path, headers, body)?,
                });
            }
            if let Some(signed) = &self.signed {
                for (name, value) in &signed.headers {
                    write!(self.buf, "{name}: {value}\r\n")?;
                }
            }
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(body);
        let reused = self.stream.is_some();
        match self.exchange() {
            Ok(Some(response)) => Ok(response),
            Ok(None) if reused => {
                self.stream = None;
                match self.exchange()? {
                    Some(response) => Ok(response),
                    None => bail!("{} closed the connection without answering", self.addr),
                }
            }
            Ok(None) => bail!("{} closed the connection without answering", self.addr),
            Err(e) => {
                self.stream = None;
                Err(e).with_context(|| format!("{method} {path}"))
            }
        }
    }

    /// Writes `self.buf` and reads one answer; `None` when the connection was closed first.
    fn exchange(&mut self) -> anyhow::Result<Option<Response>> {
        let buf = std::mem::take(&mut self.buf);
        let result = self.exchange_buf(&buf);
        self.buf = buf;
        result
    }

    fn exchange_buf(&mut self, request: &[u8]) -> anyhow::Result<Option<Response>> {
        let stream = self.open()?;
        if let Err(e) = stream.get_mut().write_all(request) {
            return match e.kind() {
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => Ok(None),
                _ => Err(e.into()),
            };
        }
        let head = match wire::read_head(stream) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let body = wire::read_body(stream, &head)?;
        if head.closes() {
            self.stream = None;
        }
        Ok(Some(Response { head, body }))
    }
}

/// What an Invoke must look like to count.
pub fn check_invoke(response: &Response) -> anyhow::Result<()> {
    if response.status() != 200 {
        bail!(
            "Invoke answered HTTP {}: {}",
            response.status(),
            response.text()
        );
    }
    if let Some(error) = response.header("x-amz-function-error") {
        bail!("the function failed ({error}): {}", response.text());
    }
    Ok(())
}

/// A closed-loop run: each worker sends its next request as soon as the last is answered.
#[derive(Debug)]
pub struct LoadResult {
    pub completed: u64,
    pub elapsed: Duration,
    /// Every completed request's latency, in µs, all workers together.
    pub latencies_us: Vec<f64>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A closed-loop request: what to send and what an answer must look like to count.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'static str, &'static str)],
    pub body: &'a [u8],
    pub check: fn(&Response) -> anyhow::Result<()>,
    /// Whether requests are signed (see [`Conn::unsigned`]).
    pub signed: bool,
}

impl<'a> Request<'a> {
    /// A signed Invoke (`POST` of `body` to an Invoke `path`), answered as
    /// [`check_invoke`] expects.
    pub fn invoke(path: &'a str, body: &'a [u8]) -> Self {
        Request {
            method: "POST",
            path,
            headers: &[],
            body,
            check: check_invoke,
            signed: true,
        }
    }
}

/// Runs `concurrency` workers sending `req` until `duration` has passed and each worker
/// has completed at least `min_each` requests, and counts completed requests. Workers
/// start together (a barrier) so the window is not spent on thread start-up; any failed
/// request fails the run, because a figure with errors in it would not be the figure it
/// claims to be.
pub fn closed_loop(
    addr: SocketAddr,
    req: Request<'_>,
    concurrency: usize,
    duration: Duration,
    min_each: u64,
) -> anyhow::Result<LoadResult> {
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let barrier = barrier.clone();
        let method = req.method.to_string();
        let path = req.path.to_string();
        let headers = req.headers.to_vec();
        let body = req.body.to_vec();
        let check = req.check;
        let signed = req.signed;
        workers.push(std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
            let mut conn = if signed {
                Conn::new(addr)
            } else {
                Conn::unsigned(addr)
            };
            barrier.wait();
            let deadline = Instant::now() + duration;
            let mut latencies = Vec::with_capacity(1024);
            loop {
                let started = Instant::now();
                if latencies.len() as u64 >= min_each && started >= deadline {
                    break;
                }
                let response = conn.request(&method, &path, &headers, &body)?;
                let elapsed = started.elapsed();
                check(&response)?;
                latencies.push(elapsed.as_secs_f64() * 1e6);
            }
            Ok(latencies)
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let mut latencies_us = Vec::new();
    let mut first_error = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok(l)) => latencies_us.extend(l),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert(anyhow::anyhow!("a load worker panicked"));
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(LoadResult {
        completed: latencies_us.len() as u64,
        elapsed,
        latencies_us,
    })
}

/// Runs `jobs` (each to be done once) on `concurrency` workers, each with its own connection
/// to `addr`, and returns every job's result in the order of `jobs`.
pub fn run_jobs<J, T, F>(
    addr: SocketAddr,
    jobs: Vec<J>,
    concurrency: usize,
    work: F,
) -> anyhow::Result<Vec<T>>
where
    J: Send + 'static,
    T: Send + 'static,
    F: Fn(&mut Conn, J) -> anyhow::Result<T> + Send + Sync + 'static,
{
    let total = jobs.len();
    let queue = Arc::new(std::sync::Mutex::new(
        jobs.into_iter()
            .enumerate()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let work = Arc::new(work);
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, total.max(1)) {
        let queue = queue.clone();
        let work = work.clone();
        workers.push(std::thread::spawn(
            move || -> anyhow::Result<Vec<(usize, T)>> {
                let mut conn = Conn::new(addr);
                let mut out = Vec::new();
                loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((index, job)) = job else {
                        return Ok(out);
                    };
                    out.push((index, work(&mut conn, job)?));
                }
            },
        ));
    }
    let mut results: Vec<Option<T>> = (0..total).map(|_| None).collect();
    let mut first_error = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok(done)) => {
                for (index, value) in done {
                    results[index] = Some(value);
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert(anyhow::anyhow!("a worker panicked"));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    results
        .into_iter()
        .map(|r| r.context("a job was not run"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;
    use std::net::TcpListener;

    /// A server that answers each request on one connection, then closes it after `keep`
    /// answers, so the client has to reconnect.
    fn serve(listener: TcpListener, keep: usize, connections: usize) {
        for _ in 0..connections {
            let (socket, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(socket);
            for _ in 0..keep {
                let Some(head) = wire::read_head(&mut reader).expect("head") else {
                    break;
                };
                let body = wire::read_body(&mut reader, &head).expect("body");
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let socket = reader.get_mut();
                socket.write_all(answer.as_bytes()).expect("write");
                socket.write_all(&body).expect("write");
            }
        }
    }

    #[test]
    fn keep_alive_and_reconnect() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || serve(listener, 2, 2));
        let mut conn = Conn::new(addr);
        for i in 0..4 {
            let body = format!("{{\"i\":{i}}}");
            let response = conn
                .request("POST", "/x", &[("X-A", "b")], body.as_bytes())
                .expect("request");
            assert_eq!(response.status(), 200);
            assert_eq!(response.body, body.as_bytes());
            check_invoke(&response).expect("a 200 without a function error counts");
        }
        server.join().expect("server");
    }

    #[test]
    fn jobs_keep_their_order() {
        // The connections are never opened: these jobs do not use them.
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let out = run_jobs(addr, (0..50).collect(), 4, |_, n: u32| Ok(n * 2)).expect("jobs");
        assert_eq!(out, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert!(run_jobs(addr, vec![1, 2, 3], 2, |_, n: u32| {
            if n == 2 {
                bail!("no");
            }
            Ok(n)
        })
        .is_err());
    }
}
