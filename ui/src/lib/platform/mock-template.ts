/**
 * The mock's stand-in for the Rust template engine: `{{ variable }}` placeholders only,
 * and a pre-send check that finds the same kinds of problems the core does (syntax,
 * unknown or empty variables, no opt-out, no privacy notice, header injection).
 */
import type { Part, Problem, ProblemView, Prospect, RenderedMessage } from '$lib/generated/commands';

/** Values a template may use, by variable name. */
export type Vars = Record<string, string | null>;

/** The visible opt-out line every message carries. */
export const OPT_OUT_LINE = 'Not interested? Reply “stop” and you will not hear from us again.';

/** The variables a template may name. */
export const VARIABLES = [
	'first_name',
	'last_name',
	'company',
	'email',
	'website',
	'title',
	'country',
	'sender_name',
	'sender_email',
	'opt_out',
	'privacy_notice',
	'postal_address'
] as const;

/** What the sender side fills in. */
export interface SenderVars {
	sender_name: string;
	sender_email: string;
	postal_address: string;
	legal_notice: string;
}

/** The variables for one prospect. */
export function varsFor(p: Prospect | null, sender: SenderVars): Vars {
	return {
		first_name: p?.first_name ?? null,
		last_name: p?.last_name ?? null,
		company: p?.company ?? null,
		email: p?.email ?? null,
		website: p?.website ?? null,
		title: p?.title ?? null,
		country: p?.country ?? null,
		sender_name: sender.sender_name || null,
		sender_email: sender.sender_email || null,
		opt_out: OPT_OUT_LINE,
		privacy_notice: sender.legal_notice
			? `Why you get this e-mail: ${sender.legal_notice}`
			: 'Why you get this e-mail: we found your public business contact details.',
		postal_address: sender.postal_address || null
	};
}

type Token = { kind: 'text'; text: string } | { kind: 'var'; name: string; line: number };

/** Split a template into text and placeholders, or return the syntax problem. */
export function lex(source: string, part: Part): Token[] | Problem {
	const tokens: Token[] = [];
	let rest = source;
	let line = 1;
	for (;;) {
		const open = rest.indexOf('{{');
		if (open < 0) {
			tokens.push({ kind: 'text', text: rest });
			return tokens;
		}
		const before = rest.slice(0, open);
		tokens.push({ kind: 'text', text: before });
		line += before.split('\n').length - 1;
		const close = rest.indexOf('}}', open + 2);
		if (close < 0) return { kind: 'syntax', part, line, message: 'A “{{” is never closed with “}}”.' };
		const name = rest.slice(open + 2, close).trim();
		if (name === '') return { kind: 'syntax', part, line, message: 'A placeholder “{{ }}” names no variable.' };
		if (!/^[a-z_][a-z0-9_]*$/i.test(name))
			return { kind: 'syntax', part, line, message: `“${name}” is not a variable name.` };
		tokens.push({ kind: 'var', name, line });
		rest = rest.slice(close + 2);
	}
}

/** The names a template's placeholders use. */
export function placeholders(source: string): string[] {
	const t = lex(source, 'body');
	return Array.isArray(t) ? t.flatMap((x) => (x.kind === 'var' ? [x.name] : [])) : [];
}

/** Render one part; problems found on the way go to `problems`. */
function renderPart(source: string, part: Part, vars: Vars, problems: Problem[], prospectId: number | null): string | null {
	const tokens = lex(source, part);
	if (!Array.isArray(tokens)) {
		problems.push(tokens);
		return null;
	}
	let out = '';
	for (const t of tokens) {
		if (t.kind === 'text') {
			out += t.text;
			continue;
		}
		if (!(t.name in vars)) {
			problems.push({
				kind: 'render_failed',
				part,
				line: t.line,
				message: `There is no variable “${t.name}”.`,
				prospects: prospectId === null ? 0 : 1,
				examples: prospectId === null ? [] : [prospectId]
			});
			return null;
		}
		const v = vars[t.name];
		// Without a recipient an empty prospect field says nothing about the template.
		if (prospectId !== null && (v === null || v.trim() === '')) {
			problems.push({
				kind: 'empty_variable',
				part,
				variable: t.name,
				prospects: prospectId === null ? 0 : 1,
				examples: prospectId === null ? [] : [prospectId]
			});
		}
		out += v ?? '';
	}
	const leftover = /\{\s*[a-z_]+\s*\}|\[\[[^\]]*\]\]/i.exec(out);
	if (leftover) problems.push({ kind: 'leftover_placeholder', part, text: leftover[0] });
	return out;
}

