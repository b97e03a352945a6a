//! Rendered messages as the engine would hand them over.

use outreach_channels::email::OutgoingEmail;

/// Message `n` of a campaign from one sender, fully rendered for its recipient.
pub fn email(n: usize) -> OutgoingEmail {
    OutgoingEmail {
        from_name: "Alex Partner".into(),
        from_address: "alex@brand.example".into(),
        reply_to: Some("replies@brand.example".into()),
        to_name: Some(format!("Prospect {n}")),
        to_address: format!("prospect{n}@shop.example"),
        subject: format!("A partnership idea for shop {n}"),
        body_text: format!(
            "Hi Prospect {n},\n\nwe would like to feature your shop.\n\nAlex\n\
             Brand Ltd, 1 Example Street, Example City\nUnsubscribe: https://brand.example/u/t{n}\n"
        ),
        message_id: format!("m{n}.campaign7@brand.example"),
        unsubscribe_mailto: format!("mailto:unsubscribe@brand.example?subject=t{n}"),
        unsubscribe_https: Some(format!("https://brand.example/u/t{n}")),
        in_reply_to: None,
    }
}

/// Messages `0..count`.
pub fn emails(count: usize) -> Vec<OutgoingEmail> {
    (0..count).map(email).collect()
}
