//! The pre-send check: renders a template for every recipient and lists what would go wrong.
//!
//! Everything is judged on rendered output, because that is what recipients get: a compliance
//! block hidden in a false `{% if %}` is as missing as one never written. Each recipient is
//! rendered with its prospect id as spintax seed, so a large audience covers the spintax
//! options. With no recipients only the template itself is checked, against a synthetic
//! recipient whose compliance blocks are stand-in texts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use minijinja::{Environment, Value};

use super::placeholder::find_placeholders;
use super::render::{
    CheckedPart, Compiled, context, environment, probe_environment, top_level_variables,
};
use super::{
    MessageTemplate, OPT_OUT, POSTAL_ADDRESS, PRIVACY_NOTICE, Part, Problem, RenderedMessage,
    TemplateError, Variables,
};

/// Most example prospect ids a problem lists.
const MAX_EXAMPLES: usize = 5;
/// How many recipients are scanned for leftover placeholders.
const PLACEHOLDER_SAMPLE: usize = 5;

/// One recipient of [`pre_send_check`].
#[derive(Debug, Clone, Copy)]
pub struct CheckRecipient<'a> {
    /// The prospect.
    pub prospect_id: i64,
    /// The seed their message's spintax is drawn with: for a campaign step, the
    /// [`spin_seed`](super::spin_seed) of their enrolment and the step, so that the check sees
    /// the very text the send will.
    pub spin_seed: u64,
    /// Their variables.
    pub vars: &'a Variables,
}

/// Checks `template` against every recipient before a send.
///
/// `is_first_step` requires the Art. 14 privacy notice. Returns the problems found, grouped:
/// each kind of problem appears once with the number of recipients it affects. An empty list
/// means the template may be sent to these recipients.
pub fn pre_send_check(
    template: &MessageTemplate,
    is_first_step: bool,
    recipients: &[CheckRecipient<'_>],
) -> Vec<Problem> {
    let mut check = PreSendCheck::new(template, is_first_step);
    for r in recipients {
        check.add(*r);
    }
    check.finish()
}

/// [`pre_send_check`] over recipients handed over one at a time: a large campaign's
/// recipients are checked as they are loaded, and only what they turned up is kept.
pub struct PreSendCheck<'t> {
    template: &'t MessageTemplate,
    is_first_step: bool,
    /// Syntax errors, which come first.
    problems: Vec<Problem>,
    parts: Vec<CheckedPart<'t>>,
    probe: Compiled,
    blame: Blame,
    findings: Findings,
    checked: usize,
}

impl<'t> PreSendCheck<'t> {
    /// Prepares the check of `template`; `is_first_step` requires the Art. 14 privacy notice.
    pub fn new(template: &'t MessageTemplate, is_first_step: bool) -> Self {
        let env = environment();
        let mut problems = Vec::new();
        let mut parts = Vec::new();
        for (part, src) in [
            (Part::Subject, &template.subject),
            (Part::Body, &template.body),
        ] {
            match CheckedPart::new(&env, part, src) {
                Ok(checked) => parts.push(checked),
                Err(e) => problems.push(Problem::Syntax {
                    part,
                    line: e.line,
                    message: e.message,
                }),
            }
        }
        Self {
            template,
            is_first_step,
            problems,
            parts,
            probe: Compiled::new(probe_environment()),
            blame: Blame::new(&template.subject, &template.body),
            findings: Findings::default(),
            checked: 0,
        }
    }

    /// Renders the template for one more recipient and notes what is wrong.
    pub fn add(&mut self, r: CheckRecipient<'_>) {
        let recipient = Recipient {
            id: r.prospect_id,
            vars: r.vars,
            context: context(r.vars),
            seed: r.spin_seed,
            sample: self.checked < PLACEHOLDER_SAMPLE,
        };
        self.checked += 1;
        for part in &self.parts {
            if let Err(e) = self.findings.check_rendered(
                &mut self.probe,
                part,
                &recipient,
                self.is_first_step,
                &mut self.blame,
            ) {
                self.findings
                    .render_failed
                    .entry((e.part, e.line, e.message))
                    .or_default()
                    .add(recipient.id);
            }
        }
    }

