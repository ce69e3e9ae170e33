//! The bridge and the native client against the secure broker profile (docs/BRIDGE.md, "The
//! secure broker profile" and "Connecting to secured services"): logging in with a password file
//! on 1884, over TLS on 8883, with a client certificate on 8884, MongoDB over TLS on 27019; and
//! honest refusals: a wrong CA, a wrong password. Every test is bounded by [`WAIT`].
//!
//! The secure listeners apply the ACL of PROTOCOL §2.3 (for any prefix): these tests use the
//! prefix `vmm` and a collection of their own (named after the test's world), and bridges without
//! a share group, so that each bridge sees every request whatever other bridges run.

mod common;

use common::{secure as profile, World, WAIT};
use serde_json::json;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vmm_engine::native::{Client, ClientOptions};
use vmm_engine::tls::TlsFiles;
use vmm_engine::{ProblemKind, Status};

/// The profile's directory, its files by name, and its listeners' URLs.
struct Secure(PathBuf);

impl Secure {
    fn get() -> Option<Secure> {
        profile::require().map(Secure)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn bridge_password(&self) -> String {
        profile::bridge_password()
    }

    fn password_url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", profile::mqtt_port())
    }

    fn tls_url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", profile::mqtts_port())
    }

    fn cert_url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", profile::mqtts_cert_port())
    }

    fn mongo_tls_uri(&self) -> String {
        let port = profile::mongo_tls_port();
        format!("mongodb://127.0.0.1:{port}/?tls=true&tlsCAFile={}", self.file("ca.crt"))
    }

    /// The bridge's arguments: `world`'s database, prefix `vmm`, no share group, client id
    /// `vmm-bridge:<world>`, then `login`.
    fn bridge_args(&self, world: &World, url: &str, login: &[String]) -> Vec<String> {
        let id = format!("vmm-bridge:{}", world.prefix);
        let mut args: Vec<String> = ["vmm-bridge", "--mqtt-url", url, "--database", &world.database, "--prefix", "vmm"]
            .iter()
            .chain(&["--bridge-id", &id, "--share-group", "", "--http-addr", "off"])
            .map(|s| s.to_string())
            .collect();
        if !login.iter().any(|a| a == "--mongodb-uri") {
            args.extend(["--mongodb-uri".to_string(), common::mongodb_uri()]);
        }
        args.extend(login.iter().cloned());
        args
    }

    /// A native client logged in as alice on `url`.
    fn alice(&self, world: &World, url: &str, tls: TlsFiles, password: &str) -> Client {
        let mut options = ClientOptions::new(url, &format!("alice:{}", world.prefix));
        options.credentials = Some(("alice".into(), password.into()));
        options.tls = tls;
        options.resend_after = Duration::from_secs(2);
        options.load_retry = Duration::from_secs(2);
        Client::connect(options).expect("alice's client")
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Alice follows the world's collection, inserts an object, and the bridge stores it in the
/// world's database, with alice's user name as the identity.
async fn alice_is_served(world: &World, alice: &Client) {
    let collection = world.prefix.as_str();
    tokio::time::timeout(WAIT, alice.watch(collection)).await.expect("alice subscribed in time").unwrap();
    let online = alice.wait_for(WAIT, |r| r.status() == vmm_protocol::replica::Status::Online).await;
    assert!(online, "alice's load was not answered: status {:?}, problem {:?}", alice.status(), alice.problem());
    let op = json!({"op": "insert", "id": "t1", "doc": {"title": "secured"}});
    let event = tokio::time::timeout(WAIT, alice.request(collection, op)).await.expect("an outcome in time").unwrap();
    assert_eq!((event.version, event.client.as_str()), (1, "alice"), "the identity is the user name");
    let stored = world.stored(collection).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].get_str("title"), Ok("secured"));
    alice.disconnect().await;
}

