//! A run against a fake server: what it asks, in what order, and that no copy outlives it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::json;

use super::*;
use crate::{Reply, Silent, Strategy, Tuner};

/// Functions by name; every invocation of a copy takes `duration_ms(memory)`.
#[derive(Default)]
struct Fake {
    functions: Mutex<BTreeMap<String, Value>>,
    /// Every request, as `METHOD path`.
    log: Mutex<Vec<String>>,
    /// Invocations answer with this function error.
    fails: Option<&'static str>,
    /// Deletions are refused.
    undeletable: bool,
    warnings: Mutex<Vec<String>>,
}

fn answer(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).expect("JSON"),
    }
}

fn not_found(name: &str) -> Reply {
    Reply {
        status: 404,
        headers: vec![(
            "x-amzn-errortype".into(),
            "ResourceNotFoundException".into(),
        )],
        body: serde_json::to_vec(&json!({"message": format!("Function not found: {name}")}))
            .expect("JSON"),
    }
}

impl Api for Fake {
    fn send(
        &self,
        method: &str,
        path: &str,
        _headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        self.log
            .lock()
            .expect("log")
            .push(format!("{method} {path}"));
        let mut functions = self.functions.lock().expect("functions");
        let rest = path.strip_prefix("/2015-03-31/functions");
        Ok(match (method, rest) {
            ("GET", _) if path.starts_with("/_hearth/code/") => Reply {
                status: 200,
                body: b"PK-zip".to_vec(),
                ..Default::default()
            },
            ("POST", Some("")) => {
                let req: Value = serde_json::from_slice(&body.unwrap_or_default()).expect("JSON");
                let name = req["FunctionName"].as_str().expect("name").to_string();
                let mut config = req.clone();
                config["State"] = json!("Active");
                functions.insert(name, config.clone());
                answer(201, config)
            }
            ("GET", Some(rest)) => {
                let name = rest
                    .trim_start_matches('/')
                    .trim_end_matches("/configuration");
                match functions.get(name) {
                    Some(c) if rest.ends_with("/configuration") => answer(200, c.clone()),
                    Some(c) => answer(
                        200,
                        json!({"Configuration": c, "Code": {"Location": "http://h:1/_hearth/code/ab.zip"}}),
                    ),
                    None => not_found(name),
                }
            }
            ("DELETE", Some(rest)) => {
                let name = rest.trim_start_matches('/');
                if self.undeletable {
                    answer(500, json!({"message": "the store is away"}))
                } else if functions.remove(name).is_some() {
                    Reply {
                        status: 204,
                        ..Default::default()
                    }
                } else {
                    not_found(name)
                }
            }
            ("POST", Some(rest)) if rest.ends_with("/invocations") => {
                let name = rest
                    .trim_start_matches('/')
                    .trim_end_matches("/invocations");
                let Some(config) = functions.get(name) else {
                    return Ok(not_found(name));
                };
                let memory = config["MemorySize"].as_u64().expect("memory");
                // Time halves as memory doubles, from 100 ms at 128 MB.
                let ms = 100.0 * 128.0 / memory as f64;
                let log = format!(
                    "START\nREPORT RequestId: r\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory} MB\n",
                    ms.ceil()
                );
                let mut headers = vec![(
                    "x-amz-log-result".to_string(),
                    base64::engine::general_purpose::STANDARD.encode(log),
                )];
                if let Some(kind) = self.fails {
                    headers.push(("x-amz-function-error".into(), kind.into()));
                }
                Reply {
                    status: 200,
                    headers,
                    body: b"{}".to_vec(),
                }
            }
            _ => answer(
                400,
                json!({"message": format!("unexpected {method} {path}")}),
            ),
        })
    }

    fn warn(&self, message: &str) {
        self.warnings.lock().expect("warnings").push(message.into());
    }
}

fn fake(fails: Option<&'static str>, undeletable: bool) -> Arc<Fake> {
    let fake = Fake {
        fails,
        undeletable,
        ..Default::default()
    };
    fake.functions.lock().expect("functions").insert(
        "f".into(),
        json!({"FunctionName": "f", "Runtime": "python3.12", "Handler": "app.handler",
               "MemorySize": 256, "Architectures": ["x86_64"], "State": "Active"}),
    );
    Arc::new(fake)
}

fn options(memory: &[u32], invocations: u32, strategy: Strategy) -> Options {
    Options {
        memory: memory.to_vec(),
        invocations,
        strategy,
        ..Options::default()
    }
}

