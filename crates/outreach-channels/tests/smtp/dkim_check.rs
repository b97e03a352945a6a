//! Independent DKIM verification with `mail-auth`, its DNS replaced by one TXT record the test
//! provides.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
    common::parse::TxtRecordParser,
    common::verify::DomainKey,
    hickory_resolver::config::{ResolverConfig, ResolverOpts},
};

/// What the verifier concluded about the message's only signature.
pub struct Verdict {
    pub result: DkimResult,
    /// The `h=` list of the signature, lowercased.
    pub signed_headers: Vec<String>,
}

/// Verifies the DKIM signature of `message` against the key record `record` published (for this
/// test only) at `<selector>._domainkey.<domain>`.
pub async fn verify(message: &[u8], selector: &str, domain: &str, record: &str) -> Verdict {
    let cache = TxtCache::default();
    let key = DomainKey::parse(record.as_bytes()).expect("parse the DKIM key record");
    cache.insert(
        format!("{selector}._domainkey.{domain}.").into_boxed_str(),
        Txt::from(key),
        Instant::now() + Duration::from_secs(3600),
    );
    // No name servers: every lookup must be answered by the cache above.
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_parts(None, vec![], vec![]),
        ResolverOpts::default(),
    )
    .expect("authenticator");
    let parsed = AuthenticatedMessage::parse(message).expect("parse the message");
    let outputs = authenticator
        .verify_dkim(Parameters::new(&parsed).with_txt_cache(&cache))
        .await;
    assert_eq!(outputs.len(), 1, "expected exactly one DKIM signature");
    let output = &outputs[0];
    Verdict {
        result: output.result().clone(),
        signed_headers: output
            .signature()
            .map(|sig| sig.h.iter().map(|h| h.to_ascii_lowercase()).collect())
            .unwrap_or_default(),
    }
}

#[derive(Default)]
struct TxtCache(Mutex<HashMap<Box<str>, Txt>>);

impl ResolverCache<Box<str>, Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().expect("cache lock").get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().expect("cache lock").remove(name)
    }

    fn insert(&self, key: Box<str>, value: Txt, _valid_until: Instant) {
        self.0.lock().expect("cache lock").insert(key, value);
    }
}