    /// The problems found, grouped as [`pre_send_check`] returns them. Without any recipient
    /// only the template itself is checked, against stand-in compliance blocks.
    pub fn finish(self) -> Vec<Problem> {
        let Self {
            template,
            is_first_step,
            mut problems,
            parts,
            mut findings,
            checked,
            ..
        } = self;
        if checked == 0 {
            let mut compiled = Compiled::new(environment());
            findings.check_template(&mut compiled, template, &parts, is_first_step);
        }
        // A placeholder written in a spintax option reaches only the recipients who draw it,
        // whom the sampled renders may all miss: every option is scanned as written too.
        for part in &parts {
            for literal in part.option_literals() {
                findings.add_placeholders(part.part(), &literal);
            }
        }
        problems.extend(findings.into_problems());
        problems
    }
}

/// The pre-send check of each message as it goes out: the message is rendered once, with the
/// spintax seed it is sent with, and that very text is judged, with every check the campaign's
/// [`pre_send_check`] makes for one recipient. The engine's compliance gate uses it, so that
/// a problem in one spintax option cannot slip through for the recipients who draw it.
pub struct SendCheck<'t> {
    parts: [CheckedPart<'t>; 2],
    probe: Compiled,
    blame: Blame,
    is_first_step: bool,
}

impl<'t> SendCheck<'t> {
    /// Checks the template's syntax and prepares it; `is_first_step` requires the Art. 14
    /// notice.
    ///
    /// # Errors
    /// The first syntax error, subject first.
    pub fn new(
        subject: &'t str,
        body: &'t str,
        is_first_step: bool,
    ) -> Result<Self, TemplateError> {
        let env = environment();
        Ok(Self {
            parts: [
                CheckedPart::new(&env, Part::Subject, subject)?,
                CheckedPart::new(&env, Part::Body, body)?,
            ],
            probe: Compiled::new(probe_environment()),
            blame: Blame::new(subject, body),
            is_first_step,
        })
    }

    /// Renders the message for one recipient, exactly as
    /// [`PreparedTemplate::render`](super::PreparedTemplate::render) does with the same seed,
    /// and lists its problems (none when it may go out).
    ///
    /// # Errors
    /// A [`TemplateError`] when rendering fails (type errors, too much work, output too long).
    pub fn render(
        &mut self,
        prospect_id: i64,
        vars: &Variables,
        spin_seed: u64,
    ) -> Result<(RenderedMessage, Vec<Problem>), TemplateError> {
        let recipient = Recipient {
            id: prospect_id,
            vars,
            context: context(vars),
            seed: spin_seed,
            sample: true,
        };
        let mut findings = Findings::default();
        let mut texts = [String::new(), String::new()];
        for (part, text) in self.parts.iter().zip(&mut texts) {
            *text = findings.check_rendered(
                &mut self.probe,
                part,
                &recipient,
                self.is_first_step,
                &mut self.blame,
            )?;
        }
        let [subject, body] = texts;
        Ok((RenderedMessage { subject, body }, findings.into_problems()))
    }
}

/// One recipient as the check sees it.
struct Recipient<'a> {
    id: i64,
    vars: &'a Variables,
    /// The variables as the template sees them, made once for both parts.
    context: Value,
    seed: u64,
    /// Whether to scan this recipient's message for leftover placeholders.
    sample: bool,
}

/// Recipients affected by one problem.
#[derive(Debug, Default)]
struct Tally {
    prospects: u32,
    examples: Vec<i64>,
}

impl Tally {
    fn add(&mut self, id: i64) {
        self.prospects = self.prospects.saturating_add(1);
        if self.examples.len() < MAX_EXAMPLES && !self.examples.contains(&id) {
            self.examples.push(id);
        }
    }
}

/// What the recipients' renders turned up, before grouping into problems.
#[derive(Debug, Default)]
struct Findings {
    render_failed: BTreeMap<(Part, Option<u32>, String), Tally>,
    empty_subject: Option<Tally>,
    empty_body: Option<Tally>,
    header_injection: Option<Tally>,
    missing_opt_out: Option<Tally>,
    missing_postal_address: Option<Tally>,
    missing_privacy_notice: Option<Tally>,
    empty_variables: BTreeMap<(Part, String), Tally>,
    placeholders: Vec<(Part, String)>,
}

