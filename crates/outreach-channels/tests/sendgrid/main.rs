//! SendGrid client tests against real servers: Prism serving SendGrid's own OpenAPI spec (it
//! validates every request we send), and a small in-test HTTP server for the answers Prism
//! cannot be made to give without test-only request headers (429, 5xx, dropped connections).

mod fixtures;
mod sendgrid_against_prism;
mod sendgrid_against_stub;
mod stub_server;
