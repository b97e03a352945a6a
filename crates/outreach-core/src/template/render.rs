//! Rendering a template part with minijinja, bounded and without escaping.
//!
//! Prospect values reach minijinja only as context values, never as template source, so a
//! `{{ ... }}` in a company name is printed, not run. Rendering is bounded by minijinja's fuel
//! (a cap on executed instructions) and by a cap on the output size.

use std::collections::BTreeSet;
use std::io;

use serde::{Serialize, Serializer};

use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, State, Template, UndefinedBehavior, Value,
};

use super::lexer::{Segment, TagKind, segments, strip_markers};
use super::spintax::{Spintax, SpintaxError};
use super::{MessageTemplate, Part, RenderedMessage, TemplateError, TemplateErrorKind, Variables};

/// Instructions one render may execute; a real email template needs a few hundred.
const FUEL: u64 = 100_000;
/// Largest rendered part, in bytes.
const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The function the pre-send probe wraps around every `{{ }}` expression.
const PROBE_FUNCTION: &str = "__outreach_probe";
/// Prefix of the render-state temps in which the probe marks empty expressions.
const EMPTY_MARK: &str = "__outreach_empty_";

/// The spintax seed of a campaign step's message: a hash of the enrolment and the step, so
/// that every render of that message (the start check, the gate, the send) draws the same
/// options, and different recipients draw differently.
pub fn spin_seed(enrollment_id: i64, step_position: i64) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{enrollment_id}:{step_position}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(b)
}

/// Renders both parts of `template` for one recipient.
///
/// `spin_seed` fixes the spintax choices: the engine passes a hash of enrollment and step so a
/// re-render gives the same message. Undefined variables render as nothing and `none` as
/// nothing; see [`pre_send_check`](super::pre_send_check) for finding them.
///
/// # Errors
/// A [`TemplateError`] when the template has a syntax error (as [`check_syntax`] reports it)
/// or fails while rendering (type errors, too much work, output over 256 KiB).
pub fn render(
    template: &MessageTemplate,
    vars: &Variables,
    spin_seed: u64,
) -> Result<RenderedMessage, TemplateError> {
    PreparedTemplate::new(template.clone())?.render(vars, spin_seed)
}

/// Spintax resolutions kept compiled per part; beyond this a template with very many
/// combinations compiles the rarer ones on each render instead of growing without bound.
const MAX_COMPILED: usize = 256;

/// An environment that keeps what it compiled, by source text: a campaign renders the same
/// few spintax resolutions for thousands of recipients, and compiling costs far more than
/// rendering. At most [`MAX_COMPILED`] are kept; rarer ones compile on each use.
pub(crate) struct Compiled {
    env: Environment<'static>,
    kept: usize,
}

impl Compiled {
    pub(crate) fn new(env: Environment<'static>) -> Self {
        Self { env, kept: 0 }
    }

    /// The compiled template for `src`, compiling it on first use.
    pub(crate) fn template<'a>(&'a mut self, src: &'a str) -> Result<Template<'a, 'a>, Error> {
        if self.kept < MAX_COMPILED && self.env.get_template(src).is_err() {
            self.env
                .add_template_owned(src.to_owned(), src.to_owned())?;
            self.kept += 1;
        }
        match self.env.get_template(src) {
            Ok(t) => Ok(t),
            Err(_) => self.env.template_from_str(src),
        }
    }
}

/// A template checked once and rendered for many recipients: each spintax resolution is
/// compiled the first time it occurs and reused after, which is what makes sending a
/// campaign cheap (compiling costs far more than rendering).
pub struct PreparedTemplate {
    template: MessageTemplate,
    compiled: Compiled,
}

impl PreparedTemplate {
    /// Checks the template's syntax, as [`check_syntax`] does.
    ///
    /// # Errors
    /// The first syntax error, subject first.
    pub fn new(template: MessageTemplate) -> Result<Self, TemplateError> {
        check_syntax(&template)?;
        Ok(Self {
            template,
            compiled: Compiled::new(environment()),
        })
    }

