//! The incoming-mail classifier on real mail: the sisimai set of bounces, complaint reports
//! and automatic replies from many mail systems (shared datasets, BSD-2-Clause), labelled by
//! kind. Prints the figures and holds each kind to a floor.
// Test code fails the test on any error, which is what unwrap does.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use outreach_channels::inbound::{Limits, MailKind, parse};

fn dataset() -> PathBuf {
    std::env::var_os("OUTREACH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("datasets/mail/sisimai-set-of-emails")
}

#[test]
fn real_bounces_complaints_and_auto_replies_are_told_apart() {
    let dir = dataset();
    let labels = std::fs::read_to_string(dir.join("labels.csv")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set OUTREACH_SHARED_DIR to the folder holding datasets/)",
            dir.display()
        )
    });
    // label -> (right, total, examples of misses)
    let mut tally: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    let mut permanent = 0;
    let mut with_recipient = 0;
    for line in labels.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(path), Some(label)) = (cols.next(), cols.next()) else {
            continue;
        };
        let raw = std::fs::read(dir.join(path)).unwrap();
        let expected = match label {
            "bounce" => MailKind::Bounce,
            "complaint_feedback" => MailKind::Complaint,
            "auto_reply" => MailKind::AutoReply,
            "not_bounce" => MailKind::Human,
            other => panic!("unknown label {other}"),
        };
        // Every message of the set parses within the default limits.
        let mail = parse(&raw, &Limits::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        let entry = tally.entry(label.to_owned()).or_default();
        entry.1 += 1;
        let right = if expected == MailKind::Human {
            mail.kind != MailKind::Bounce
        } else {
            mail.kind == expected
        };
        if right {
            entry.0 += 1;
        } else if entry.2.len() < 5 {
            entry.2.push(format!("{path} -> {:?}", mail.kind));
        }
        if let Some(b) = &mail.bounce {
            permanent += usize::from(b.permanent);
            with_recipient += usize::from(b.recipient.is_some());
        }
    }
    for (label, (right, total, misses)) in &tally {
        println!("{label}: {right}/{total} {misses:?}");
    }
    println!("bounces: {permanent} permanent, {with_recipient} with the failed recipient");
    let rate = |label: &str| {
        let (right, total, _) = &tally[label];
        *right as f64 / *total as f64
    };
    assert!(rate("bounce") >= 0.95, "bounce recall {}", rate("bounce"));
    assert!(rate("complaint_feedback") >= 0.9);
    assert_eq!(rate("auto_reply"), 1.0);
    assert_eq!(rate("not_bounce"), 1.0, "a normal mail taken for a bounce");
}
