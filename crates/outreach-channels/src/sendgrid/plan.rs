//! Which messages may share one mail/send request.

use super::body::{MAX_PERSONALIZATIONS, fits_shared_request};
use crate::email::OutgoingEmail;

/// What messages must have in common to share a request: SendGrid sets `from` and `reply_to`
/// once per request, so the engine groups by exactly these three values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SenderKey {
    /// The sender's display name.
    pub from_name: String,
    /// The sender's address.
    pub from_address: String,
    /// The reply-to address, if any.
    pub reply_to: Option<String>,
}

impl SenderKey {
    /// The key of one message.
    pub fn of(email: &OutgoingEmail) -> Self {
        Self {
            from_name: email.from_name.clone(),
            from_address: email.from_address.clone(),
            reply_to: email.reply_to.clone(),
        }
    }
}

/// Splits messages into batches that `send_batch` accepts: grouped by [`SenderKey`] (groups in
/// order of first appearance, messages in their given order), at most
/// [`MAX_PERSONALIZATIONS`] per batch, and every message that cannot travel as a substitution
/// (body over [`SUBSTITUTIONS_LIMIT_BYTES`](super::SUBSTITUTIONS_LIMIT_BYTES), or containing
/// the substitution tag) in a batch of its own, after the shared ones.
///
/// Only grouping happens here; the messages' contents are checked by `send_batch`.
pub fn plan_batches(emails: Vec<OutgoingEmail>) -> Vec<Vec<OutgoingEmail>> {
    let mut groups: Vec<(SenderKey, Vec<OutgoingEmail>)> = Vec::new();
    let mut alone = Vec::new();
    for email in emails {
        if !fits_shared_request(&email) {
            alone.push(vec![email]);
            continue;
        }
        let key = SenderKey::of(&email);
        // A linear search: a workspace has a handful of senders, not thousands.
        match groups.iter_mut().find(|(group_key, _)| *group_key == key) {
            Some((_, group)) => group.push(email),
            None => groups.push((key, vec![email])),
        }
    }

    let mut batches = Vec::new();
    for (_, group) in groups {
        let mut rest = group.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(MAX_PERSONALIZATIONS).collect());
        }
    }
    batches.extend(alone);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sendgrid::SUBSTITUTIONS_LIMIT_BYTES;

    fn email(sender: &str, n: usize) -> OutgoingEmail {
        OutgoingEmail {
            from_name: format!("{sender} Partner"),
            from_address: format!("{sender}@brand.example"),
            reply_to: None,
            to_name: None,
            to_address: format!("p{n}@shop.example"),
            subject: format!("Hello {n}"),
            body_text: format!("Body {n}"),
            message_id: format!("{sender}-{n}@brand.example"),
            unsubscribe_mailto: format!("mailto:unsub@brand.example?subject={n}"),
            unsubscribe_https: None,
            in_reply_to: None,
        }
    }

    fn ids(batches: &[Vec<OutgoingEmail>]) -> Vec<Vec<String>> {
        batches
            .iter()
            .map(|batch| batch.iter().map(|e| e.message_id.clone()).collect())
            .collect()
    }

    #[test]
    fn messages_are_grouped_by_sender_in_order_of_first_appearance() {
        let mut alex_other_reply = email("alex", 4);
        alex_other_reply.reply_to = Some("desk@brand.example".into());
        let emails = vec![
            email("alex", 1),
            email("sam", 2),
            email("alex", 3),
            alex_other_reply,
        ];
        assert_eq!(
            ids(&plan_batches(emails)),
            vec![
                vec!["alex-1@brand.example", "alex-3@brand.example"],
                vec!["sam-2@brand.example"],
                vec!["alex-4@brand.example"],
            ]
        );
    }

    #[test]
    fn large_groups_are_chunked_at_the_personalization_limit() {
        let emails: Vec<_> = (0..2 * MAX_PERSONALIZATIONS + 500)
            .map(|n| email("alex", n))
            .collect();
        let batches = plan_batches(emails);
        let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_PERSONALIZATIONS, MAX_PERSONALIZATIONS, 500]);
        assert_eq!(
            batches[1][0].message_id,
            format!("alex-{MAX_PERSONALIZATIONS}@brand.example")
        );
    }

    #[test]
    fn oversized_bodies_fall_back_to_one_request_each() {
        let mut big_one = email("alex", 2);
        big_one.body_text = "x".repeat(SUBSTITUTIONS_LIMIT_BYTES + 1);
        let mut big_two = email("alex", 4);
        big_two.body_text = big_one.body_text.clone();
        let emails = vec![email("alex", 1), big_one, email("alex", 3), big_two];
        assert_eq!(
            ids(&plan_batches(emails)),
            vec![
                vec!["alex-1@brand.example", "alex-3@brand.example"],
                vec!["alex-2@brand.example"],
                vec!["alex-4@brand.example"],
            ]
        );
    }

    #[test]
    fn every_planned_batch_builds_a_request_body() {
        let mut big = email("sam", 9);
        big.body_text = "y".repeat(SUBSTITUTIONS_LIMIT_BYTES * 3);
        let emails = (0..1_200)
            .map(|n| email(if n % 3 == 0 { "sam" } else { "alex" }, n))
            .chain([big])
            .collect();
        for batch in plan_batches(emails) {
            if let Err(err) = crate::sendgrid::mail_send_json(&batch) {
                panic!("planned batch of {} refused: {err}", batch.len());
            }
        }
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(plan_batches(Vec::new()).is_empty());
    }
}