/// Builds a problem from a tally's count and examples.
type MakeProblem = fn(u32, Vec<i64>) -> Problem;

/// Marks `id` in a tally that may not exist yet.
fn mark(tally: &mut Option<Tally>, id: i64) {
    tally.get_or_insert_with(Tally::default).add(id);
}

impl Findings {
    /// Renders one part for one recipient and records what is wrong with the result.
    fn check_recipient(
        &mut self,
        compiled: &mut Compiled,
        part: &CheckedPart<'_>,
        recipient: &Recipient<'_>,
        is_first_step: bool,
    ) {
        match part.render(compiled, &recipient.context, recipient.seed) {
            Ok(text) => self.check_text(part.part(), &text, recipient, is_first_step),
            Err(e) => self
                .render_failed
                .entry((e.part, e.line, e.message))
                .or_default()
                .add(recipient.id),
        }
    }

    /// Records what is wrong with one part as rendered for one recipient.
    fn check_text(
        &mut self,
        part: Part,
        text: &str,
        recipient: &Recipient<'_>,
        is_first_step: bool,
    ) {
        let id = recipient.id;
        match part {
            Part::Subject => {
                if text.trim().is_empty() {
                    mark(&mut self.empty_subject, id);
                }
                if text.contains(['\r', '\n', '\0']) {
                    mark(&mut self.header_injection, id);
                }
            }
            Part::Body => {
                if text.trim().is_empty() {
                    mark(&mut self.empty_body, id);
                }
                if !contains_block(text, recipient.vars, OPT_OUT) {
                    mark(&mut self.missing_opt_out, id);
                }
                if !contains_block(text, recipient.vars, POSTAL_ADDRESS) {
                    mark(&mut self.missing_postal_address, id);
                }
                if is_first_step && !contains_block(text, recipient.vars, PRIVACY_NOTICE) {
                    mark(&mut self.missing_privacy_notice, id);
                }
            }
        }
        if recipient.sample {
            self.add_placeholders(part, text);
        }
    }

    /// Records the placeholders in `text`, each once per part.
    fn add_placeholders(&mut self, part: Part, text: &str) {
        for placeholder in find_placeholders(text) {
            let key = (part, placeholder);
            if !self.placeholders.contains(&key) {
                self.placeholders.push(key);
            }
        }
    }

    /// Renders one part for one recipient once, through the probe (whose output is the plain
    /// render's), and records what is wrong with the text and which variables printed nothing.
    /// Returns the text.
    fn check_rendered(
        &mut self,
        probe: &mut Compiled,
        part: &CheckedPart<'_>,
        recipient: &Recipient<'_>,
        is_first_step: bool,
        blame: &mut Blame,
    ) -> Result<String, TemplateError> {
        let (text, empty) = part.render_probed(probe, &recipient.context, recipient.seed)?;
        self.check_text(part.part(), &text, recipient, is_first_step);
        self.record_empty(part.part(), empty, recipient, blame);
        Ok(text)
    }

    /// Records the variables to blame for `expressions`, which printed nothing.
    fn record_empty(
        &mut self,
        part: Part,
        expressions: Vec<String>,
        recipient: &Recipient<'_>,
        blame: &mut Blame,
    ) {
        let mut variables = BTreeSet::new();
        for expression in expressions {
            variables.extend(blame.variables(part, &expression, recipient.vars));
        }
        // A blank compliance block is reported by its own, clearer problem.
        variables.retain(|v| ![OPT_OUT, POSTAL_ADDRESS, PRIVACY_NOTICE].contains(&v.as_str()));
        for variable in variables {
            self.empty_variables
                .entry((part, variable))
                .or_default()
                .add(recipient.id);
        }
    }