/** Render a template for one prospect (or none) and run the pre-send check on it. */
export function renderAndCheck(
	subject: string,
	body: string,
	vars: Vars,
	opts: { firstStep: boolean; prospectId: number | null }
): { rendered: RenderedMessage | null; problems: Problem[] } {
	const problems: Problem[] = [];
	const s = renderPart(subject, 'subject', vars, problems, opts.prospectId);
	const b = renderPart(body, 'body', vars, problems, opts.prospectId);
	const who = { prospects: opts.prospectId === null ? 0 : 1, examples: opts.prospectId === null ? [] : [opts.prospectId] };
	if (subject.trim() === '' || (s !== null && s.trim() === '')) problems.push({ kind: 'empty_subject', ...who });
	if (body.trim() === '' || (b !== null && b.trim() === '')) problems.push({ kind: 'empty_body', ...who });
	// A body that does not parse has already been reported; what it lacks is unknown.
	if (Array.isArray(lex(body, 'body'))) {
		const used = placeholders(body);
		if (!used.includes('opt_out')) problems.push({ kind: 'missing_opt_out', ...who });
		if (opts.firstStep && !used.includes('privacy_notice')) problems.push({ kind: 'missing_privacy_notice', ...who });
		if (used.includes('postal_address') && !vars.postal_address) problems.push({ kind: 'missing_postal_address', ...who });
	}
	if (s !== null && /[\r\n]/.test(s)) problems.push({ kind: 'header_injection', ...who });
	return { rendered: s !== null && b !== null ? { subject: s, body: b } : null, problems };
}

/** The sentence for a problem, as the core words it. */
export function problemMessage(p: Problem): string {
	const where = (part: Part, line: number | null) => `${part === 'subject' ? 'Subject' : 'Body'}${line ? `, line ${line}` : ''}`;
	const n = (count: number) => (count > 0 ? ` (${count} prospect${count === 1 ? '' : 's'})` : '');
	switch (p.kind) {
		case 'syntax':
			return `${where(p.part, p.line)}: ${p.message}`;
		case 'render_failed':
			return `${where(p.part, p.line)}: ${p.message}${n(p.prospects)}`;
		case 'empty_variable':
			return `${where(p.part, null)}: “${p.variable}” is empty${n(p.prospects)}.`;
		case 'leftover_placeholder':
			return `${where(p.part, null)}: “${p.text}” looks like a placeholder that was not filled in.`;
		case 'missing_opt_out':
			return `The body has no opt-out: add {{ opt_out }}${n(p.prospects)}.`;
		case 'missing_postal_address':
			return `The workspace has no postal address for {{ postal_address }}${n(p.prospects)}.`;
		case 'missing_privacy_notice':
			return `A first message must say why the recipient gets it: add {{ privacy_notice }}${n(p.prospects)}.`;
		case 'header_injection':
			return `The subject would contain a line break${n(p.prospects)}.`;
		case 'empty_subject':
			return `The subject is empty${n(p.prospects)}.`;
		case 'empty_body':
			return `The body is empty${n(p.prospects)}.`;
	}
}

/** Problems with their sentences. */
export function views(problems: Problem[]): ProblemView[] {
	return problems.map((problem) => ({ problem, message: problemMessage(problem) }));
}

/** The syntax problems of a template, for saving. */
export function syntaxProblems(subject: string, body: string): Problem[] {
	return [lex(subject, 'subject'), lex(body, 'body')].filter((t): t is Problem => !Array.isArray(t));
}
