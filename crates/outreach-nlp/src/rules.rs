//! Keyword rules for a reply's intent: the whole classifier when no model is installed, and
//! the override for the cases a phrase settles (a plain "remove me").

use outreach_core::reply::{Intent, asks_to_be_removed};

/// How sure the rules are when a request to be removed settles the intent.
pub(crate) const REMOVAL_CONFIDENCE: f32 = 0.95;

/// The intent when a phrase settles it, whatever a model would say.
pub(crate) fn settled_intent(text: &str) -> Option<(Intent, f32)> {
    asks_to_be_removed_any_way(text).then_some((Intent::Unsubscribe, REMOVAL_CONFIDENCE))
}

/// Requests to be left alone that [`asks_to_be_removed`] does not list. Missing one keeps
/// mailing someone who asked to stop; a false match only stops mailing someone, so the list
/// leans wide.
const MORE_REMOVALS: [&str; 30] = [
    "do-not-contact",
    "do not contact list",
    "no further email",
    "any further email",
    "no more e-mail",
    "do not send",
    "don't send me",
    "stop mailing",
    "off your list",
    "off your mailing list",
    "from your list",
    "from your mailing list",
    "delete everything",
    "delete my",
    "erase my",
    "remove my",
    "entfernen sie mich",
    "aus ihrem verteiler",
    "keine e-mails mehr",
    "keine mails mehr",
    "arrêtez de m'envoyer",
    "ne m'envoyez plus",
    "retirez-moi",
    "retirez mon",
    "eliminad mi",
    "elimina mi",
    "borra mi",
    "borrad",
    "no me escrib",
    "dejad de escribir",
];

/// [`asks_to_be_removed`], the phrases of [`MORE_REMOVALS`] in a short text, or a reply
/// that is nothing but "remove" or "stop".
pub(crate) fn asks_to_be_removed_any_way(text: &str) -> bool {
    if asks_to_be_removed(text) {
        return true;
    }
    if text.split_whitespace().count() > 60 {
        return false;
    }
    let l = text.to_lowercase();
    let bare = l.trim_matches(|c: char| !c.is_alphanumeric());
    matches!(bare, "remove" | "stop" | "stopp" | "stop it")
        || MORE_REMOVALS.iter().any(|p| l.contains(p))
}

const OUT_OF_OFFICE: [&str; 16] = [
    "out of office",
    "out of the office",
    "on vacation",
    "on holiday",
    "on leave",
    "annual leave",
    "parental leave",
    "maternity leave",
    "limited access to email",
    "limited access to my email",
    "no access to email",
    "auto-reply",
    "automatic reply",
    "abwesend",
    "absent du bureau",
    "fuera de la oficina",
];

const REFERRAL_CUES: [&str; 14] = [
    "talk to",
    "speak to",
    "speak with",
    "contact",
    "reach out to",
    "reach ",
    "forward",
    "forwarding",
    "looping in",
    "cc'd",
    "cc’d",
    "in charge of",
    "handles",
    "the right person",
];

const DECLINES: [&str; 22] = [
    "not interested",
    "no thanks",
    "no thank you",
    "not a fit",
    "not a good fit",
    "not the right fit",
    "not for us",
    "not for me",
    "we'll pass",
    "i'll pass",
    "going to pass",
    "no budget",
    "not looking",
    "not at this time",
    "not right now",
    "maybe next year",
    "don't do affiliate",
    "do not do affiliate",
    "don't need",
    "kein interesse",
    "pas intéressé",
    "no estamos interesados",
];

const QUESTION_OPENINGS: [&str; 14] = [
    "what",
    "how",
    "which",
    "when",
    "where",
    "why",
    "who",
    "do you",
    "does",
    "is there",
    "are there",
    "can you",
    "could you",
    "would you",
];

const INTEREST: [&str; 20] = [
    "interested",
    "sounds good",
    "sounds great",
    "sounds interesting",
    "let's talk",
    "let's do it",
    "lets do it",
    "happy to",
    "love to",
    "keen",
    "count me in",
    "sign me up",
    "book a call",
    "schedule a call",
    "hop on a call",
    "send over",
    "send me the",
    "go ahead",
    "i'm in",
    "yes",
];

/// The intent keyword rules find, with a confidence well below a model's: each rule is a
/// guess from a phrase.
pub(crate) fn rule_intent(text: &str) -> (Intent, f32) {
    if let Some(settled) = settled_intent(text) {
        return settled;
    }
    let l = text.to_lowercase();
    let has = |phrases: &[&str]| phrases.iter().any(|p| l.contains(p));
    if has(&OUT_OF_OFFICE) {
        return (Intent::OutOfOffice, 0.6);
    }
    if has(&REFERRAL_CUES) && has_email_address(&l) {
        return (Intent::Referral, 0.55);
    }
    if has(&DECLINES) {
        return (Intent::NotInterested, 0.55);
    }
    let opening = l.trim_start();
    if l.contains('?') || QUESTION_OPENINGS.iter().any(|q| opening.starts_with(q)) {
        return (Intent::Question, 0.45);
    }
    if has(&INTEREST) {
        return (Intent::Interested, 0.45);
    }
    (Intent::Other, 0.3)
}