    /// Renders both parts for one recipient; the same as [`render`], faster on repeats.
    ///
    /// # Errors
    /// A [`TemplateError`] of kind [`TemplateErrorKind::Render`] when rendering fails.
    pub fn render(
        &mut self,
        vars: &Variables,
        spin_seed: u64,
    ) -> Result<RenderedMessage, TemplateError> {
        let context = context(vars);
        Ok(RenderedMessage {
            subject: self.render_part(Part::Subject, &context, spin_seed)?,
            body: self.render_part(Part::Body, &context, spin_seed)?,
        })
    }

    fn render_part(
        &mut self,
        part: Part,
        context: &Value,
        seed: u64,
    ) -> Result<String, TemplateError> {
        let src = match part {
            Part::Subject => &self.template.subject,
            Part::Body => &self.template.body,
        };
        // Checked in `new`, so parsing cannot fail here; it is cheap next to compiling.
        let resolved = Spintax::parse(src)
            .map_err(|e| spintax_error(part, e))?
            .resolve(seed, part.as_str());
        let compiled = self
            .compiled
            .template(&resolved)
            .map_err(|e| template_error(part, TemplateErrorKind::Syntax, &e, 0))?;
        let mut out = CappedWriter::default();
        compiled
            .render_captured_to(context, &mut out)
            .map_err(|e| template_error(part, TemplateErrorKind::Render, &e, 0))?;
        String::from_utf8(out.buf).map_err(|_| TemplateError {
            kind: TemplateErrorKind::Render,
            part,
            line: None,
            message: "the output is not valid UTF-8".to_owned(),
        })
    }
}

/// Checks both parts for unbalanced spintax and Jinja syntax errors, subject first.
///
/// Every spintax option must be valid Jinja on its own (a `{% if %}` may not open in one option
/// and close outside it), so that every possible resolution of the spintax is valid.
///
/// # Errors
/// The first [`TemplateError`] found, of kind [`TemplateErrorKind::Syntax`].
pub fn check_syntax(template: &MessageTemplate) -> Result<(), TemplateError> {
    let env = environment();
    CheckedPart::new(&env, Part::Subject, &template.subject)?;
    CheckedPart::new(&env, Part::Body, &template.body)?;
    Ok(())
}

/// The top-level variable names the template reads, in every spintax option, for the editor's
/// autocomplete. Loop and `set` variables and built-in functions are left out; a part with a
/// syntax error contributes nothing.
pub fn variables_used(template: &MessageTemplate) -> BTreeSet<String> {
    let env = environment();
    let mut names = BTreeSet::new();
    for src in [&template.subject, &template.body] {
        names.extend(top_level_variables(&env, src));
    }
    names
}

/// Top-level variables of one part source; empty when it does not parse.
pub(crate) fn top_level_variables(env: &Environment<'_>, src: &str) -> BTreeSet<String> {
    let Ok(spintax) = Spintax::parse(src) else {
        return BTreeSet::new();
    };
    let flat = spintax.flatten();
    let Ok(compiled) = env.template_from_str(&flat) else {
        return BTreeSet::new();
    };
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    compiled
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !globals.contains(name.as_str()))
        .collect()
}

/// The environment every render uses: no escaping, undefined values (and their attributes)
/// print nothing, block whitespace trimmed, line breaks kept, fuel-limited.
pub(crate) fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_fuel(Some(FUEL));
    env.set_formatter(|out, state, value| {
        // minijinja prints `none` for a JSON null; a message should show nothing.
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
}

/// [`environment`] plus the probe function the pre-send check instruments templates with.
pub(crate) fn probe_environment<'s>() -> Environment<'s> {
    let mut env = environment();
    env.add_function(PROBE_FUNCTION, probe);
    env
}

/// Records in the render state that expression `id` printed nothing, and passes its value on.
fn probe(state: &State, id: u32, value: Value) -> Value {
    if prints_nothing(&value) {
        state.set_temp(&format!("{EMPTY_MARK}{id}"), Value::from(true));
    }
    value
}

/// Whether a value renders as nothing: undefined, none or the empty string.
fn prints_nothing(value: &Value) -> bool {
    value.is_undefined() || value.is_none() || value.as_str() == Some("")
}

/// A template part whose syntax has been checked, ready to render for many recipients.
#[derive(Debug, Clone)]
pub(crate) struct CheckedPart<'a> {
    part: Part,
    spintax: Spintax<'a>,
}