/// Waits (at most [`WAIT`]) until alice's client is unreachable with a problem that `ok` accepts.
async fn unreachable(alice: &Client, ok: impl Fn(&vmm_engine::Problem) -> bool) -> vmm_engine::Problem {
    let deadline = Instant::now() + WAIT;
    loop {
        if let (Status::Unreachable, Some(problem)) = (alice.status(), alice.problem()) {
            if ok(&problem) {
                alice.disconnect().await;
                return problem;
            }
        }
        assert!(Instant::now() < deadline, "status {:?}, problem {:?}", alice.status(), alice.problem());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bridge binary with `args`, its stderr read line by line.
struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Spawned {
    fn start(args: &[String], log: &str) -> Spawned {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vmm-bridge"))
            .args(&args[1..])
            .env("VMM_LOG", log)
            .env_remove("VMM_MQTT_PASSWORD")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vmm-bridge");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Spawned { child, lines, seen: Vec::new() }
    }

    /// Reads stderr until a line contains `text` (at most [`WAIT`]); returns that line.
    fn until(&mut self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {text:?} within {WAIT:?}; got:\n{}", self.seen.join("\n")),
            }
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_logged_in_with_a_password_file_serves_alice_on_the_password_listener() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_password").await;
    let login =
        strings(&["--mqtt-username", "vmm-bridge", "--mqtt-password-file", &secure.file("vmm-bridge.password")]);
    let config = vmm_bridge::Config::load_from(secure.bridge_args(&world, &secure.password_url(), &login)).unwrap();
    let bridge = world.start_bridge_with(config).await;
    alice_is_served(&world, &secure.alice(&world, &secure.password_url(), TlsFiles::new(), "alice-secret")).await;
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtts_with_the_profiles_ca_the_bridge_serves_alice_over_mqtts() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_mqtts").await;
    let ca = secure.file("ca.crt");
    let login = strings(&["--mqtt-ca-file", &ca, "--mqtt-username", "vmm-bridge"]);
    let args = secure.bridge_args(&world, &secure.tls_url(), &login);
    // The password from the environment variable this time (given to the loader directly: the
    // process's environment is shared by the tests).
    let config = config_with_password(args, &secure.bridge_password());
    let bridge = world.start_bridge_with(config).await;
    let tls = TlsFiles::new().with_ca_file(&ca);
    alice_is_served(&world, &secure.alice(&world, &secure.tls_url(), tls, "alice-secret")).await;
    bridge.stop().await;
    world.drop_database().await;
}

/// The configuration of `args` with the password as `VMM_MQTT_PASSWORD` would give it.
fn config_with_password(args: Vec<String>, password: &str) -> vmm_bridge::Config {
    let mut config = vmm_bridge::Config::load_from(args).unwrap();
    config.login.mqtt_password = Some(vmm_bridge::config::Secret::new(password));
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_client_certificate_the_bridge_needs_no_password() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_cert").await;
    // The listener takes the identity from the certificate (CN=vmm-bridge); the user name gives
    // the client id its namespace.
    let login = strings(&[
        "--mqtt-ca-file",
        &secure.file("ca.crt"),
        "--mqtt-cert-file",
        &secure.file("client.crt"),
        "--mqtt-key-file",
        &secure.file("client.key"),
        "--mqtt-username",
        "vmm-bridge",
    ]);
    let config = vmm_bridge::Config::load_from(secure.bridge_args(&world, &secure.cert_url(), &login)).unwrap();
    assert!(config.login.mqtt_password.is_none());
    let bridge = world.start_bridge_with(config).await;
    alice_is_served(&world, &secure.alice(&world, &secure.password_url(), TlsFiles::new(), "alice-secret")).await;
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_reaches_mongodb_over_tls() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_mongo").await;
    let login = strings(&[
        "--mqtt-username",
        "vmm-bridge",
        "--mqtt-password-file",
        &secure.file("vmm-bridge.password"),
        "--mongodb-uri",
        &secure.mongo_tls_uri(),
    ]);
    let config = vmm_bridge::Config::load_from(secure.bridge_args(&world, &secure.password_url(), &login)).unwrap();
    let bridge = world.start_bridge_with(config).await;
    alice_is_served(&world, &secure.alice(&world, &secure.password_url(), TlsFiles::new(), "alice-secret")).await;
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_is_refused_with_an_error_naming_tls() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_wrong_ca").await;
    let wrong = secure.file("wrong-ca.crt");
    let alice = secure.alice(&world, &secure.tls_url(), TlsFiles::new().with_ca_file(&wrong), "alice-secret");
    let problem = unreachable(&alice, |p| p.message.contains("TLS")).await;
    assert_eq!(problem.kind, ProblemKind::Network, "{problem:?}");
    assert!(problem.message.contains("certificate"), "{problem:?}");

    let login = strings(&[
        "--mqtt-ca-file",
        &wrong,
        "--mqtt-username",
        "vmm-bridge",
        "--mqtt-password-file",
        &secure.file("vmm-bridge.password"),
    ]);
    let mut bridge = Spawned::start(&secure.bridge_args(&world, &secure.tls_url(), &login), "info");
    let line = bridge.until("TLS handshake failed");
    assert!(line.contains("certificate"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_and_the_right_one_never_logged() {
    let Some(secure) = Secure::get() else { return };
    let world = World::new("tls_wrong_password").await;
    let alice = secure.alice(&world, &secure.password_url(), TlsFiles::new(), "not-alices-password");
    let problem = unreachable(&alice, |p| p.kind == ProblemKind::Auth).await;
    assert!(!problem.message.contains("not-alices-password"), "{problem:?}");

    let dir = std::env::temp_dir().join(format!("vmm-tls-test-{}", world.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong.password");
    std::fs::write(&wrong, "wrong-password-123\n").unwrap();
    let login = |file: &str| strings(&["--mqtt-username", "vmm-bridge", "--mqtt-password-file", file]);
    let args = secure.bridge_args(&world, &secure.password_url(), &login(&wrong.display().to_string()));
    let mut refused = Spawned::start(&args, "trace");
    let line = refused.until("refused the login");
    assert!(!line.contains("wrong-password-123"), "{line}");
    drop(refused);

    // Logged in, with every log on: the password shows nowhere.
    let args = secure.bridge_args(&world, &secure.password_url(), &login(&secure.file("vmm-bridge.password")));
    let mut bridge = Spawned::start(&args, "trace");
    bridge.until("MQTT connected");
    bridge.until("bridge started");
    let password = secure.bridge_password();
    assert!(!bridge.seen.iter().any(|l| l.contains(&password)), "the password was logged");
    let _ = std::fs::remove_dir_all(&dir);
    drop(bridge);
    world.drop_database().await;
}
