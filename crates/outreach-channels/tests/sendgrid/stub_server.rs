//! A one-request HTTP/1.1 server on a loopback port that records what it received and then
//! answers with fixed bytes or hangs up. It stands in for SendGrid where Prism could only be made
//! to answer 429 or 5xx through a test-only request header.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the stub answers the request.
pub enum Answer {
    /// These bytes, then the connection is closed.
    Raw(String),
    /// No answer: the connection is closed once the whole request has been read.
    HangUp,
}

/// One HTTP response with `Content-Length` and `Connection: close` added.
pub fn response(status_line: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut raw = format!("HTTP/1.1 {status_line}\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    Answer::Raw(raw)
}

/// The request the stub received.
#[derive(Debug)]
pub struct Recorded {
    /// e.g. "POST".
    pub method: String,
    /// e.g. "/v3/mail/send".
    pub path: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A stub serving exactly one request.
pub struct StubServer {
    base_url: String,
    served: JoinHandle<Recorded>,
}

impl StubServer {
    /// Listens on a free loopback port and serves one request in the background.
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("cannot listen on loopback: {err}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("no local address: {err}"))
            .port();
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener
                .accept()
                .await
                .unwrap_or_else(|err| panic!("accept failed: {err}"));
            let recorded = read_request(&mut stream).await;
            if let Answer::Raw(bytes) = answer {
                stream
                    .write_all(bytes.as_bytes())
                    .await
                    .unwrap_or_else(|err| panic!("writing the answer failed: {err}"));
                let _ = stream.shutdown().await;
            }
            recorded
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            served,
        }
    }

    /// Where the stub listens.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The request it served (waits for it).
    pub async fn request(self) -> Recorded {
        self.served
            .await
            .unwrap_or_else(|err| panic!("stub server failed: {err}"))
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Recorded {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        let parsed = request
            .parse(&buffer)
            .unwrap_or_else(|err| panic!("malformed request: {err}"));
        if let httparse::Status::Complete(head_len) = parsed {
            let headers: Vec<(String, String)> = request
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_ascii_lowercase(), value)
                })
                .collect();
            let length = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= head_len + length {
                return Recorded {
                    method: request.method.unwrap_or_default().to_owned(),
                    path: request.path.unwrap_or_default().to_owned(),
                    headers,
                    body: buffer[head_len..head_len + length].to_vec(),
                };
            }
        }
        let read = stream
            .read(&mut chunk)
            .await
            .unwrap_or_else(|err| panic!("reading the request failed: {err}"));
        assert!(read > 0, "client closed the connection mid-request");
        buffer.extend_from_slice(&chunk[..read]);
    }
}
