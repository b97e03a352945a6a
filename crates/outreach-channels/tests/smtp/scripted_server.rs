//! A minimal SMTP server whose behaviour each test scripts: which extensions it advertises,
//! TLS (implicit or STARTTLS) with a given certificate, and how it answers RCPT and the end of
//! the data. It records every command it receives.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use outreach_channels::smtp::SmtpSender;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};

use super::fixtures::loopback;

/// What the server does once it has read the message data up to the final ".".
#[derive(Clone, Copy)]
pub enum AfterData {
    Accept,
    /// Drops the connection without replying: the client cannot know the outcome.
    CloseWithoutReply,
}

/// The behaviour of a [`ScriptedServer`].
#[derive(Clone)]
pub struct Script {
    /// Advertise STARTTLS and upgrade with this configuration.
    pub starttls: Option<Arc<ServerConfig>>,
    /// Speak TLS from the first byte with this configuration.
    pub implicit_tls: Option<Arc<ServerConfig>>,
    /// Advertise AUTH PLAIN LOGIN and accept any credentials.
    pub auth: bool,
    /// Advertise PIPELINING (RFC 2920); replies are the same either way.
    pub pipelining: bool,
    /// Greet with this line instead of "220 scripted ESMTP", and close after it.
    pub greeting: Option<&'static str>,
    /// Reply to MAIL with this line instead of accepting.
    pub mail_reply: Option<&'static str>,
    /// Reply to RCPT with this line instead of accepting.
    pub rcpt_reply: Option<&'static str>,
    /// Reply to a RCPT naming an address that contains the first with the second.
    pub rcpt_reply_for: Option<(&'static str, &'static str)>,
    pub after_data: AfterData,
    /// Close the connection silently after accepting this many messages on it, as a server
    /// does to an idle client.
    pub close_after_messages: Option<usize>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            starttls: None,
            implicit_tls: None,
            auth: false,
            pipelining: true,
            greeting: None,
            mail_reply: None,
            rcpt_reply: None,
            rcpt_reply_for: None,
            after_data: AfterData::Accept,
            close_after_messages: None,
        }
    }
}

