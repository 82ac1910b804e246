//! The backends the suite runs on, each as a maker of a fresh, empty store that can be
//! closed and opened again on the same state (a restart).

use std::ops::Deref;

use hearth_store::Store;

/// Where a backend keeps one test's state; it outlives the stores opened on it.
trait Place: Send + Sync {
    fn open(&self) -> Store;
    /// Another node on the same state with a cache of its own, where a backend has
    /// nodes (a fleet sharing one database).
    fn another_node(&self) -> Option<Node> {
        None
    }
}

/// A second node of a fleet (it derefs to its [`Store`]), with its own local cache.
pub struct Node {
    store: Store,
    _cache: tempfile::TempDir,
}

impl Deref for Node {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A store under test (it derefs to the [`Store`] handle) and the state under it.
pub struct Fixture {
    store: Store,
    place: Box<dyn Place>,
}

impl Fixture {
    fn on(place: Box<dyn Place>) -> Self {
        Self {
            store: place.open(),
            place,
        }
    }

    /// A second store open on the same state beside this one, as another node of a fleet
    /// (or, on the embedded store, another process on the same data directory).
    pub fn another(&self) -> Store {
        self.place.open()
    }

    /// Another node sharing this store's state, with a cache of its own; `None` for a
    /// backend that is one node only (SQLite).
    pub fn another_node(&self) -> Option<Node> {
        self.place.another_node()
    }

    /// Closes this store and opens its state again, as a restarted server does.
    pub fn reopen(self) -> Self {
        let Self { store, place } = self;
        drop(store);
        Self::on(place)
    }
}

impl Deref for Fixture {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// The embedded store: SQLite in a temporary data directory.
struct SqliteDir(tempfile::TempDir);

impl Place for SqliteDir {
    fn open(&self) -> Store {
        Store::open(self.0.path()).expect("open the SQLite store")
    }
}

/// A fresh embedded (SQLite) store.
pub fn sqlite() -> Fixture {
    Fixture::on(Box::new(SqliteDir(
        tempfile::tempdir().expect("a temporary directory"),
    )))
}

/// The store on PostgreSQL: a database of its own per test, on the server
/// `HEARTH_TEST_POSTGRES` names (a URL of a user that may create databases), or else on
/// a private cluster this test process starts ([`cluster`]).
struct PgDatabase {
    url: String,
    cache: tempfile::TempDir,
    key: hearth_store::seal::SealKey,
}

impl Place for PgDatabase {
    fn open(&self) -> Store {
        let pg = hearth_store::PgStore::open(&self.url, self.cache.path(), &self.key)
            .expect("open the PostgreSQL store");
        Store::new(std::sync::Arc::new(pg))
    }

