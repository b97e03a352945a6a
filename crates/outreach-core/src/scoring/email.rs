//! The e-mail domain factor: is there an address, does it reach a person at a business?

use std::collections::HashSet;
use std::sync::LazyLock;

use super::freemail::is_free_mail;
use super::{Factor, FactorId, ProspectFacts};

/// mailchecker's maintained list of throw-away mail domains, as a set: its own `is_valid`
/// scans the whole list (tens of thousands of entries) for every address, which made scoring
/// 100,000 prospects take seconds.
static DISPOSABLE: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| mailchecker::blacklist().into_iter().collect());

/// Whether a domain, or a domain it belongs to, is a disposable-mail domain.
fn is_disposable(domain: &str) -> bool {
    let mut rest = domain;
    loop {
        if DISPOSABLE.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

/// Local parts that reach a shared inbox rather than a person.
const ROLE_ACCOUNTS: &[&str] = &[
    "info",
    "contact",
    "hello",
    "sales",
    "support",
    "admin",
    "office",
    "team",
    "marketing",
    "help",
    "enquiries",
    "inquiries",
    "mail",
    "webmaster",
    "noreply",
    "no-reply",
    "postmaster",
    "billing",
    "press",
    "jobs",
    "careers",
    "hr",
    "partners",
    "affiliates",
];

/// Scores the e-mail address: custom domain > free-mail; disposable and missing score nothing;
/// role accounts lose points.
pub struct EmailDomainFactor;

impl Factor for EmailDomainFactor {
    fn id(&self) -> FactorId {
        FactorId::EmailDomain
    }

    fn evaluate(&self, facts: &ProspectFacts<'_>) -> (u8, Vec<String>) {
        let Some(email) = facts.email else {
            return (0, vec!["No e-mail address known.".into()]);
        };
        let Some((local, domain)) = email.rsplit_once('@') else {
            return (0, vec![format!("'{email}' is not a valid e-mail address.")]);
        };
        if is_disposable(domain) {
            return (
                0,
                vec![format!(
                    "{domain} is a disposable e-mail domain: messages will not reach anyone."
                )],
            );
        }
        let mut reasons = Vec::new();
        let mut points: u8 = if is_free_mail(domain) {
            reasons.push(format!(
                "{domain} is a free-mail provider, not a business domain."
            ));
            40
        } else {
            reasons.push(format!(
                "Custom domain {domain}: likely a business address."
            ));
            100
        };
        let base = local.split('+').next().unwrap_or(local);
        if ROLE_ACCOUNTS.contains(&base) {
            points = points.saturating_sub(40);
            reasons.push(format!(
                "{base}@ is a role account: it reaches a shared inbox, not a person."
            ));
        }
        (points, reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(email: Option<&str>) -> (u8, Vec<String>) {
        EmailDomainFactor.evaluate(&ProspectFacts {
            email,
            ..Default::default()
        })
    }

    #[test]
    fn custom_domain_scores_full() {
        assert_eq!(eval(Some("jane@acme-partners.example")).0, 100);
    }

    #[test]
    fn free_mail_scores_less() {
        let (points, reasons) = eval(Some("jane@gmail.com"));
        assert_eq!(points, 40);
        assert!(reasons[0].contains("free-mail"));
    }

    #[test]
    fn disposable_domains_from_the_maintained_list_score_zero() {
        for email in [
            "jane@mailinator.com",
            "x@10minutemail.com",
            "bob@yopmail.com",
        ] {
            let (points, reasons) = eval(Some(email));
            assert_eq!(points, 0, "{email}");
            assert!(reasons[0].contains("disposable"), "{reasons:?}");
        }
    }

    #[test]
    fn disposable_check_agrees_with_the_list_and_spares_real_domains() {
        assert!(is_disposable("mailinator.com"));
        assert!(!is_disposable("acme-partners.example"));
        assert!(!is_disposable("com"));
        for email in [
            "a@acme.example",
            "a@gmail.com",
            "a@mailinator.com",
            "a@0-mail.com",
        ] {
            let domain = email.split('@').nth(1).unwrap();
            assert_eq!(
                is_disposable(domain),
                !mailchecker::is_valid(email),
                "{email}"
            );
        }
    }

    #[test]
    fn role_accounts_lose_points() {
        let (points, reasons) = eval(Some("info@acme.example"));
        assert_eq!(points, 60);
        assert!(reasons.iter().any(|r| r.contains("role account")));
        assert_eq!(eval(Some("sales+eu@gmail.com")).0, 0);
    }

    #[test]
    fn no_email_scores_zero() {
        assert_eq!(eval(None).0, 0);
    }
}
