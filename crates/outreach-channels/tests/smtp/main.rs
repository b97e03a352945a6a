//! SMTP channel tests against real servers: Postfix's `smtp-sink` for what arrives on the wire
//! (headers, encoding, DKIM), and a small scripted SMTP server for TLS policy and for the
//! failures a sink cannot be made to produce (deferred and rejected recipients, a connection lost
//! after the data).

mod batches;
mod certs;
mod dkim_check;
mod dkim_signing;
mod error_classes;
mod fixtures;
mod scripted_server;
mod settings_checks;
mod sink_delivery;
mod tls_policy;