    /// The checks that need no recipient, against stand-in compliance blocks.
    fn check_template(
        &mut self,
        compiled: &mut Compiled,
        template: &MessageTemplate,
        parts: &[CheckedPart<'_>],
        is_first_step: bool,
    ) {
        let vars: Variables = [
            (OPT_OUT, "(opt-out line)"),
            (POSTAL_ADDRESS, "(postal address)"),
            (PRIVACY_NOTICE, "(privacy notice)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
        let synthetic = Recipient {
            id: 0,
            vars: &vars,
            context: context(&vars),
            seed: 0,
            sample: true,
        };
        for part in parts {
            self.check_recipient(compiled, part, &synthetic, is_first_step);
        }
        // Without real data a blank render proves nothing (every variable is missing); only a
        // blank template is certainly empty.
        self.empty_subject = template.subject.trim().is_empty().then(Tally::default);
        self.empty_body = template.body.trim().is_empty().then(Tally::default);
        for tally in [
            &mut self.header_injection,
            &mut self.missing_opt_out,
            &mut self.missing_postal_address,
            &mut self.missing_privacy_notice,
        ] {
            if tally.is_some() {
                *tally = Some(Tally::default());
            }
        }
        for tally in self.render_failed.values_mut() {
            *tally = Tally::default();
        }
    }

    /// The problems, in a fixed order: failures first, then compliance, then content.
    fn into_problems(self) -> Vec<Problem> {
        let mut out = Vec::new();
        for ((part, line, message), t) in self.render_failed {
            out.push(Problem::RenderFailed {
                part,
                line,
                message,
                prospects: t.prospects,
                examples: t.examples,
            });
        }
        let mut push = |tally: Option<Tally>, make: MakeProblem| {
            if let Some(t) = tally {
                out.push(make(t.prospects, t.examples));
            }
        };
        push(self.empty_subject, |prospects, examples| {
            Problem::EmptySubject {
                prospects,
                examples,
            }
        });
        push(self.empty_body, |prospects, examples| Problem::EmptyBody {
            prospects,
            examples,
        });
        push(self.header_injection, |prospects, examples| {
            Problem::HeaderInjection {
                prospects,
                examples,
            }
        });
        push(self.missing_opt_out, |prospects, examples| {
            Problem::MissingOptOut {
                prospects,
                examples,
            }
        });
        push(self.missing_postal_address, |prospects, examples| {
            Problem::MissingPostalAddress {
                prospects,
                examples,
            }
        });
        push(self.missing_privacy_notice, |prospects, examples| {
            Problem::MissingPrivacyNotice {
                prospects,
                examples,
            }
        });
        for ((part, variable), t) in self.empty_variables {
            out.push(Problem::EmptyVariable {
                part,
                variable,
                prospects: t.prospects,
                examples: t.examples,
            });
        }
        for (part, text) in self.placeholders {
            out.push(Problem::LeftoverPlaceholder { part, text });
        }
        out
    }
}

/// Whether the rendered body carries the block in variable `key` verbatim; a blank block
/// counts as missing, since there is nothing to carry.
fn contains_block(text: &str, vars: &Variables, key: &str) -> bool {
    let block = vars.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    !block.trim().is_empty() && text.contains(block)
}

/// Whether a variable is missing or blank for a recipient.
fn is_blank(vars: &Variables, name: &str) -> bool {
    match vars.get(name) {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Names the variables to blame for an empty expression.
struct Blame {
    env: Environment<'static>,
    /// Top-level variables of each part.
    top_level: HashMap<Part, BTreeSet<String>>,
    /// Top-level variables each expression reads, by part and expression text.
    reads: HashMap<(Part, String), Vec<String>>,
}

impl Blame {
    fn new(subject: &str, body: &str) -> Self {
        let env = environment();
        let top_level = [
            (Part::Subject, top_level_variables(&env, subject)),
            (Part::Body, top_level_variables(&env, body)),
        ]
        .into_iter()
        .collect();
        Self {
            env,
            top_level,
            reads: HashMap::new(),
        }
    }

    /// The recipient's blank variables the expression reads; the expression itself when none
    /// explains the empty output (e.g. `{{ bio[500:] }}` or a loop variable).
    fn variables(&mut self, part: Part, expression: &str, vars: &Variables) -> Vec<String> {
        let reads = self
            .reads
            .entry((part, expression.to_owned()))
            .or_insert_with(|| {
                let top_level = self.top_level.get(&part);
                let mut names: Vec<String> = self
                    .env
                    .compile_expression(expression)
                    .map(|e| e.undeclared_variables(false))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|name| top_level.is_some_and(|t| t.contains(name)))
                    .collect();
                names.sort();
                names
            });
        let blank: Vec<String> = reads
            .iter()
            .filter(|name| is_blank(vars, name))
            .cloned()
            .collect();
        if blank.is_empty() {
            vec![expression.to_owned()]
        } else {
            blank
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OPT: &str = "Not interested? Reply STOP and we will not write again.";
    const POSTAL: &str = "Acme Agency, 1 Main St, Springfield";
    const NOTICE: &str = "We found your details on your public website (Art. 14 GDPR).";

    const GOOD_BODY: &str = "Hi {{ first_name | default(\"there\") }},\n\
        {% if company %}\nI love what {{ company }} does.\n{% endif %}\n\
        {{ opt_out }}\n{{ postal_address }}\n{{ privacy_notice }}\n";

    /// The check over `(prospect id, variables)`, each drawn with its id as spintax seed.
    fn check(
        t: &MessageTemplate,
        is_first_step: bool,
        recipients: &[(i64, Variables)],
    ) -> Vec<Problem> {
        let recipients: Vec<CheckRecipient<'_>> = recipients
            .iter()
            .map(|(id, vars)| CheckRecipient {
                prospect_id: *id,
                spin_seed: id.unsigned_abs(),
                vars,
            })
            .collect();
        pre_send_check(t, is_first_step, &recipients)
    }

    fn recipient(id: i64, extra: serde_json::Value) -> (i64, Variables) {
        let mut vars = Variables::new();
        vars.insert(OPT_OUT.into(), OPT.into());
        vars.insert(POSTAL_ADDRESS.into(), POSTAL.into());
        vars.insert(PRIVACY_NOTICE.into(), format!("{NOTICE} Ref {id}.").into());
        if let serde_json::Value::Object(map) = extra {
            vars.extend(map);
        }
        (id, vars)
    }

    fn template(subject: &str, body: &str) -> MessageTemplate {
        MessageTemplate {
            subject: subject.to_owned(),
            body: body.to_owned(),
        }
    }

    fn kinds(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| match serde_json::to_value(p) {
                Ok(serde_json::Value::Object(map)) => map
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn a_good_template_has_no_problems() {
        let t = template(
            "{Hi|Hello} {{ first_name | default(\"there\") }}",
            GOOD_BODY,
        );
        let recipients = [
            recipient(1, json!({"first_name": "Ana", "company": "Acme"})),
            recipient(2, json!({})),
            recipient(3, json!({"first_name": "Bo", "company": "[1] Labs"})),
        ];
        assert_eq!(check(&t, true, &recipients), vec![]);
        assert_eq!(check(&t, true, &[]), vec![]);
    }

    #[test]
    fn empty_variables_are_named_and_counted() {
        let t = template(
            "Hi {{ first_name }}",
            &format!("{{{{ company }}}} {GOOD_BODY}"),
        );
        let recipients: Vec<_> = (1..=8)
            .map(|id| match id {
                1 => recipient(id, json!({"first_name": "Ana", "company": "Acme"})),
                2 => recipient(id, json!({"first_name": null, "company": ""})),
                _ => recipient(id, json!({"first_name": "Bo"})),
            })
            .collect();
        let problems = check(&t, true, &recipients);
        assert_eq!(
            problems,
            vec![
                Problem::EmptyVariable {
                    part: Part::Subject,
                    variable: "first_name".into(),
                    prospects: 1,
                    examples: vec![2],
                },
                Problem::EmptyVariable {
                    part: Part::Body,
                    variable: "company".into(),
                    prospects: 7,
                    examples: vec![2, 3, 4, 5, 6],
                },
            ]
        );
        assert_eq!(
            problems[1].message(),
            "{{ company }} in the body is empty for 7 prospects (e.g. #2, #3, #4, #5, #6). Fill it \
             in or give it a fallback, e.g. {{ company | default(\"...\") }}."
        );
    }

    #[test]
    fn fallbacks_and_guards_are_not_empty_variables() {
        let t = template(
            "{{ first_name | default(\"there\") }} {{ nick or first_name or \"friend\" }}",
            &format!("{{% if company %}}{{{{ company }}}}{{% endif %}}{GOOD_BODY}"),
        );
        let problems = check(&t, true, &[recipient(1, json!({}))]);
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn empty_expressions_without_a_blank_variable_are_named_by_their_text() {
        let t = template(
            "Hi",
            &format!(
                "{{% for p in products %}}{{{{ p }}}}{{% endfor %}}{{{{ bio[100:] }}}}{GOOD_BODY}"
            ),
        );
        let r = recipient(4, json!({"products": ["a", ""], "bio": "short"}));
        let problems = check(&t, true, &[r]);
        let variables: Vec<&str> = problems
            .iter()
            .filter_map(|p| match p {
                Problem::EmptyVariable { variable, .. } => Some(variable.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(variables, ["bio[100:]", "p"]);
    }

    #[test]
    fn compliance_blocks_are_checked_on_the_rendered_body() {
        let body = "Hi\n{% if vip %}\n{{ opt_out }}\n{% endif %}\n{{ postal_address | upper }}\n";
        let t = template("Hi", body);
        let recipients = [
            recipient(1, json!({"vip": true})),
            recipient(2, json!({"vip": false})),
            recipient(3, json!({})),
        ];
        let problems = check(&t, true, &recipients);
        assert_eq!(
            problems,
            vec![
                Problem::MissingOptOut {
                    prospects: 2,
                    examples: vec![2, 3]
                },
                Problem::MissingPostalAddress {
                    prospects: 3,
                    examples: vec![1, 2, 3]
                },
                Problem::MissingPrivacyNotice {
                    prospects: 3,
                    examples: vec![1, 2, 3]
                },
            ]
        );
        // The privacy notice is only required on first contact.
        let later = check(&t, false, &recipients);
        assert_eq!(kinds(&later), ["missing_opt_out", "missing_postal_address"]);
    }

    #[test]
    fn a_workspace_without_postal_address_is_reported() {
        let t = template("Hi", GOOD_BODY);
        let (id, mut vars) = recipient(9, json!({}));
        vars.insert(POSTAL_ADDRESS.into(), "".into());
        let problems = check(&t, true, &[(id, vars)]);
        assert_eq!(
            problems,
            vec![Problem::MissingPostalAddress {
                prospects: 1,
                examples: vec![9]
            }]
        );
    }

    #[test]
    fn the_privacy_notice_must_be_the_recipients_own() {
        // A notice pasted as text instead of the per-prospect variable misses the reference.
        let body = format!("{{{{ opt_out }}}}\n{{{{ postal_address }}}}\n{NOTICE} Ref 1.");
        let t = template("Hi", &body);
        let problems = check(
            &t,
            true,
            &[recipient(1, json!({})), recipient(2, json!({}))],
        );
        assert_eq!(
            problems,
            vec![Problem::MissingPrivacyNotice {
                prospects: 1,
                examples: vec![2]
            }]
        );
    }

    #[test]
    fn header_injection_is_reported_and_not_stripped() {
        let t = template("Hi {{ first_name }}", GOOD_BODY);
        let evil = "Bob\r\nBcc: x@evil.example";
        let recipients = [
            recipient(1, json!({"first_name": "Ana"})),
            recipient(2, json!({"first_name": evil})),
            recipient(3, json!({"first_name": "Eve\0"})),
        ];
        let problems = check(&t, true, &recipients);
        assert_eq!(
            problems,
            vec![Problem::HeaderInjection {
                prospects: 2,
                examples: vec![2, 3]
            }]
        );
        let rendered = super::super::render(&t, &recipients[1].1, 0).unwrap();
        assert_eq!(rendered.subject, format!("Hi {evil}"));
    }

    #[test]
    fn empty_subject_and_body_are_reported() {
        let t = template("{{ first_name }}", "{% if vip %}{{ opt_out }}{% endif %}");
        let problems = check(&t, false, &[recipient(1, json!({"vip": false}))]);
        assert_eq!(
            kinds(&problems),
            [
                "empty_subject",
                "empty_body",
                "missing_opt_out",
                "missing_postal_address",
                "empty_variable"
            ]
        );
        let t = template("  ", "");
        let problems = check(&t, false, &[]);
        assert_eq!(
            kinds(&problems),
            [
                "empty_subject",
                "empty_body",
                "missing_opt_out",
                "missing_postal_address"
            ]
        );
        assert_eq!(problems[0].message(), "The subject is empty.");
    }

    #[test]
    fn leftover_placeholders_are_found_in_rendered_text() {
        let t = template(
            "Quick question about [Company]",
            &format!(
                "[FIRST LINE]\nSee [1] and https://example.com/%E2%80%XXX\n{{first}}\n{GOOD_BODY}"
            ),
        );
        let problems = check(&t, true, &[recipient(1, json!({}))]);
        assert_eq!(
            problems,
            vec![
                Problem::LeftoverPlaceholder {
                    part: Part::Subject,
                    text: "[Company]".into()
                },
                Problem::LeftoverPlaceholder {
                    part: Part::Body,
                    text: "[FIRST LINE]".into()
                },
                Problem::LeftoverPlaceholder {
                    part: Part::Body,
                    text: "{first}".into()
                },
            ]
        );
        assert_eq!(
            problems[1].message(),
            "The body still contains the placeholder \"[FIRST LINE]\" after rendering."
        );
    }

    #[test]
    fn syntax_errors_stop_the_other_checks_of_that_part() {
        let t = template("Hi {{ first_name }}", "{% if x %}\nno end, no opt-out");
        let problems = check(&t, true, &[recipient(1, json!({}))]);
        assert_eq!(
            problems,
            vec![
                Problem::Syntax {
                    part: Part::Body,
                    line: Some(2),
                    message: "syntax error: unexpected end of input, expected end of block".into()
                },
                Problem::EmptyVariable {
                    part: Part::Subject,
                    variable: "first_name".into(),
                    prospects: 1,
                    examples: vec![1],
                },
            ]
        );
        assert!(
            problems[0]
                .message()
                .starts_with("The body has a syntax error (line 2): ")
        );
    }

    #[test]
    fn render_failures_are_grouped() {
        let t = template("Hi", &format!("{{{{ score + 1 }}}}{GOOD_BODY}"));
        let recipients = [
            recipient(1, json!({"score": 5})),
            recipient(2, json!({"score": "high"})),
            recipient(3, json!({"score": "low"})),
        ];
        let problems = check(&t, true, &recipients);
        assert_eq!(problems.len(), 1);
        let Problem::RenderFailed {
            part,
            line,
            prospects,
            examples,
            ..
        } = &problems[0]
        else {
            panic!("expected a render failure, got {problems:?}");
        };
        assert_eq!((*part, *line, *prospects), (Part::Body, Some(1), 2));
        assert_eq!(examples, &[2, 3]);
    }

    #[test]
    fn without_recipients_the_template_is_checked_statically() {
        let t = template(
            "Hi {{ first_name }}\n",
            "[Your Name]\n{{ company }}\n{{ opt_out }}",
        );
        let problems = check(&t, true, &[]);
        assert_eq!(
            problems,
            vec![
                Problem::HeaderInjection {
                    prospects: 0,
                    examples: vec![]
                },
                Problem::MissingPostalAddress {
                    prospects: 0,
                    examples: vec![]
                },
                Problem::MissingPrivacyNotice {
                    prospects: 0,
                    examples: vec![]
                },
                Problem::LeftoverPlaceholder {
                    part: Part::Body,
                    text: "[Your Name]".into()
                },
            ]
        );
        assert_eq!(
            problems[1].message(),
            "The body does not include the postal address. Add {{ postal_address }} and make sure \
             the workspace has a postal address."
        );
        let problems = check(&template("{Hi|", GOOD_BODY), true, &[]);
        assert_eq!(kinds(&problems), ["syntax"]);
    }

    #[test]
    fn spintax_options_are_covered_across_recipients() {
        // Only one option forgets the opt-out; spread over many recipients, some get it.
        let t = template(
            "Hi",
            "{ {{ opt_out }}|Bye}\n{{ postal_address }}\n{{ privacy_notice }}",
        );
        let recipients: Vec<_> = (1..=20).map(|id| recipient(id, json!({}))).collect();
        let problems = check(&t, true, &recipients);
        let Some(Problem::MissingOptOut { prospects, .. }) = problems.first() else {
            panic!("expected a missing opt-out, got {problems:?}");
        };
        assert!((1..20).contains(prospects), "{prospects}");
    }

    #[test]
    fn the_send_check_judges_exactly_the_message_that_is_sent() {
        // A placeholder in one spintax option: the recipients who draw it must be stopped,
        // whichever seed the engine sends with, and nobody else.
        let t = template(
            "{Hello|Hi} {{ first_name }}",
            "{Loved your last post.|[PERSONAL LINE]}\n{{ opt_out }}\n{{ postal_address }}\n\
             {{ privacy_notice }}\n",
        );
        let mut check = SendCheck::new(&t.subject, &t.body, true).unwrap();
        let mut prepared = crate::template::PreparedTemplate::new(t.clone()).unwrap();
        let (_, vars) = recipient(7, json!({ "first_name": "Ana" }));
        let (mut clean, mut stopped) = (0, 0);
        for seed in 0..64u64 {
            let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (message, problems) = check.render(7, &vars, seed).unwrap();
            assert_eq!(message, prepared.render(&vars, seed).unwrap());
            if message.body.contains("[PERSONAL LINE]") {
                assert_eq!(kinds(&problems), ["leftover_placeholder"], "{problems:?}");
                stopped += 1;
            } else {
                assert!(problems.is_empty(), "{problems:?}");
                clean += 1;
            }
        }
        assert!(clean > 0 && stopped > 0, "{clean} clean, {stopped} stopped");
    }

    #[test]
    fn the_send_check_finds_what_the_campaign_check_finds_for_one_recipient() {
        let t = template(
            "Hi {{ first_name }}",
            "{{ company }} is great.\n{{ postal_address }}\n",
        );
        let (id, vars) = recipient(3, json!({}));
        let mut send = SendCheck::new(&t.subject, &t.body, true).unwrap();
        let (_, problems) = send.render(id, &vars, 3).unwrap();
        assert_eq!(problems, check(&t, true, &[(id, vars)]));
        assert_eq!(
            kinds(&problems),
            [
                "missing_opt_out",
                "missing_privacy_notice",
                "empty_variable",
                "empty_variable"
            ]
        );
    }

    #[test]
    fn the_send_check_refuses_bad_syntax_and_reports_render_failures() {
        assert!(SendCheck::new("Hi {{ name", "body", false).is_err());
        let t = template("Hi", "{{ 1 + 'a' }}\n{{ opt_out }}\n{{ postal_address }}\n");
        let (id, vars) = recipient(1, json!({}));
        let mut check = SendCheck::new(&t.subject, &t.body, false).unwrap();
        assert!(check.render(id, &vars, 1).is_err());
    }

    #[test]
    fn a_placeholder_in_a_spintax_option_no_sampled_recipient_draws_is_found() {
        let t = template(
            "Hi",
            "{Loved your last post.|[PERSONAL LINE]}\n{{ opt_out }}\n{{ postal_address }}\n\
             {{ privacy_notice }}\n",
        );
        let mut prepared = crate::template::PreparedTemplate::new(t.clone()).unwrap();
        // Recipients whose own messages all took the clean option.
        let recipients: Vec<_> = (1..500)
            .map(|id| recipient(id, json!({})))
            .filter(|(id, vars)| {
                !prepared
                    .render(vars, *id as u64)
                    .unwrap()
                    .body
                    .contains("[PERSONAL LINE]")
            })
            .take(PLACEHOLDER_SAMPLE + 1)
            .collect();
        assert_eq!(recipients.len(), PLACEHOLDER_SAMPLE + 1);
        let problems = check(&t, true, &recipients);
        assert_eq!(
            problems,
            [Problem::LeftoverPlaceholder {
                part: Part::Body,
                text: "[PERSONAL LINE]".into()
            }]
        );
        // Jinja in an option is not a placeholder; nested spintax is not one either.
        let t = template(
            "Hi",
            "{Hi {{ first_name | default(\"there\") }}|{Hello|Hey} you}\n{{ opt_out }}\n\
             {{ postal_address }}\n{{ privacy_notice }}\n",
        );
        let recipients = [recipient(1, json!({ "first_name": "Ana" }))];
        assert_eq!(check(&t, true, &recipients), []);
    }
}
