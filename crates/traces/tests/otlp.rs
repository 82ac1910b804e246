//! One invocation's trace, exported to a real OTLP receiver started in the test, over gRPC
//! (a tonic server implementing the collector's `TraceService`) and over HTTP/protobuf (a
//! hyper server decoding `ExportTraceServiceRequest`): Lambda's platform segments, and a
//! function's own subsegment received over UDP by the X-Ray daemon endpoint, in one trace
//! under the right parents.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_traces::{
    continue_trace, platform_segments, Daemon, ExportConfig, ExportStats, Exporter,
    FunctionResource, InitTimes, InvocationAttributes, InvocationInfo, InvocationTimes,
    OtlpProtocol, Outcome, SegmentId, TraceHeader, TracingMode,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;
use tokio::net::{TcpListener, UdpSocket};

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

struct Collector {
    received: Received,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received
            .lock()
            .expect("not poisoned")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn grpc_collector(received: Received) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector { received }))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    address
}

async fn http_collector(received: Received) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let received = Arc::clone(&received);
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let received = Arc::clone(&received);
                    async move {
                        assert_eq!(request.uri().path(), "/v1/traces");
                        assert_eq!(
                            request.headers().get("content-type").map(|v| v.as_bytes()),
                            Some(&b"application/x-protobuf"[..])
                        );
                        let body = request.into_body().collect().await?.to_bytes();
                        let decoded =
                            ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                        received.lock().expect("not poisoned").push(decoded);
                        let answer = ExportTraceServiceResponse::default().encode_to_vec();
                        Ok::<_, hyper::Error>(
                            hyper::Response::builder()
                                .header("content-type", "application/x-protobuf")
                                .body(Full::new(Bytes::from(answer)))
                                .expect("a valid response"),
                        )
                    }
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    address
}

fn ms(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + n)
}

fn nanos(n: u64) -> u64 {
    (1_700_000_000_000 + n) * 1_000_000
}

/// A span as the collector saw it: name, trace id, span id, parent id (hex), start and end
/// (Unix nanoseconds).
type Seen = (String, String, String, String, u64, u64);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            Some(Value::BoolValue(b)) => Some(b.to_string()),
            Some(Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        }
    })
}