fn names(fake: &Fake) -> Vec<String> {
    fake.functions
        .lock()
        .expect("functions")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn measures_each_size_on_a_copy_and_deletes_it() {
    let server = fake(None, false);
    let tuner = Tuner::new(server.clone());
    let report = tuner
        .run("f", &options(&[128, 1024], 3, Strategy::Speed), &mut Silent)
        .expect("tuned");
    assert_eq!(report.function_name, "f");
    assert_eq!(report.architecture, "x86_64");
    assert_eq!(
        report
            .sizes
            .iter()
            .map(|s| (s.memory_mb, s.invocations))
            .collect::<Vec<_>>(),
        [(128, 3), (1024, 3)]
    );
    assert_eq!(report.sizes[0].p50_ms, 100.0);
    assert_eq!(report.sizes[1].p50_ms, 12.5);
    assert_eq!(report.recommended, Some(1024));
    assert_eq!(report.recommended_index(), Some(1));
    // Only the original is left, unchanged.
    assert_eq!(names(&server), ["f"]);
    let log = server.log.lock().expect("log").clone();
    // Read, code, then per size: create, wait, warm-up + 3, delete.
    assert_eq!(log[0], "GET /2015-03-31/functions/f");
    assert_eq!(log[1], "GET /_hearth/code/ab.zip");
    assert_eq!(log[2], "POST /2015-03-31/functions");
    assert!(log[3].ends_with("/configuration"), "{log:?}");
    assert_eq!(
        log.iter().filter(|l| l.ends_with("/invocations")).count(),
        8
    );
    assert_eq!(log.iter().filter(|l| l.starts_with("DELETE ")).count(), 2);
    // The same document `hearth tune --json` prints.
    let doc = serde_json::to_value(&report).expect("JSON");
    assert_eq!(doc["Strategy"], "speed");
    assert_eq!(doc["Sizes"][0]["MemoryMB"], 128);
    assert_eq!(doc["Recommended"], 1024);
    assert!(doc["PricesReadOn"].is_string());
}

#[test]
fn a_function_error_ends_the_run_and_leaves_no_copy() {
    let server = fake(Some("Unhandled"), false);
    let err = Tuner::new(server.clone())
        .run("f", &options(&[128, 256], 2, Strategy::Cost), &mut Silent)
        .expect_err("the function fails");
    let text = err.to_string();
    assert!(text.starts_with("warming f-tune-128-"), "{text}");
    assert!(text.contains("returned an error (Unhandled): {}"), "{text}");
    assert_eq!(names(&server), ["f"]);
}

#[test]
fn a_copy_that_cannot_be_deleted_is_named() {
    let server = fake(None, true);
    let err = Tuner::new(server.clone())
        .run("f", &options(&[128], 1, Strategy::Cost), &mut Silent)
        .expect_err("the copy stays");
    assert!(
        matches!(&err, TuneError::Leftover(left) if left.len() == 1),
        "{err}"
    );
    assert!(!server.warnings.lock().expect("warnings").is_empty());
}

#[test]
fn bad_options_ask_nothing() {
    let server = fake(None, false);
    let tuner = Tuner::new(server.clone());
    for (opts, says) in [
        (options(&[], 1, Strategy::Cost), "at least one memory size"),
        (
            options(&[64], 1, Strategy::Cost),
            "memory size 64: a size is 128 to 10240 MB",
        ),
        (options(&[128], 0, Strategy::Cost), "0 invocations per size"),
        (
            Options {
                region: "mars-1".into(),
                ..options(&[128], 1, Strategy::Cost)
            },
            "mars-1",
        ),
    ] {
        let err = tuner.run("f", &opts, &mut Silent).expect_err("refused");
        assert!(matches!(err, TuneError::Invalid(_)));
        assert!(err.to_string().contains(says), "{err}");
    }
    assert!(server.log.lock().expect("log").is_empty());
    let missing = tuner
        .run("nope", &options(&[128], 1, Strategy::Cost), &mut Silent)
        .expect_err("no such function");
    assert_eq!(
        missing.to_string(),
        "reading nope: ResourceNotFoundException: Function not found: nope"
    );
}

#[test]
fn an_interrupt_deletes_the_copies_alive() {
    let server = fake(None, false);
    let tuner = Tuner::new(server.clone());
    server
        .functions
        .lock()
        .expect("functions")
        .insert("f-tune-128-x".into(), json!({"MemorySize": 128}));
    tuner
        .copies
        .create(
            "f-tune-256-x",
            &json!({"FunctionName": "f-tune-256-x", "MemorySize": 256}),
        )
        .expect("created");
    let mut told = None;
    let done = tuner
        .interrupt()
        .delete_all(|n| told = Some(n), || names(&server));
    assert_eq!(told, Some(1));
    // Only the copy it made: another function of that shape is not its own.
    assert_eq!(done, ["f", "f-tune-128-x"]);
}

#[test]
fn copy_names_fit_lambdas_limit() {
    assert_eq!(copy_name("f", 128, "0a1b2c3d"), "f-tune-128-0a1b2c3d");
    let long = "x".repeat(70);
    let name = copy_name(&long, 3008, "0a1b2c3d");
    assert_eq!(name.len(), 64);
    assert!(name.ends_with("-tune-3008-0a1b2c3d"));
    assert_eq!(
        base_name("arn:aws:lambda:us-east-1:000000000000:function:f:prod"),
        "f"
    );
    assert_eq!(base_name("f"), "f");
    assert_eq!(random_tag().len(), 8);
    assert_eq!(copy_name("é", 128, "0a1b2c3d"), "é-tune-128-0a1b2c3d");
}

#[test]
fn a_copy_keeps_the_configuration_at_its_own_memory() {
    let config = json!({
        "FunctionName": "f", "Runtime": "python3.12", "Handler": "app.handler",
        "Role": "arn:aws:iam::000000000000:role/r", "Timeout": 30, "MemorySize": 256,
        "Architectures": ["x86_64"], "Environment": {"Variables": {"A": "1"}},
        "Layers": [{"Arn": "arn:aws:lambda:us-east-1:000000000000:layer:l:1", "CodeSize": 5}],
        "EphemeralStorage": {"Size": 1024}, "State": "Active"
    });
    let body = copy_body(&config, "f-tune-512-x", 512, "UEsFBg==");
    assert_eq!(
        body,
        json!({
            "FunctionName": "f-tune-512-x", "Runtime": "python3.12", "Handler": "app.handler",
            "Role": "arn:aws:iam::000000000000:role/r", "Timeout": 30, "MemorySize": 512,
            "Architectures": ["x86_64"], "Environment": {"Variables": {"A": "1"}},
            "Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:l:1"],
            "EphemeralStorage": {"Size": 1024}, "Code": {"ZipFile": "UEsFBg=="},
            "Description": "hearth tune copy at 512 MB"
        })
    );
}