/// A running scripted server on 127.0.0.1; stops when dropped.
pub struct ScriptedServer {
    pub addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ScriptedServer {
    pub async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let commands = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let commands = Arc::clone(&commands);
            let connections = Arc::clone(&connections);
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    let session = Session {
                        script: script.clone(),
                        commands: Arc::clone(&commands),
                        accepted: 0,
                        has_recipient: false,
                    };
                    tokio::spawn(session.run(tcp));
                }
            }
        });
        Self {
            addr,
            commands,
            connections,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every command line received, in order, across connections.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().expect("commands lock").clone()
    }

    /// Whether any received command starts with `verb`.
    pub fn saw(&self, verb: &str) -> bool {
        self.commands()
            .iter()
            .any(|line| line.to_ascii_uppercase().starts_with(verb))
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A scripted server started with `script`, and a sender for plain SMTP to it.
pub async fn talking_to(script: Script) -> (ScriptedServer, SmtpSender) {
    let server = ScriptedServer::start(script).await;
    let sender = SmtpSender::new(&loopback(server.port()), None).expect("settings");
    (server, sender)
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Session {
    script: Script,
    commands: Arc<Mutex<Vec<String>>>,
    accepted: usize,
    /// A recipient was accepted in the current transaction, so DATA may proceed.
    has_recipient: bool,
}

/// How a dialogue ended: the connection is finished, or the client asked for STARTTLS and the
/// stream is handed back for the handshake.
enum Outcome<S> {
    Done,
    StartTls(S),
}

impl Session {
    async fn run(mut self, tcp: TcpStream) {
        if let Some(config) = self.script.implicit_tls.clone() {
            if let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await {
                self.greet_and_talk(tls, true).await;
            }
            return;
        }
        if let Outcome::StartTls(tcp) = self.greet_and_talk(tcp, false).await
            && let Some(config) = self.script.starttls.clone()
            && let Ok(tls) = TlsAcceptor::from(config).accept(tcp).await
        {
            // No new greeting after STARTTLS (RFC 3207): the client starts again with EHLO.
            self.dialogue(BufReader::new(tls), true).await;
        }
    }

    async fn greet_and_talk<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut stream: S,
        tls: bool,
    ) -> Outcome<S> {
        if let Some(refusal) = self.script.greeting {
            let _ = stream.write_all(format!("{refusal}\r\n").as_bytes()).await;
            return Outcome::Done;
        }
        if stream.write_all(b"220 scripted ESMTP\r\n").await.is_err() {
            return Outcome::Done;
        }
        self.dialogue(BufReader::new(stream), tls).await
    }

    async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut stream: BufReader<S>,
        tls: bool,
    ) -> Outcome<S> {
        let mut line = String::new();
        loop {
            line.clear();
            match stream.read_line(&mut line).await {
                Ok(0) | Err(_) => return Outcome::Done,
                Ok(_) => {}
            }
            let command = line.trim_end().to_owned();
            self.commands
                .lock()
                .expect("commands lock")
                .push(command.clone());
            let verb = command
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: String = match verb.as_str() {
                "EHLO" => {
                    let mut lines = vec!["scripted".to_owned()];
                    if self.script.starttls.is_some() && !tls {
                        lines.push("STARTTLS".to_owned());
                    }
                    if self.script.auth {
                        lines.push("AUTH PLAIN LOGIN".to_owned());
                    }
                    if self.script.pipelining {
                        lines.push("PIPELINING".to_owned());
                    }
                    lines.push("ENHANCEDSTATUSCODES".to_owned());
                    lines.push("8BITMIME".to_owned());
                    multiline(250, &lines)
                }
                "STARTTLS" if self.script.starttls.is_some() && !tls => {
                    let _ = stream.write_all(b"220 2.0.0 go ahead\r\n").await;
                    // The client waits for the 220, so nothing is left in the read buffer.
                    return Outcome::StartTls(stream.into_inner());
                }
                "AUTH" if self.script.auth => "235 2.7.0 authenticated\r\n".to_owned(),
                "MAIL" => {
                    self.has_recipient = false;
                    match self.script.mail_reply {
                        Some(reply) => format!("{reply}\r\n"),
                        None => "250 2.1.0 ok\r\n".to_owned(),
                    }
                }
                "RCPT" => match self.script.rcpt_reply.or_else(|| {
                    self.script
                        .rcpt_reply_for
                        .filter(|(address, _)| command.contains(address))
                        .map(|(_, reply)| reply)
                }) {
                    Some(reply) => format!("{reply}\r\n"),
                    None => {
                        self.has_recipient = true;
                        "250 2.1.5 ok\r\n".to_owned()
                    }
                },
                // What RFC 2920 requires when a pipelined DATA follows refused recipients.
                "DATA" if !self.has_recipient => "554 5.5.1 no valid recipients\r\n".to_owned(),
                "DATA" => {
                    self.has_recipient = false;
                    if stream.write_all(b"354 go ahead\r\n").await.is_err() {
                        return Outcome::Done;
                    }
                    if !read_data(&mut stream).await {
                        return Outcome::Done;
                    }
                    match self.script.after_data {
                        AfterData::CloseWithoutReply => return Outcome::Done,
                        AfterData::Accept => {
                            self.accepted += 1;
                            let reply = format!("250 2.0.0 queued as Q{}\r\n", self.accepted);
                            if stream.write_all(reply.as_bytes()).await.is_err() {
                                return Outcome::Done;
                            }
                            if self.script.close_after_messages == Some(self.accepted) {
                                return Outcome::Done;
                            }
                            continue;
                        }
                    }
                }
                "RSET" => {
                    self.has_recipient = false;
                    "250 2.0.0 ok\r\n".to_owned()
                }
                "NOOP" => "250 2.0.0 ok\r\n".to_owned(),
                "QUIT" => {
                    let _ = stream.write_all(b"221 2.0.0 bye\r\n").await;
                    return Outcome::Done;
                }
                // A server that does not offer STARTTLS or AUTH answers them as RFC 3207 and
                // RFC 4954 say; the TLS-policy tests check in `commands()` that the client
                // never got that far.
                "STARTTLS" => "502 5.5.1 STARTTLS not offered\r\n".to_owned(),
                "AUTH" => "503 5.5.1 AUTH not offered\r\n".to_owned(),
                // RFC 5321's reply to a verb the server does not know; the client sends none.
                _ => "500 5.5.2 command unrecognized\r\n".to_owned(),
            };
            if stream.write_all(reply.as_bytes()).await.is_err() {
                return Outcome::Done;
            }
        }
    }
}

async fn read_data<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut BufReader<S>) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return false,
            Ok(_) if line == ".\r\n" => return true,
            Ok(_) => {}
        }
    }
}

fn multiline(code: u16, lines: &[String]) -> String {
    let last = lines.len() - 1;
    lines
        .iter()
        .enumerate()
        .map(|(i, text)| format!("{code}{}{text}\r\n", if i == last { ' ' } else { '-' }))
        .collect()
}