async fn one_invocation_reaches(protocol: OtlpProtocol) {
    let received: Received = Arc::default();
    let endpoint = match protocol {
        OtlpProtocol::Grpc => grpc_collector(Arc::clone(&received)).await,
        OtlpProtocol::HttpProtobuf => http_collector(Arc::clone(&received)).await,
    };
    let mut config = ExportConfig::new(format!("http://{endpoint}"), protocol);
    // Only `flush` sends, so the test sees one complete batch.
    config.flush_interval = Duration::from_secs(3600);
    let exporter = Arc::new(Exporter::start(&config).expect("exporter started"));
    let function = Arc::new(FunctionResource::new("orders"));

    // The platform's side: an Active function called with a sampled upstream header.
    let incoming: TraceHeader =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            .parse()
            .expect("a valid header");
    let trace = continue_trace(Some(&incoming), TracingMode::Active, ms(0), || {
        panic!("the upstream decision is kept")
    });
    assert!(trace.record_platform_segments);
    let times = InvocationTimes {
        received: ms(0),
        queued: None,
        init: Some(InitTimes {
            start: ms(1),
            end: ms(100),
        }),
        invocation_start: ms(101),
        invocation_end: ms(201),
        overhead_end: Some(ms(203)),
        response_sent: ms(202),
        outcome: Outcome::Success,
    };
    let info = InvocationInfo {
        function_name: "orders".to_owned(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders".to_owned(),
        request_id: "req-1".to_owned(),
    };
    let mut next = 0x100;
    let segments = platform_segments(&trace, &info, &times, || {
        next += 1;
        SegmentId(next)
    });
    exporter.record(
        &function,
        InvocationAttributes {
            request_id: Some("req-1".to_owned()),
            cold_start: Some(true),
        },
        segments.to_vec(),
    );

    // The function's side: its X-Ray SDK sends a subsegment under the header's Parent.
    let header = trace.function_header();
    let parent = header
        .parent
        .expect("the function's header names its segment");
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind daemon");
    let daemon_address = socket.local_addr().expect("address");
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let daemon = {
        let exporter = Arc::clone(&exporter);
        let function = Arc::clone(&function);
        Daemon::spawn(socket, move |segment| {
            exporter.record(&function, InvocationAttributes::default(), vec![segment]);
            arrived.send(()).expect("the test waits for it");
        })
    };
    let datagram = format!(
        "{{\"format\": \"json\", \"version\": 1}}\n{{\"name\":\"DynamoDB\",\"id\":\"00000000000000dd\",\"trace_id\":\"{}\",\"parent_id\":\"{}\",\"start_time\":{},\"end_time\":{},\"type\":\"subsegment\",\"namespace\":\"aws\"}}",
        trace.trace_id,
        parent,
        1_700_000_000.150,
        1_700_000_000.175,
    );
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    client
        .send_to(datagram.as_bytes(), daemon_address)
        .await
        .expect("send datagram");
    arrivals.recv().await.expect("the subsegment arrived");
    exporter.flush().await;

    assert_eq!(
        exporter.stats(),
        ExportStats {
            exported: 6,
            dropped: 0,
            failed: 0
        }
    );
    let requests = received.lock().expect("not poisoned").clone();
    let mut seen: Vec<Seen> = Vec::new();
    for request in &requests {
        for resource_spans in &request.resource_spans {
            let resource = resource_spans.resource.as_ref().expect("a resource");
            assert_eq!(
                string_attribute(&resource.attributes, "service.name").as_deref(),
                Some("orders")
            );
            assert_eq!(
                string_attribute(&resource.attributes, "cloud.provider").as_deref(),
                Some("aws")
            );
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    seen.push((
                        span.name.clone(),
                        hex(&span.trace_id),
                        hex(&span.span_id),
                        hex(&span.parent_span_id),
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                    ));
                }
            }
        }
    }
    let trace_hex = "5759e988bd862e3fe1be46a994272793".to_owned();
    let service_id = trace.service_segment_id.to_string();
    let function_id = trace.function_segment_id.to_string();
    let row = |name: &str, id: &str, parent: &str, start: u64, end: u64| -> Seen {
        (
            name.to_owned(),
            trace_hex.clone(),
            id.to_owned(),
            parent.to_owned(),
            start,
            end,
        )
    };
    assert_eq!(
        seen,
        vec![
            row(
                "orders",
                &service_id,
                "53995c3f42cd8ad8",
                nanos(0),
                nanos(202)
            ),
            row("orders", &function_id, &service_id, nanos(1), nanos(203)),
            row(
                "Initialization",
                "0000000000000101",
                &function_id,
                nanos(1),
                nanos(100)
            ),
            row(
                "Invocation",
                "0000000000000102",
                &function_id,
                nanos(101),
                nanos(201)
            ),
            row(
                "Overhead",
                "0000000000000103",
                &function_id,
                nanos(201),
                nanos(203)
            ),
            row(
                "DynamoDB",
                "00000000000000dd",
                &function_id,
                nanos(150),
                nanos(175)
            ),
        ]
    );
    // The invocation's attributes sit on its top-level spans.
    let spans: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(
        string_attribute(&spans[0].attributes, "aws.xray.origin").as_deref(),
        Some("AWS::Lambda")
    );
    assert_eq!(
        string_attribute(&spans[1].attributes, "aws.xray.origin").as_deref(),
        Some("AWS::Lambda::Function")
    );
    assert_eq!(
        string_attribute(&spans[1].attributes, "faas.invocation_id").as_deref(),
        Some("req-1")
    );
    assert_eq!(
        string_attribute(&spans[1].attributes, "faas.coldstart").as_deref(),
        Some("true")
    );

    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invocation_over_grpc() {
    one_invocation_reaches(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invocation_over_http_protobuf() {
    one_invocation_reaches(OtlpProtocol::HttpProtobuf).await;
}