impl<'a> CheckedPart<'a> {
    /// Parses the spintax of `src` and checks its Jinja syntax.
    pub(crate) fn new(
        env: &Environment<'_>,
        part: Part,
        src: &'a str,
    ) -> Result<Self, TemplateError> {
        let spintax = Spintax::parse(src).map_err(|e| spintax_error(part, e))?;
        let flat = spintax.flatten();
        env.template_from_str(&flat)
            .map_err(|e| template_error(part, TemplateErrorKind::Syntax, &e, 0))?;
        for option in spintax.options() {
            if let Err(e) = env.template_from_str(&option.text) {
                let mut error =
                    template_error(part, TemplateErrorKind::Syntax, &e, option.line - 1);
                error.message = format!(
                    "a spintax option must be complete on its own: a {{% %}} block may not open \
                     or close across '|' or the group's braces ({})",
                    error.message
                );
                return Err(error);
            }
        }
        Ok(Self { part, spintax })
    }

    /// Which part this is.
    pub(crate) fn part(&self) -> Part {
        self.part
    }

    /// The literal text of each spintax option, its Jinja tags left out: what a recipient who
    /// draws that option gets word for word.
    pub(crate) fn option_literals(&self) -> Vec<String> {
        self.spintax
            .options()
            .into_iter()
            .map(|option| {
                segments(&option.text)
                    .into_iter()
                    .filter_map(|segment| match segment {
                        Segment::Text(range) => option.text.get(range),
                        Segment::Tag(_) => None,
                    })
                    // Kept apart, so that text on both sides of a tag cannot join into one.
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }

    /// Renders this part for one recipient.
    pub(crate) fn render(
        &self,
        compiled: &mut Compiled,
        context: &Value,
        seed: u64,
    ) -> Result<String, TemplateError> {
        let resolved = self.spintax.resolve(seed, self.part.as_str());
        let compiled = compiled
            .template(&resolved)
            .map_err(|e| template_error(self.part, TemplateErrorKind::Syntax, &e, 0))?;
        let mut out = CappedWriter::default();
        compiled
            .render_captured_to(context, &mut out)
            .map_err(|e| template_error(self.part, TemplateErrorKind::Render, &e, 0))?;
        String::from_utf8(out.buf).map_err(|_| TemplateError {
            kind: TemplateErrorKind::Render,
            part: self.part,
            line: None,
            message: "the output is not valid UTF-8".to_owned(),
        })
    }

    /// Renders this part for one recipient through the probe, which prints what
    /// [`CheckedPart::render`] prints: the text, and the `{{ }}` expressions (their source
    /// text, trimmed) that printed nothing. `probe` must be built on [`probe_environment`].
    pub(crate) fn render_probed(
        &self,
        probe: &mut Compiled,
        context: &Value,
        seed: u64,
    ) -> Result<(String, Vec<String>), TemplateError> {
        let resolved = self.spintax.resolve(seed, self.part.as_str());
        let (instrumented, expressions) = instrument(&resolved);
        let compiled = probe
            .template(&instrumented)
            .map_err(|e| template_error(self.part, TemplateErrorKind::Syntax, &e, 0))?;
        let mut out = CappedWriter::default();
        let captured = compiled
            .render_captured_to(context, &mut out)
            .map_err(|e| template_error(self.part, TemplateErrorKind::Render, &e, 0))?;
        let state = captured.state();
        let empty = expressions
            .into_iter()
            .enumerate()
            .filter(|(id, _)| state.get_temp(&format!("{EMPTY_MARK}{id}")).is_some())
            .map(|(_, expression)| expression)
            .collect();
        drop(captured);
        let text = String::from_utf8(out.buf).map_err(|_| TemplateError {
            kind: TemplateErrorKind::Render,
            part: self.part,
            line: None,
            message: "the output is not valid UTF-8".to_owned(),
        })?;
        Ok((text, empty))
    }
}

/// Wraps every `{{ expr }}` of `src` as `{{ __outreach_probe(N, (expr)) }}`, keeping
/// whitespace-control markers and line breaks, and returns the expressions by `N`.
fn instrument(src: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(src.len() * 2);
    let mut expressions = Vec::new();
    for segment in segments(src) {
        match segment {
            Segment::Text(range) => out.push_str(&src[range]),
            Segment::Tag(tag) if tag.kind == TagKind::Variable && tag.span.end > tag.inner.end => {
                let inner = &src[tag.inner];
                let expression = strip_markers(inner);
                let lead = if inner.len() > expression.len() && inner.starts_with(['-', '+']) {
                    &inner[..1]
                } else {
                    ""
                };
                let trail = &inner[lead.len() + expression.len()..];
                out.push_str(&format!(
                    "{{{{{lead} {PROBE_FUNCTION}({}, ({expression})) {trail}}}}}",
                    expressions.len()
                ));
                expressions.push(expression.trim().to_owned());
            }
            Segment::Tag(tag) => out.push_str(&src[tag.span]),
        }
    }
    (out, expressions)
}

/// The variables as templates see them, made once per recipient: converting them costs about
/// as much as a render, and each message renders at least twice (subject and body).
pub(crate) fn context(vars: &Variables) -> Value {
    Value::from_serialize(Context(vars))
}

/// The variables as the template sees them: JSON nulls left out, so that `default(...)`
/// applies to them as to a missing field.
struct Context<'v>(&'v Variables);

impl Serialize for Context<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().filter(|(_, value)| !value.is_null()))
    }
}