/// Whether some word looks like `name@domain.tld`.
pub(crate) fn has_email_address(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .any(|w| {
            w.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            })
        })
}

/// Cue families the intent classifier weighs beside the embedding, each 0 or 1. A cue is
/// evidence, not a verdict: "until" is in absence notices and in refusals ("not until next
/// year"); the trained head learns how much each one counts.
const CUE_FAMILIES: [&[&str]; 10] = [
    // Absence.
    &[
        "out of office",
        "out of the office",
        "ooo",
        "away until",
        "away till",
        "i'm away",
        "i am away",
        "be away",
        "currently away",
        "on vacation",
        "on holiday",
        "holidays",
        "on leave",
        "leave until",
        "annual leave",
        "parental leave",
        "paternity leave",
        "maternity leave",
        "medical leave",
        "sick leave",
        "limited access",
        "no access to",
        "checking email",
        "checking my email",
        "back on",
        "be back",
        "when i'm back",
        "when i return",
        "upon my return",
        "will return",
        "returning on",
        "auto-reply",
        "automatic reply",
        "auto-response",
        "autoreply",
        "abwesen",
        "urlaub",
        "wieder im büro",
        "bis zum",
        "absent",
        "congé",
        "de retour",
        "dès mon retour",
        "jusqu'au",
        "vacaciones",
        "fuera de la oficina",
        "ausente",
        "a mi regreso",
        "hasta el",
    ],
    // Someone else.
    &[
        "talk to",
        "speak to",
        "speak with",
        "contact",
        "reach out to",
        "reach ",
        "forward",
        "passing it",
        "passed",
        "pass it on",
        "looping in",
        "loop in",
        "cc'd",
        "cc’d",
        "cc'ing",
        "adding ",
        "introduce",
        "handles",
        "handled by",
        "in charge",
        "right person",
        "wrong person",
        "not the right",
        "not my ",
        "took over",
        "taken over",
        "my colleague",
        "my manager",
        "my agent",
        "our team",
        "department",
        "weiterleit",
        "leite",
        "wenden sie",
        "ansprechpartner",
        "contactez",
        "transmets",
        "escribe a",
        "contacta",
        "reenv",
    ],
    // Refusal.
    &[
        "not interested",
        "no thanks",
        "no thank you",
        "not a fit",
        "not for us",
        "not for me",
        "pass",
        "decline",
        "no budget",
        "not looking",
        "not accepting",
        "not taking",
        "isn't a fit",
        "not a priority",
        "not at this time",
        "not right now",
        "maybe next year",
        "next year",
        "we're good",
        "sit this one out",
        "unfortunately",
        "sadly",
        "no interest",
        "don't do",
        "do not do",
        "say no",
        "it's a no",
        "kein interesse",
        "leider",
        "nein",
        "ne nous intéresse pas",
        "pas d'",
        "non merci",
        "no estamos",
        "no nos interesa",
        "no gracias",
        "no, ",
        "nope",
        "nah",
    ],
    // Asking.
    &[
        "?",
        "¿",
        "what ",
        "how ",
        "which ",
        "when ",
        "where ",
        "why ",
        "who ",
        "do you",
        "does ",
        "is there",
        "are there",
        "can you",
        "could you",
        "would you",
        "wondering",
        "curious",
        "wie ",
        "was ",
        "wer ",
        "woher",
        "warum",
        "welche",
        "comment",
        "quel",
        "pourquoi",
        "est-ce",
        "combien",
        "qué",
        "cómo",
        "cuál",
        "dónde",
        "quién",
        "cuánto",
    ],
    // Going ahead.
    &[
        "interested",
        "sounds good",
        "sounds great",
        "let's",
        "lets ",
        "happy to",
        "love to",
        "count me in",
        "sign me up",
        "send me",
        "send over",
        "call",
        "book",
        "schedule",
        "next step",
        "contract",
        "yes",
        "sure",
        "go ahead",
        "i'm in",
        "we're in",
        "keen",
        "interessiert",
        "gerne",
        "vertrag",
        "ja,",
        "intéress",
        "contrat",
        "d'accord",
        "oui",
        "interesa",
        "contrato",
        "sí",
        "adelante",
    ],
    // Removal and data.
    &[
        "remove",
        "unsubscribe",
        "stop",
        "opt out",
        "opt-out",
        "delete",
        "erase",
        "gdpr",
        "dsgvo",
        "rgpd",
        "my data",
        "my address",
        "spam",
        "never contact",
        "don't contact",
        "do not contact",
        "don't email",
        "do not email",
        "löschen",
        "austragen",
        "supprim",
        "désinscri",
        "borra",
        "no me escrib",
        "baja",
    ],
    // Machine acknowledgement.
    &[
        "ticket",
        "received your",
        "has been received",
        "have received",
        "do not reply",
        "no longer monitored",
        "not monitored",
        "automated",
        "reference",
        "we will respond",
        "will get back to you",
        "recibido",
        "reçu",
        "erhalten",
    ],
    // Thanks.
    &[
        "thank",
        "thanks",
        "thx",
        "appreciate",
        "merci",
        "danke",
        "gracias",
    ],
    // A link.
    &["http", "www."],
    // A time that ends.
    &[
        "until",
        "till ",
        "back ",
        "return",
        "in the meantime",
        "meanwhile",
        "not monitored",
        "not checking",
        "bis ",
        "jusqu",
        "retour",
        "hasta",
        "regreso",
    ],
];

