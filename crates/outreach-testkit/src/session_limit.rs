//! A server that takes only so many SMTP sessions of one account at once, made of a real SMTP
//! server behind a loopback port: up to `limit` connections at once pass through to it; each
//! one more is greeted and then refused at `MAIL FROM` the way Exchange Online refuses a
//! mailbox's fourth session ("432 4.3.2 Concurrent connections limit exceeded").

use std::{
    io::{BufRead, BufReader, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
};

/// Exchange Online's refusal of a session one too many.
pub const EXCHANGE_SESSION_LIMIT: &str = "432 4.3.2 Concurrent connections limit exceeded. \
                                          Visit https://aka.ms/concurrent_sending for more \
                                          information.";

/// The counts a [`SessionLimitedSmtp`] keeps.
#[derive(Default)]
struct Counts {
    limit: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
    refused: AtomicUsize,
}

/// A running limiter on 127.0.0.1; stops accepting when dropped.
pub struct SessionLimitedSmtp {
    port: u16,
    counts: Arc<Counts>,
    stopping: Arc<AtomicBool>,
}

impl SessionLimitedSmtp {
    /// Listens on a free loopback port and passes up to `limit` connections at once through
    /// to the SMTP server on `upstream_port`.
    pub fn start(upstream_port: u16, limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let counts = Arc::new(Counts::default());
        counts.limit.store(limit, Ordering::SeqCst);
        let stopping = Arc::new(AtomicBool::new(false));
        let (c, stop) = (Arc::clone(&counts), Arc::clone(&stopping));
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if c.open.load(Ordering::SeqCst) >= c.limit.load(Ordering::SeqCst) {
                    c.refused.fetch_add(1, Ordering::SeqCst);
                    thread::spawn(move || refuse(client));
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let open = c.open.fetch_add(1, Ordering::SeqCst) + 1;
                c.most_open.fetch_max(open, Ordering::SeqCst);
                let c = Arc::clone(&c);
                thread::spawn(move || {
                    pass_through(client, server);
                    c.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            port,
            counts,
            stopping,
        }
    }

    /// The loopback port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Takes up to `limit` connections at once from now on (those open stay).
    pub fn set_limit(&self, limit: usize) {
        self.counts.limit.store(limit, Ordering::SeqCst);
    }

    /// How many connections were refused for being one too many.
    pub fn refused(&self) -> usize {
        self.counts.refused.load(Ordering::SeqCst)
    }

    /// The most connections passed through at once.
    pub fn most_open(&self) -> usize {
        self.counts.most_open.load(Ordering::SeqCst)
    }
}

impl Drop for SessionLimitedSmtp {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies both ways until either side closes, then closes both.
fn pass_through(client: TcpStream, server: TcpStream) {
    let (Ok(mut client_reader), Ok(mut server_writer)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let upstream = thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut server_writer);
        let _ = server_writer.shutdown(Shutdown::Both);
    });
    let (mut server_reader, mut client_writer) = (server, client);
    let _ = std::io::copy(&mut server_reader, &mut client_writer);
    let _ = client_writer.shutdown(Shutdown::Both);
    let _ = upstream.join();
}

/// Talks SMTP far enough to refuse the session's first `MAIL FROM`, as Exchange Online does.
fn refuse(client: TcpStream) {
    let Ok(reader) = client.try_clone() else {
        return;
    };
    let mut writer = client;
    if writer.write_all(b"220 limited ESMTP\r\n").is_err() {
        return;
    }
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { return };
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "EHLO" => "250-limited\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n".to_owned(),
            "HELO" | "RSET" | "NOOP" => "250 2.0.0 ok\r\n".to_owned(),
            "MAIL" => format!("{EXCHANGE_SESSION_LIMIT}\r\n"),
            "QUIT" => {
                let _ = writer.write_all(b"221 2.0.0 bye\r\n");
                return;
            }
            _ => "503 5.5.1 bad sequence of commands\r\n".to_owned(),
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
