//! Durable sends per second through the service and the SQLite store, in process (no
//! HTTP): 32 tasks sending at once, each send answered only once committed. Run by hand;
//! it prints its figure and asserts none (the numbers belong to `hearth-bench`):
//! `cargo test -p hearth-sqs --release --test throughput -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_sqs::{OutgoingMessage, QueueId, ReceiveRequest, SendRequest, Sqs};

#[test]
#[ignore = "a measurement, run by hand"]
fn durable_sends_per_second_at_32() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hearth_store::Store::open(dir.path()).expect("store");
        let sqs = Sqs::open(store.sqs_handle()).expect("sqs");
        let id = sqs
            .create_queue("000000000000", "bench", BTreeMap::new(), BTreeMap::new())
            .await
            .expect("queue");
        for concurrency in [1usize, 32] {
            let run = Duration::from_secs(3);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (sqs, id) = (sqs.clone(), id.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while start.elapsed() < run {
                        sqs.send_message(&id, send("x".repeat(200)))
                            .await
                            .expect("send");
                        n += 1;
                    }
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.expect("task");
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "concurrency {concurrency}: {total} durable sends in {secs:.2}s = {:.0}/s",
                total as f64 / secs
            );
        }
        receive_and_delete(&sqs, &id).await;
    });
}

fn send(body: String) -> SendRequest {
    SendRequest {
        message: OutgoingMessage {
            body,
            sender_id: "000000000000".into(),
            ..Default::default()
        },
        system_attributes: BTreeMap::new(),
    }
}

async fn receive_and_delete(sqs: &Sqs, id: &QueueId) {
    let start = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (sqs, id, done) = (sqs.clone(), id.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < Duration::from_secs(3) {
                let got = sqs
                    .receive_message(
                        &id,
                        ReceiveRequest {
                            max_messages: Some(10),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("receive");
                if got.is_empty() {
                    break;
                }
                let entries = got
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (i.to_string(), m.receipt_handle.clone()))
                    .collect();
                sqs.delete_message_batch(&id, entries)
                    .await
                    .expect("delete");
                done.fetch_add(got.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let n = done.load(std::sync::atomic::Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "receive+delete (batches of 10, 32 tasks): {n} in {secs:.2}s = {:.0}/s",
        n as f64 / secs
    );
}