/// How many values [`cues`] gives.
pub(crate) const CUES: usize = CUE_FAMILIES.len() + 6;

/// Which cue families `text` shows, whether it has an email address, asks to be removed in
/// so many words, is a very short reply, and the keyword rules' intent is not "other".
pub(crate) fn cues(text: &str) -> [f32; CUES] {
    let l = text.to_lowercase();
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let words = l.split_whitespace().count();
    let mut out = [0f32; CUES];
    for (slot, family) in out.iter_mut().zip(CUE_FAMILIES) {
        *slot = flag(family.iter().any(|p| l.contains(p)));
    }
    let n = CUE_FAMILIES.len();
    out[n] = flag(has_email_address(&l));
    out[n + 1] = flag(asks_to_be_removed_any_way(text));
    out[n + 2] = flag(words <= 2);
    out[n + 3] = flag(words > 40);
    out[n + 4] = flag(rule_intent(text).0 != Intent::Other);
    let first = l
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty());
    out[n + 5] = flag(matches!(
        first,
        Some("no" | "nope" | "nah" | "nein" | "non")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_on_a_plain_case() {
        let cases = [
            ("Please remove me from your list.", Intent::Unsubscribe),
            ("I'm out of the office until Monday.", Intent::OutOfOffice),
            (
                "Please talk to my colleague anna@brand.example, she runs partnerships.",
                Intent::Referral,
            ),
            ("Not interested, thanks.", Intent::NotInterested),
            ("What is your commission rate?", Intent::Question),
            ("how does the payout work", Intent::Question),
            ("Sounds good, let's talk next week.", Intent::Interested),
            ("Who gave you my address", Intent::Question),
            ("ok", Intent::Other),
        ];
        for (text, want) in cases {
            assert_eq!(rule_intent(text).0, want, "{text}");
        }
    }

    #[test]
    fn a_referral_needs_an_address_and_removal_is_surest() {
        assert_ne!(rule_intent("Please contact us later").0, Intent::Referral);
        let (intent, confidence) = rule_intent("unsubscribe");
        assert_eq!(intent, Intent::Unsubscribe);
        assert!(confidence > rule_intent("Sounds good!").1);
        assert!(has_email_address("write to <a.b@c.example>."));
        assert!(!has_email_address("meet @ noon"));
    }

    #[test]
    fn more_ways_of_asking_to_be_removed_settle_it() {
        for text in [
            "Remove.",
            "STOP",
            "Please add me to your do-not-contact list.",
            "Bitte entfernen Sie mich aus Ihrem Verteiler.",
            "No me escribáis más.",
        ] {
            assert_eq!(
                settled_intent(text).map(|s| s.0),
                Some(Intent::Unsubscribe),
                "{text}"
            );
        }
        for text in [
            "Stop by our booth!",
            "Removed the typo, thanks.",
            "Yes, send the contract.",
        ] {
            assert_eq!(settled_intent(text), None, "{text}");
        }
        let long = format!("{} delete my", "word ".repeat(80));
        assert_eq!(settled_intent(&long), None);
    }

    #[test]
    fn cues_mark_their_families() {
        let absent = cues("Hello");
        assert_eq!(absent.len(), CUES);
        let ooo = cues("Je suis en congé jusqu'au 5 mai. Contactez claire@example.org.");
        assert_eq!(ooo[0], 1.0, "absence");
        assert_eq!(ooo[1], 1.0, "someone else");
        assert_eq!(ooo[CUE_FAMILIES.len()], 1.0, "an address");
        assert_eq!(cues("No.")[CUES - 1], 1.0, "opens with no");
        assert!(
            cues("What's the rate?")[3] == 1.0 && absent[3] == 0.0,
            "asking"
        );
        assert!(cues("ok").iter().all(|c| *c == 0.0 || *c == 1.0));
    }
}
