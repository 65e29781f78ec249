//! A `redis-server` of the test's own (from PATH, loopback, a free port, no persistence, a
//! password), killed when dropped. No test uses a Redis the machine happens to run.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The password of every test Redis: tests check it never shows in logs or answers.
pub const PASSWORD: &str = "test-redis-pa55word";

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// With TLS: the directory of the test CA and server certificate.
    tls: Option<std::path::PathBuf>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// `PING` answered with `+PONG`.
fn pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let command = format!("AUTH {PASSWORD}\r\nPING\r\n");
    if stream.write_all(command.as_bytes()).is_err() {
        return false;
    }
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+OK\r\n+PONG\r\n"
}

impl RedisServer {
    pub fn start() -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self { child: None, port, tls: None };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start (is it on PATH? `apt-get install -y redis-server`)");
    }

    /// A server that speaks only TLS (`rediss://`), with a certificate for 127.0.0.1 from a CA
    /// made for the test with the `openssl` command; returns it and the CA's PEM file.
    pub fn start_tls() -> (Self, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pcg-redis-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        let steps: [Vec<String>; 3] = [
            [&["req", "-x509"][..], &ec, &["-keyout", &path("ca.key"), "-out", &path("ca.pem"), "-days", "1"]]
                .concat()
                .into_iter()
                .chain(["-subj", "/CN=pcg-test-ca", "-addext", "basicConstraints=critical,CA:TRUE"])
                .chain(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .map(str::to_owned)
                .collect(),
            [
                &["req"][..],
                &ec,
                &["-keyout", &path("server.key"), "-out", &path("server.csr"), "-subj", "/CN=127.0.0.1"],
            ]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect(),
            ["x509", "-req", "-in", &path("server.csr"), "-CA", &path("ca.pem"), "-CAkey", &path("ca.key")]
                .into_iter()
                .chain(["-CAcreateserial", "-out", &path("server.pem"), "-days", "1", "-extfile", &path("server.ext")])
                .map(str::to_owned)
                .collect(),
        ];
        for step in steps {
            let status = Command::new("openssl").args(&step).stdout(Stdio::null()).stderr(Stdio::null()).status();
            assert!(status.is_ok_and(|s| s.success()), "openssl {step:?} (is openssl on PATH?)");
        }
        for _ in 0..5 {
            let mut server = Self { child: None, port: free_port(), tls: Some(dir.clone()) };
            if server.spawn() {
                return (server, dir.join("ca.pem"));
            }
        }
        panic!("redis-server with TLS did not start");
    }

    /// Starts the process on `self.port`; true once it answers.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(dir) => {
                let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
                command.args(["--port", "0", "--tls-port", &port, "--tls-auth-clients", "no"]).args([
                    "--tls-cert-file",
                    &file("server.pem"),
                    "--tls-key-file",
                    &file("server.key"),
                    "--tls-ca-cert-file",
                    &file("ca.pem"),
                ])
            }
        };
        let child = command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy(), "--requirepass", PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            let up = match self.tls {
                None => pong(self.port),
                Some(_) => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            };
            if up {
                return true;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                // Exited: most likely the port was taken meanwhile.
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop();
        false
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// Kills the server (an outage); its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.spawn(), "redis-server restarted on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.tls {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
