//! Sending one batch to a subscriber: an HTTP POST of a JSON array, or newline-delimited JSON
//! on a TCP connection kept open between batches.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::bounds::DELIVERY_TIMEOUT;
use crate::destination::{Destination, Protocol, Resolver};

/// Why a delivery failed (it is then retried).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connecting or writing failed.
    #[error("delivery I/O: {0}")]
    Io(#[from] io::Error),
    /// The HTTP exchange failed.
    #[error("delivery HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The subscriber answered with a status outside 2xx.
    #[error("subscriber answered {0}")]
    Status(u16),
    /// The delivery took longer than [`DELIVERY_TIMEOUT`].
    #[error("delivery timed out")]
    Timeout,
}

/// The JSON array of a batch, from serialized records.
pub fn json_array(items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    body
}

/// Where a subscriber's batches go: the network, or in unit tests a scripted channel.
#[derive(Debug)]
pub(crate) enum Sink {
    /// HTTP or TCP to the subscriber.
    Net(Transport),
    /// Tests: fails the first `failures` sends, then hands batches to `batches`.
    #[cfg(test)]
    Script {
        failures: u32,
        batches: tokio::sync::mpsc::UnboundedSender<Vec<Vec<u8>>>,
    },
}

impl Sink {
    pub(crate) async fn send(&mut self, items: &[Vec<u8>]) -> Result<(), SendError> {
        match self {
            Sink::Net(transport) => transport.send(items).await,
            #[cfg(test)]
            Sink::Script { failures, batches } => {
                if *failures > 0 {
                    *failures -= 1;
                    return Err(SendError::Status(500));
                }
                // A test that dropped its receiver no longer cares.
                let _ = batches.send(items.to_vec());
                Ok(())
            }
        }
    }
}

/// A subscriber's connection state: TCP keeps its connection between batches.
pub(crate) struct Transport {
    destination: Destination,
    addr: SocketAddr,
    /// Opens the connections when the environment's network is not the host's.
    resolver: Arc<dyn Resolver>,
    tcp: Option<TcpStream>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("destination", &self.destination)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(
        destination: Destination,
        addr: SocketAddr,
        resolver: Arc<dyn Resolver>,
    ) -> Self {
        Transport {
            destination,
            addr,
            resolver,
            tcp: None,
        }
    }

    /// A connection to the subscriber: from the host's network, or through the resolver.
    async fn open(&self) -> std::io::Result<TcpStream> {
        if !self.resolver.connects() {
            return TcpStream::connect(self.addr).await;
        }
        let (resolver, addr) = (Arc::clone(&self.resolver), self.addr);
        let stream = tokio::task::spawn_blocking(move || resolver.connect(addr))
            .await
            .map_err(std::io::Error::other)??;
        stream.set_nonblocking(true)?;
        TcpStream::from_std(stream)
    }

    /// Sends one batch, within [`DELIVERY_TIMEOUT`].
    pub(crate) async fn send(&mut self, items: &[Vec<u8>]) -> Result<(), SendError> {
        match tokio::time::timeout(DELIVERY_TIMEOUT, self.send_inner(items)).await {
            Ok(result) => result,
            Err(_) => {
                self.tcp = None;
                Err(SendError::Timeout)
            }
        }
    }

    async fn send_inner(&mut self, items: &[Vec<u8>]) -> Result<(), SendError> {
        match self.destination.protocol {
            Protocol::Http => self.post(items).await,
            Protocol::Tcp => {
                let result = self.write_lines(items).await;
                if result.is_err() {
                    // A broken connection is reopened on the next attempt.
                    self.tcp = None;
                }
                result
            }
        }
    }

    async fn post(&self, items: &[Vec<u8>]) -> Result<(), SendError> {
        let stream = self.open().await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::post(self.destination.path.as_str())
            .header(HOST, self.destination.authority())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(json_array(items))))
            .expect("a POST with a path and two valid headers is a valid request");
        let response = sender.send_request(request).await?;
        let status = response.status();
        // Read the answer to its end so the subscriber's server sees a finished exchange.
        let _ = response.into_body().collect().await;
        driver.abort();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }

    async fn write_lines(&mut self, items: &[Vec<u8>]) -> Result<(), SendError> {
        if self.tcp.is_none() {
            self.tcp = Some(self.open().await?);
        }
        let stream = self.tcp.as_mut().expect("connected just above");
        let mut payload = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum());
        for item in items {
            payload.extend_from_slice(item);
            payload.push(b'\n');
        }
        stream.write_all(&payload).await?;
        stream.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array_joins_records() {
        assert_eq!(json_array(&[]), b"[]");
        assert_eq!(
            json_array(&[b"{\"a\":1}".to_vec(), b"\"x\"".to_vec()]),
            b"[{\"a\":1},\"x\"]"
        );
    }
}