/// An output buffer that refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Debug, Default)]
struct CappedWriter {
    buf: Vec<u8>,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn spintax_error(part: Part, e: SpintaxError) -> TemplateError {
    TemplateError {
        kind: TemplateErrorKind::Syntax,
        part,
        line: Some(e.line),
        message: e.message,
    }
}

/// Turns a minijinja error into ours; `line_offset` is added to its line.
fn template_error(
    part: Part,
    kind: TemplateErrorKind,
    e: &Error,
    line_offset: u32,
) -> TemplateError {
    let message = match e.kind() {
        ErrorKind::OutOfFuel => {
            "the template does too much work (a loop that is too long?)".to_owned()
        }
        ErrorKind::WriteFailure => format!(
            "the rendered {part} is longer than {} KiB",
            MAX_OUTPUT_BYTES / 1024
        ),
        other => match e.detail() {
            Some(detail) => format!("{other}: {detail}"),
            None => other.to_string(),
        },
    };
    TemplateError {
        kind,
        part,
        line: e
            .line()
            .and_then(|l| u32::try_from(l).ok())
            .map(|l| l.saturating_add(line_offset)),
        message,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(value: serde_json::Value) -> Variables {
        match value {
            serde_json::Value::Object(map) => map,
            _ => Variables::new(),
        }
    }

    fn template(subject: &str, body: &str) -> MessageTemplate {
        MessageTemplate {
            subject: subject.to_owned(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn a_prepared_template_renders_what_compiling_each_time_renders() {
        // 5^4 = 625 resolutions of the body: more than are kept compiled, so both the cached
        // and the uncached path run.
        let t = template(
            "{Hi|Hello} {{ first_name | default(\"there\") }}",
            "{a|b|c|d|e}{f|g|h|i|j}{k|l|m|n|o}{p|q|r|s|t} {% if score > 5 %}fit{% endif %} {{ company }}",
        );
        let v = vars(json!({ "first_name": "Ada", "score": 9, "company": "Engines" }));
        let env = environment();
        let subject = CheckedPart::new(&env, Part::Subject, &t.subject).unwrap();
        let body_part = CheckedPart::new(&env, Part::Body, &t.body).unwrap();
        // A fresh environment per render: compiling every time, the behaviour to match.
        let once = |part: &CheckedPart<'_>, seed| {
            part.render(&mut Compiled::new(environment()), &context(&v), seed)
                .unwrap()
        };
        let mut prepared = PreparedTemplate::new(t.clone()).unwrap();
        let mut distinct = BTreeSet::new();
        for seed in 0..1_500u64 {
            let m = prepared.render(&v, seed).unwrap();
            assert_eq!(m.subject, once(&subject, seed), "seed {seed}");
            assert_eq!(m.body, once(&body_part, seed), "seed {seed}");
            distinct.insert(m.body);
        }
        assert!(
            distinct.len() > MAX_COMPILED,
            "{} resolutions",
            distinct.len()
        );
    }

    #[test]
    fn a_prepared_template_refuses_bad_syntax_up_front() {
        let err = PreparedTemplate::new(template("ok", "{% if x %}never closed"))
            .err()
            .expect("a syntax error");
        assert_eq!(err.kind, TemplateErrorKind::Syntax);
        assert_eq!(err.part, Part::Body);
    }

    fn body(src: &str, v: &Variables) -> Result<String, TemplateError> {
        render(&template("s", src), v, 1).map(|m| m.body)
    }

    #[test]
    fn variables_fallbacks_and_conditionals() {
        let t = template(
            r#"{{ first_name | default("there") }}, a partnership for {{ company }}?"#,
            "Hi {{ first_name }},\n{% if score >= 80 %}\nYou are a top fit.\n{% else %}\nHello.\n{% endif %}\nBye\n",
        );
        let high = vars(json!({"first_name": "Ana", "company": "Acme", "score": 91}));
        let m = render(&t, &high, 0).unwrap();
        assert_eq!(m.subject, "Ana, a partnership for Acme?");
        assert_eq!(m.body, "Hi Ana,\nYou are a top fit.\nBye\n");
        let low = vars(json!({"company": "Acme", "score": 10}));
        let m = render(&t, &low, 0).unwrap();
        assert_eq!(m.subject, "there, a partnership for Acme?");
        assert_eq!(m.body, "Hi ,\nHello.\nBye\n");
    }

    #[test]
    fn undefined_and_null_render_as_nothing() {
        let v = vars(json!({"nothing": null}));
        assert_eq!(
            body(
                "[{{ missing }}][{{ nothing }}][{{ missing.deep }}][{{ nothing | default('x') }}]",
                &v
            )
            .unwrap(),
            "[][][][x]"
        );
    }

    #[test]
    fn nothing_is_html_escaped() {
        let v = vars(json!({"company": "Smith & Sons <b>\"Q\"</b>"}));
        assert_eq!(
            body("{{ company }}", &v).unwrap(),
            "Smith & Sons <b>\"Q\"</b>"
        );
    }

    #[test]
    fn hostile_values_are_printed_not_run() {
        let hostile = "{{ 7 * 7 }}{% for i in range(9) %}x{% endfor %}{Hi|Ho}{# c #}}{";
        let v = vars(json!({"first_name": hostile, "company": "{% raw %}"}));
        let m = render(
            &template("{{ first_name }}", "{{ first_name }} {{ company }}"),
            &v,
            5,
        )
        .unwrap();
        assert_eq!(m.subject, hostile);
        assert_eq!(m.body, format!("{hostile} {{% raw %}}"));
    }

    #[test]
    fn spintax_resolves_before_jinja_and_is_deterministic() {
        let t = template(
            "{Hi|Hello} {{ name }}",
            "{Thanks|Cheers}, {{ me | default(\"Sam\") }}",
        );
        let v = vars(json!({"name": "Ana"}));
        let first = render(&t, &v, 99).unwrap();
        assert_eq!(render(&t, &v, 99).unwrap(), first);
        assert!(first.subject == "Hi Ana" || first.subject == "Hello Ana");
        let subjects: std::collections::BTreeSet<String> = (0..32)
            .map(|s| render(&t, &v, s).unwrap().subject)
            .collect();
        assert_eq!(subjects.len(), 2);
    }

    #[test]
    fn endless_work_is_stopped_by_fuel() {
        let src =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        let e = body(src, &Variables::new()).unwrap_err();
        assert_eq!(e.kind, TemplateErrorKind::Render);
        assert!(e.message.contains("too much work"), "{}", e.message);
    }

    #[test]
    fn huge_output_is_refused() {
        let src = "{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}";
        let e = body(src, &Variables::new()).unwrap_err();
        assert_eq!(e.kind, TemplateErrorKind::Render);
        assert!(e.message.contains("longer than 256 KiB"), "{}", e.message);
    }

    #[test]
    fn type_errors_fail_at_render_time() {
        let e = body("line\n{{ score + 'a' }}", &vars(json!({"score": 3}))).unwrap_err();
        assert_eq!(e.kind, TemplateErrorKind::Render);
        assert_eq!(e.part, Part::Body);
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn syntax_errors_name_part_and_line() {
        let e = check_syntax(&template("ok", "Hi\n{% if x %}\nno end")).unwrap_err();
        assert_eq!(
            (e.kind, e.part, e.line),
            (TemplateErrorKind::Syntax, Part::Body, Some(3))
        );
        let e = check_syntax(&template("Hi {{ name", "ok")).unwrap_err();
        assert_eq!(e.part, Part::Subject);
        let e = check_syntax(&template("ok", "a\n{Hi|Hello")).unwrap_err();
        assert_eq!((e.part, e.line), (Part::Body, Some(2)));
        assert!(
            e.to_string()
                .starts_with("syntax error in the body, line 2:"),
            "{e}"
        );
        assert!(
            check_syntax(&template(
                "{Hi|Hello} {{ x }}",
                "{% if a %}{b|c}{% endif %}"
            ))
            .is_ok()
        );
    }

    #[test]
    fn blocks_may_not_cross_spintax_options() {
        let t = template("s", "x\n{Hi {% if vip %}dear|Hello}{% endif %}");
        let e = check_syntax(&t).unwrap_err();
        assert_eq!((e.part, e.line), (Part::Body, Some(2)));
        assert!(e.message.contains("spintax option"), "{}", e.message);
        // Rendering refuses it too, whatever option the seed picks.
        for seed in 0..4 {
            assert!(render(&t, &Variables::new(), seed).is_err());
        }
    }

    #[test]
    fn variables_used_lists_top_level_names_of_every_option() {
        let t = template(
            "{Hi {{ first_name }}|Hello {{ nickname | default(company) }}}",
            "{% set greeting = 'x' %}{% for p in products %}{{ p.name }}{{ loop.index }}{% endfor %}\
             {{ range(3) }}{% if score > 5 %}{{ greeting }}{% endif %}{{ opt_out }}",
        );
        let names: Vec<String> = variables_used(&t).into_iter().collect();
        assert_eq!(
            names,
            [
                "company",
                "first_name",
                "nickname",
                "opt_out",
                "products",
                "score"
            ]
        );
        assert!(variables_used(&template("{{", "{{ x }")).is_empty());
    }

    #[test]
    fn instrumenting_keeps_the_output() {
        let src =
            "A {{- name -}} B\n{{+ name }}|{{ x | default('y') }}{% raw %}{{ raw }}{% endraw %}\n";
        let (instrumented, expressions) = instrument(src);
        assert_eq!(expressions, ["name", "name", "x | default('y')"]);
        let v = vars(json!({"name": "Ana"}));
        let plain = environment().render_str(src, &v).unwrap();
        let probed = probe_environment().render_str(&instrumented, &v).unwrap();
        assert_eq!(probed, plain);
    }

    #[test]
    fn empty_expressions_are_named() {
        let env = environment();
        let mut probe = Compiled::new(probe_environment());
        let src = "{{ a }}{{ b | default('x') }}{{ c }}{{ d }}{% if e %}{{ e }}{% endif %}";
        let part = CheckedPart::new(&env, Part::Body, src).unwrap();
        let v = vars(json!({"c": "", "d": "here"}));
        assert_eq!(
            part.render_probed(&mut probe, &context(&v), 0).unwrap().1,
            ["a", "c"]
        );
        // Again from the kept compilation, with other values.
        let w = vars(json!({"a": "x", "b": "", "d": ""}));
        assert_eq!(
            part.render_probed(&mut probe, &context(&w), 0).unwrap().1,
            ["b | default('x')", "c", "d"]
        );
    }
}