    fn another_node(&self) -> Option<Node> {
        let cache = tempfile::tempdir().expect("a temporary directory");
        let pg = hearth_store::PgStore::open(&self.url, cache.path(), &self.key)
            .expect("open a second node of the PostgreSQL store");
        Some(Node {
            store: Store::new(std::sync::Arc::new(pg)),
            _cache: cache,
        })
    }
}

/// The URL of a fresh, empty PostgreSQL database.
pub fn postgres_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = cluster::url();
    let name = format!(
        "hearth_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    cluster::create_database(&server, &name);
    cluster::with_database(&server, &name)
}

/// A fresh PostgreSQL store.
pub fn postgres() -> Fixture {
    Fixture::on(Box::new(PgDatabase {
        url: postgres_database(),
        cache: tempfile::tempdir().expect("a temporary directory"),
        key: hearth_store::seal::SealKey::from_bytes([7; 32]),
    }))
}

/// The PostgreSQL server the suite uses.
pub mod cluster {
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// Runs `statement` on the database at `url`; answers its rows' first column (text).
    pub fn sql_rows(url: &str, statement: &str) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            let driver = tokio::spawn(connection);
            let rows = client.query(statement, &[]).await.expect("query");
            drop(client);
            let _ = driver.await;
            rows.iter().map(|r| r.get::<_, String>(0)).collect()
        })
    }

    /// The server's URL (key=value form), without a database.
    pub fn url() -> String {
        static URL: OnceLock<String> = OnceLock::new();
        URL.get_or_init(|| std::env::var("HEARTH_TEST_POSTGRES").unwrap_or_else(|_| start()))
            .clone()
    }

    /// `url` naming `database`.
    pub fn with_database(url: &str, database: &str) -> String {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let base = url.split('?').next().unwrap_or(url);
            let (scheme_host, _) = base.rsplit_once('/').unwrap_or((base, ""));
            let host_part = if scheme_host.ends_with(':') {
                base
            } else {
                scheme_host
            };
            format!("{host_part}/{database}")
        } else {
            format!("{url} dbname={database}")
        }
    }

    /// Creates `database` on the server (through psql-free SQL on the `postgres` database).
    pub fn create_database(url: &str, database: &str) {
        let admin = with_database(url, "postgres");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            // The server makes its socket before it accepts connections: until then it
            // answers "the database system is starting up", which is waited out.
            let deadline = Instant::now() + Duration::from_secs(30);
            let (client, connection) = loop {
                match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                    Err(e)
                        if e.code()
                            == Some(&tokio_postgres::error::SqlState::CANNOT_CONNECT_NOW)
                            && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    connected => {
                        break connected.unwrap_or_else(|e| {
                            panic!("connect to the test PostgreSQL ({admin}): {e:?}")
                        })
                    }
                }
            };
            let driver = tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {database}"))
                .await
                .expect("create the test database");
            drop(client);
            let _ = driver.await;
        });
    }

    /// Debian's PostgreSQL programs (the newest installed version).
    fn bin_dir() -> PathBuf {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect(
                "PostgreSQL is not installed (apt-get install postgresql), and \
                 HEARTH_TEST_POSTGRES names no server",
            )
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("postgres").exists())
            .collect();
        versions.sort();
        versions
            .pop()
            .expect("a PostgreSQL version with its programs")
    }

    /// Starts a private cluster in a temporary directory, reachable only through a Unix
    /// socket there, as the `postgres` user (the server refuses root); it dies with this
    /// process (its parent-death signal), so no test run leaves one behind.
    fn start() -> String {
        let bin = bin_dir();
        remove_clusters_of_ended_runs();
        let dir = std::env::temp_dir().join(format!("{CLUSTER_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the cluster's directory");
        let (uid, gid) = postgres_user();
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .expect("chown the cluster's directory");
        let data = dir.join("data");
        let status = as_postgres(Command::new(bin.join("initdb")), uid, gid)
            .args([
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(status.success(), "initdb failed");
        let socket_dir = dir.clone();
        // The server's parent is this thread, which lives as long as the process: a
        // parent-death signal is sent when the thread that started the child ends.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // setpriv (util-linux) changes the user, then sets the parent-death signal,
            // which a user change would clear, then runs the server.
            let mut server = Command::new("setpriv");
            if running_as_root() {
                server.args(["--reuid=postgres", "--regid=postgres", "--clear-groups"]);
            }
            server
                .args(["--pdeathsig", "KILL", "--"])
                .arg(bin.join("postgres"))
                .args([
                    "-D",
                    &data.to_string_lossy(),
                    "-k",
                    &socket_dir.to_string_lossy(),
                    "-h",
                    "",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=400",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = server.spawn().expect("start postgres");
            let _ = tx.send(());
            let _ = child.wait();
        });
        rx.recv().expect("postgres started");
        let url = format!("host={} port=5432 user=postgres", dir.display());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.join(".s.PGSQL.5432").exists() {
            assert!(
                Instant::now() < deadline,
                "the test PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        url
    }

    /// The name of a test cluster's directory, before the pid of the run that made it.
    const CLUSTER_PREFIX: &str = "hearth-test-pg-";

    /// Removes the directories of clusters whose run has ended: the server dies with its
    /// run, but its directory (over a GiB, with its WAL) would stay in the temporary
    /// directory after every run.
    fn remove_clusters_of_ended_runs() {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(CLUSTER_PREFIX))
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    fn postgres_user() -> (u32, u32) {
        let text = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
        let line = text
            .lines()
            .find(|l| l.starts_with("postgres:"))
            .expect("the postgres user (Debian's package makes it)");
        let f: Vec<&str> = line.split(':').collect();
        (f[2].parse().expect("uid"), f[3].parse().expect("gid"))
    }

    fn running_as_root() -> bool {
        std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                == Some("0")
        })
    }

    /// `cmd` run as the `postgres` user when this process is root.
    fn as_postgres(mut cmd: Command, uid: u32, gid: u32) -> Command {
        if running_as_root() {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}
