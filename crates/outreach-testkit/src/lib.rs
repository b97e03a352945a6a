//! Test support shared by the project's test suites: real servers the tests start and stop,
//! never mocks. Only ever a dev-dependency.

pub mod dovecot;
pub mod prism;
pub mod smtp_sink;

pub use dovecot::Dovecot;
pub use prism::PrismMock;
pub use smtp_sink::{SmtpSink, strip_sink_headers};

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port on 127.0.0.1")
}
