/**
 * An in-memory backend that implements every command closely enough for tests and for
 * running the UI in a plain browser. It follows the Rust core's contract: the same
 * shapes, the same error codes, the same events.
 */
import type {
	ApiError,
	ApiEvent,
	AppInfo,
	ErasureCounts,
	AuditEntry,
	AuditTopic,
	DeletedWorkspace,
	ChangedEntity,
	ColumnMapping,
	Commands,
	ErrorCode,
	FactorId,
	FactorScore,
	Field,
	FieldError,
	Prospect,
	ProspectQuery,
	RetentionStatus,
	RowError,
	WorkspaceContents,
	ScoreBreakdown,
	ScoringConfig,
	SourceType,
	ProspectStatus,
	StatusBefore,
	Workspace,
	WorkspaceFields
} from '$lib/generated/commands';
import { NO_FILTER } from '$lib/filters';
import { customKey } from '$lib/labels';
import { retentionEnds } from '$lib/retention';
import type { JsonValue as JsonValueLike } from '$lib/generated/serde_json/JsonValue';
import type { Backend } from './backend';
import { csvCell, parseCsv } from './csv';
import { MockFilters } from './mock-filters';
import { MockInbox } from './mock-inbox';
import { OPT_OUT_LINE } from './mock-template';
import { MockSending } from './mock-sending';

type Handlers = { [K in keyof Commands]: (args: Commands[K]['args']) => Promise<Commands[K]['result']> | Commands[K]['result'] };

/** The core's rule on statuses set by hand: "unsubscribed" only through an opt-out, and kept after one. */
function refuseByHand(from: ProspectStatus, to: ProspectStatus, objected: boolean): string | null {
	if (to === from) return null;
	if (objected) return 'they opted out, so their status stays unsubscribed';
	return refusedAsHandTarget(to);
}

/** Why nobody may be given this status by hand, whatever they have now. */
function refusedAsHandTarget(to: ProspectStatus): string | null {
	return to === 'unsubscribed' ? 'to unsubscribe someone, opt them out: that records their objection and keeps their address from every campaign' : null;
}

function validMonths(months: number): number {
	if (!Number.isInteger(months) || months < 1 || months > 120) fail('invalid_input', 'keep prospects for 1 to 120 months');
	return months;
}

/** Throw an {@link ApiError}. */
function fail(code: ErrorCode, message: string): never {
	const err: ApiError = { code, message };
	throw err;
}

function clone<T>(v: T): T {
	return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Whom an audit entry is about: one prospect, several, or no one in particular. */
type About = number | readonly number[] | null;

/** The actions of each audit topic, as the core defines them. */
const AUDIT_TOPIC_PREFIXES: Record<AuditTopic, string[]> = {
	prospects: ['prospect.', 'prospects.'],
	consent: ['consent.'],
	campaigns: ['campaign.', 'template.'],
	sending: ['send.'],
	replies: ['reply.', 'referral.'],
	accounts: ['account.'],
	workspace: ['workspace.', 'settings.']
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const DEFAULT_SCORING: ScoringConfig = {
	weights: [
		{ factor: 'email_domain', weight: 40 },
		{ factor: 'website', weight: 30 },
		{ factor: 'social', weight: 30 }
	],
	threshold: 60
};

const FREE_MAIL = new Set([
	'gmail.com',
	'googlemail.com',
	'yahoo.com',
	'hotmail.com',
	'outlook.com',
	'icloud.com',
	'aol.com',
	'gmx.de',
	'web.de',
	'proton.me'
]);

const HEADER_ALIASES: Record<Field, string[]> = {
	first_name: ['first name', 'firstname', 'first', 'given name', 'vorname'],
	last_name: ['last name', 'lastname', 'last', 'surname', 'family name', 'nachname'],
	full_name: ['name', 'full name', 'fullname', 'contact'],
	email: ['email', 'e-mail', 'email address', 'e-mail address', 'mail'],
	website: ['website', 'web', 'homepage', 'site', 'domain'],
	x_handle: ['x', 'twitter', 'x handle', 'twitter handle'],
	linkedin_url: ['linkedin', 'linkedin url', 'url', 'profile url', 'linkedin profile'],
	instagram: ['instagram', 'instagram handle'],
	company: ['company', 'organization', 'organisation', 'company name'],
	title: ['title', 'position', 'job title', 'headline'],
	country: ['country', 'location', 'region'],
	time_zone: ['time zone', 'timezone', 'tz'],
	followers: ['followers', 'follower count', 'followers count', 'audience'],
	notes: ['notes', 'note', 'comment', 'comments'],
	connected_on: ['connected on'],
	custom: []
};

const IDENTITY_FIELDS: Field[] = [
	'first_name',
	'last_name',
	'full_name',
	'email',
	'website',
	'x_handle',
	'linkedin_url',
	'instagram'
];

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Parse a follower count such as `1200`, `1,200`, `1.2k` or `3M`. */
export function parseFollowers(text: string): number | null {
	const t = text.trim().toLowerCase().replaceAll(',', '').replaceAll('_', '');
	const m = /^(\d+(?:\.\d+)?)\s*([km]?)$/.exec(t);
	if (!m) return null;
	const mult = m[2] === 'k' ? 1_000 : m[2] === 'm' ? 1_000_000 : 1;
	return Math.round(parseFloat(m[1]) * mult);
}

function normHeader(h: string): string {
	return h.trim().toLowerCase().replace(/[_\s]+/g, ' ');
}

export function detectField(header: string): Field | null {
	const h = normHeader(header);
	for (const [field, aliases] of Object.entries(HEADER_ALIASES) as [Field, string[]][]) {
		if (aliases.includes(h)) return field;
	}
	// Like the backend: any other named column is kept for templates unless the user skips it.
	return customKey(header) ? 'custom' : null;
}

function mappingProblem(columns: ColumnMapping[]): string | null {
	const seen = new Map<Field, string>();
	for (const c of columns) {
		if (!c.field) continue;
		const before = seen.get(c.field);
		if (before !== undefined && c.field !== 'custom') return `Columns “${before}” and “${c.header}” both fill ${c.field}.`;
		seen.set(c.field, c.header);
	}
	if (!columns.some((c) => c.field && IDENTITY_FIELDS.includes(c.field))) {
		return 'No column was recognised as a name, e-mail address, website or profile; map at least one.';
	}
	return null;
}

/** Lower-case ASCII (accents dropped), for made-up addresses. */
function ascii(s: string): string {
	return s
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase();
}

function displayName(p: Prospect): string {
	return [p.first_name, p.last_name].filter(Boolean).join(' ');
}

function hostOf(url: string): string | null {
	const m = /^(?:[a-z]+:\/\/)?(?:www\.)?([^/\s:?#]+)/i.exec(url.trim());
	return m ? m[1].toLowerCase() : null;
}

/** The deterministic stand-in for the real scoring rules. */
export function scoreProspect(p: Prospect, cfg: ScoringConfig): ScoreBreakdown {
	const factors: FactorScore[] = cfg.weights.map(({ factor, weight }) => {
		const { points, reasons } = factorPoints(factor, p);
		return { factor, points, weight, reasons };
	});
	const wsum = factors.reduce((s, f) => s + f.weight, 0);
	const total = wsum > 0 ? Math.round(factors.reduce((s, f) => s + f.points * f.weight, 0) / wsum) : 0;
	return { total, threshold: cfg.threshold, qualified: total >= cfg.threshold, factors };
}

function factorPoints(factor: FactorId, p: Prospect): { points: number; reasons: string[] } {
	switch (factor) {
		case 'email_domain': {
			if (!p.email) return { points: 0, reasons: ['There is no e-mail address.'] };
			const domain = p.email.split('@')[1] ?? '';
			if (FREE_MAIL.has(domain))
				return { points: 30, reasons: [`The address is at a free mail provider (${domain}).`] };
			return { points: 100, reasons: [`The address is at a company domain (${domain}).`] };
		}
		case 'website':
			return p.website
				? { points: 100, reasons: [`The prospect has a website (${hostOf(p.website) ?? p.website}).`] }
				: { points: 0, reasons: ['There is no website.'] };
		case 'social': {
			const f = p.followers ?? 0;
			if (f >= 10_000) return { points: 100, reasons: [`${f} followers: a large audience.`] };
			if (f >= 1_000) return { points: 60, reasons: [`${f} followers: a mid-sized audience.`] };
			if (f > 0) return { points: 30, reasons: [`${f} followers: a small audience.`] };
			if (p.x_handle || p.linkedin_url || p.instagram)
				return { points: 20, reasons: ['A social profile is known, but no follower count.'] };
			return { points: 0, reasons: ['No social profile is known.'] };
		}
	}
}

const FIRST = ['Anna', 'Ben', 'Chloé', 'David', 'Elif', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Luca', 'Mara', 'Nils', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sven', 'Tara'];
const LAST = ['Becker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hansen', 'Ivanova', 'Jensen', 'Kowalski', 'Laurent', 'Meyer', 'Novak', 'Olsen', 'Petit', 'Rossi'];
const COMPANIES = ['Acme Media', 'Brightlane', 'Cobalt Reviews', 'Dune Labs', 'Evergreen Deals', 'Foxglove', 'Granite Tech', 'Harbor Home'];
const COUNTRIES = ['Germany', 'France', 'Spain', 'Italy', 'Netherlands', 'Denmark', 'Poland', 'Sweden'];

/** Options for {@link MockBackend}. */
export interface MockOptions {
	/** Milliseconds to wait before answering each call (0: next microtask). */
	latencyMs?: number;
	/** Milliseconds between import progress events. */
	importStepMs?: number;
	/** When above 0, deliver one queued message of a running campaign this often (browser preview). */
	sendStepMs?: number;
	/** Milliseconds between a workspace deletion's progress events (one a prospect). */
	deleteStepMs?: number;
}

/** The in-memory backend. */
export class MockBackend implements Backend {
	/** Every call made, in order: tests assert on these. */
	readonly calls: { cmd: keyof Commands; args: unknown }[] = [];
	/** Fake files, path -> text; `preview_import` and `import_csv` read them. */
	readonly files = new Map<string, string>();
	/** What {@link pickCsvFile} answers; `undefined` answers the first registered file. */
	pickCsvResult: string | null | undefined = undefined;
	/** What {@link pickSaveFile} answers; `undefined` answers the default name. */
	pickSaveResult: string | null | undefined = undefined;
	info: AppInfo = { version: '0.0.0-mock', data_dir: '(in memory)', key_store: 'none (browser preview)' };
	/** The app's answers to {@link requestQuit}, in order. */
	readonly quitAnswers: ('hold' | 'quit')[] = [];
	private quitListeners = new Set<() => void>();

	private latencyMs: number;
	private importStepMs: number;
	private deleteStepMs: number;
	private failures = new Map<keyof Commands, ApiError[]>();
	private listeners = new Set<(e: ApiEvent) => void>();
	private workspaces: Workspace[] = [];
	private prospects = new Map<number, Prospect>();
	private audit: AuditEntry[] = [];
	/** What is left of deleted workspaces: their names, and their audit logs above. */
	private deletedWorkspaces: DeletedWorkspace[] = [];
	/** The people of entries about many, by entry id. */
	private auditSubjects = new Map<number, Set<number>>();
	private imports = new Map<number, RowError[]>();
	private seq = { workspace: 0, prospect: 0, audit: 0, import: 0 };
	/** Accounts, templates, campaigns and the outbox; tests seed them through it. */
	readonly sending = new MockSending({
		workspace: (id) => this.workspace(id),
		prospect: (id) => this.prospect(id),
		findProspect: (id) => this.prospects.get(id),
		matching: (q) => [...this.prospects.values()].filter((p) => this.matches(p, { ...q, deleted: false })),
		changed: (entity, ws) => this.changed(entity, ws),
		log: (ws, action, summary, about) => this.log(ws, action, summary, null, about ?? null),
		emit: (e) => this.emit(e),
		now: () => this.now()
	});

	/** Saved prospect filters. */
	readonly filters = new MockFilters({
		workspace: (id) => this.workspace(id),
		changed: (entity, ws) => this.changed(entity, ws),
		log: (ws, action, summary) => this.log(ws, action, summary),
		now: () => this.now()
	});

	/** Reply mailboxes, replies and the classifier; tests seed replies and play the poller through it. */
	readonly inbox = new MockInbox({
		workspace: (id) => this.workspace(id),
		prospect: (id) => this.prospect(id),
		findProspect: (id) => this.prospects.get(id),
		findAccount: (id) => this.sending.findAccount(id),
		campaignName: (id) => this.sending.campaignName(id),
		latestMessageTo: (id) => this.sending.latestMessageTo(id),
		stopSequencesFor: (id) => this.sending.stopSequencesFor(id),
		postponeFor: (id, after) => this.sending.postponeFor(id, after),
		bounceFor: (id, status) => this.sending.bounceFor(id, status),
		optOut: (id, why) => this.sending.optOut(id, why),
		gateRefusal: (id) => this.sending.gateRefusal(id),
		addReferred: (ws, email, name, notes) => {
			const same = [...this.prospects.values()].find((p) => p.workspace_id === ws && p.email?.toLowerCase() === email);
			if (same?.status === 'unsubscribed') return `${email} asked not to be contacted; it stays on the suppression list`;
			if (same) return same.id;
			const [first, ...rest] = (name ?? '').split(' ');
			const p = this.newProspect(ws, { first_name: first || null, last_name: rest.join(' ') || null, email, notes, source_type: 'manual', lawful_basis: 'none' });
			this.changed('prospects', ws);
			return p.id;
		},
		complianceLines: (ws) => [OPT_OUT_LINE, this.workspace(ws).postal_address.trim()],
		changed: (entity, ws) => this.changed(entity, ws),
		log: (ws, action, summary, about) => this.log(ws, action, summary, null, about ?? null),
		emit: (e) => this.emit(e),
		now: () => this.now()
	});

	constructor(opts: MockOptions = {}) {
		this.latencyMs = opts.latencyMs ?? 0;
		this.importStepMs = opts.importStepMs ?? 0;
		this.deleteStepMs = opts.deleteStepMs ?? 0;
		const step = opts.sendStepMs ?? 0;
		if (step > 0) {
			this.inbox.modelStepMs = 400;
			setInterval(() => {
				const m = this.sending.sendNext();
				// Now and then someone answers, so the preview's inbox fills up too.
				if (m?.status === 'sent' && m.id % 3 === 0) setTimeout(() => this.previewReply(m.prospect_id), step * 2);
			}, step);
		}
	}

	/** A mock with a sample CSV registered, for the browser preview. */
	static withSampleFiles(): MockBackend {
		const m = new MockBackend({ latencyMs: 40, importStepMs: 60, sendStepMs: 2500 });
		m.registerFile(
			'sample-prospects.csv',
			[
				'First Name,Last Name,Email,Company,Website,Country,Followers',
				'Lena,Schulz,lena@brightlane.example,Brightlane,brightlane.example,Germany,12k',
				'Marco,Bianchi,marco@gmail.com,,,Italy,800',
				'Sara,Nyberg,not-an-email,Foxglove,,Sweden,2.5k',
				'Tom,Berg,tom@dune.example,Dune Labs,dune.example,Denmark,lots'
			].join('\n')
		);
		return m;
	}

	// ---- test helpers -------------------------------------------------------------

	/** Make a fake file readable by the import commands. */
	registerFile(path: string, text: string): void {
		this.files.set(path, text);
	}

	/** Make the next call of `cmd` reject with `error`. */
	failNext(cmd: keyof Commands, error: ApiError): void {
		const list = this.failures.get(cmd) ?? [];
		list.push(error);
		this.failures.set(cmd, list);
	}

	/** Deliver an event to every subscriber (as a CLI import would). */
	emit(event: ApiEvent): void {
		for (const cb of [...this.listeners]) cb(clone(event));
	}

	/** Calls of one command, with their arguments. */
	callsOf<K extends keyof Commands>(cmd: K): Commands[K]['args'][] {
		return this.calls.filter((c) => c.cmd === cmd).map((c) => c.args as Commands[K]['args']);
	}

	/** Create a workspace directly (no event, no latency). */
	seedWorkspace(name: string, fields: Partial<WorkspaceFields> = {}): Workspace {
		return this.createWorkspace({ name, postal_address: '', legal_notice: '', ...fields });
	}

	/** Create many prospects directly; `make` may override any field of the i-th one. */
	seedProspects(workspaceId: number, count: number, make?: (i: number) => Partial<Prospect>): Prospect[] {
		const out: Prospect[] = [];
		for (let i = 0; i < count; i++) {
			const first = FIRST[i % FIRST.length];
			const last = LAST[(i + Math.floor(i / FIRST.length)) % LAST.length];
			const company = COMPANIES[i % COMPANIES.length];
			const p = this.newProspect(workspaceId, {
				first_name: first,
				last_name: last,
				email: ascii(`${first}.${last}${i}@${company.toLowerCase().replace(/[^a-z]/g, '')}.example`),
				company,
				country: COUNTRIES[i % COUNTRIES.length],
				followers: (i * 997) % 25_000,
				website: i % 3 === 0 ? null : `https://${company.toLowerCase().replace(/[^a-z]/g, '')}.example`,
				source_type: 'csv',
				...make?.(i)
			});
			out.push(p);
		}
		return out;
	}

	/** Read a prospect directly. */
	peekProspect(id: number): Prospect | undefined {
		const p = this.prospects.get(id);
		return p ? clone(p) : undefined;
	}

	// ---- Backend ------------------------------------------------------------------

	async call<K extends keyof Commands>(cmd: K, args: Commands[K]['args']): Promise<Commands[K]['result']> {
		this.calls.push({ cmd, args: clone(args) });
		if (this.latencyMs > 0) await sleep(this.latencyMs);
		else await Promise.resolve();
		const queued = this.failures.get(cmd);
		if (queued && queued.length > 0) throw clone(queued.shift() as ApiError);
		const handler = this.handlers[cmd] as (a: Commands[K]['args']) => Promise<Commands[K]['result']> | Commands[K]['result'];
		if (!handler) fail('internal', `unknown command ${String(cmd)}`);
		return clone(await handler(clone(args)));
	}

	onEvent(cb: (e: ApiEvent) => void): () => void {
		this.listeners.add(cb);
		return () => {
			this.listeners.delete(cb);
		};
	}

	async pickCsvFile(): Promise<string | null> {
		if (this.pickCsvResult !== undefined) return this.pickCsvResult;
		return this.files.keys().next().value ?? null;
	}

	async pickSaveFile(defaultName: string): Promise<string | null> {
		return this.pickSaveResult !== undefined ? this.pickSaveResult : defaultName;
	}

	onQuitRequest(cb: () => void): () => void {
		this.quitListeners.add(cb);
		return () => {
			this.quitListeners.delete(cb);
		};
	}

	async answerQuit(hold: boolean): Promise<void> {
		this.quitAnswers.push(hold ? 'hold' : 'quit');
	}

	/** As the tray's "Quit" does. */
	requestQuit(): void {
		for (const cb of this.quitListeners) cb();
	}

	// ---- internals ----------------------------------------------------------------

	private now(): string {
		return new Date().toISOString();
	}

	private changed(entity: ChangedEntity, workspace_id: number | null): void {
		const ev: ApiEvent = { kind: 'changed', entity, workspace_id, source: 'app' };
		queueMicrotask(() => this.emit(ev));
	}

	/** Appends an entry; `about` is the one prospect it concerns, or the many (kept apart, as the store does). */
	private log(workspace_id: number | null, action: string, summary: string, details: JsonValueLike | null = null, about: About = null): void {
		const id = ++this.seq.audit;
		this.audit.push({
			id,
			workspace_id,
			at: this.now(),
			actor: 'app',
			action,
			summary,
			details,
			prospect_id: typeof about === 'number' ? about : null
		});
		if (Array.isArray(about)) this.auditSubjects.set(id, new Set(about));
		this.changed('audit', workspace_id);
	}

	/** Whether the entry is about the prospect, alone or among others. */
	private isAbout(entry: AuditEntry, prospectId: number): boolean {
		return entry.prospect_id === prospectId || (this.auditSubjects.get(entry.id)?.has(prospectId) ?? false);
	}

	private workspace(id: number): Workspace {
		const ws = this.workspaces.find((w) => w.id === id);
		if (!ws) fail('not_found', `There is no workspace ${id}.`);
		return ws;
	}

	private prospect(id: number): Prospect {
		const p = this.prospects.get(id);
		if (!p) fail('not_found', `There is no prospect ${id}.`);
		return p;
	}

	/** What erasing these prospects would remove; refuses, naming them, ids not of the workspace. */
	private erasureCounts(workspaceId: number, ids: number[]): ErasureCounts {
		this.workspace(workspaceId);
		const unique = [...new Set(ids)];
		if (unique.length === 0) fail('invalid_input', 'choose at least one prospect to erase');
		const missing = unique.filter((id) => this.prospects.get(id)?.workspace_id !== workspaceId).slice(0, 5);
		if (missing.length > 0) fail('not_found', `prospect ${missing.map((id) => `#${id}`).join(', ')} in this workspace not found`);
		const people = unique.map((id) => this.prospect(id));
		return {
			prospects: unique.length,
			replies: unique.reduce((n, id) => n + this.inbox.repliesFrom(id).length, 0),
			...this.sending.erasureCounts(unique),
			saved_filters: this.filters.naming(workspaceId, people, (p, search) => this.finds(p, search)).length
		};
	}

	private async workspaceContents(workspaceId: number): Promise<WorkspaceContents> {
		this.workspace(workspaceId);
		const ids = [...this.prospects.values()].filter((p) => p.workspace_id === workspaceId).map((p) => p.id);
		const args = { workspace_id: workspaceId };
		// What is in the trash goes with the workspace too, as the store counts it.
		const trash = await this.sending.handlers.trash(args);
		return {
			prospects: ids.length,
			campaigns: (await this.sending.handlers.list_campaigns(args)).length + trash.campaigns.length,
			templates: (await this.sending.handlers.list_templates(args)).length + trash.templates.length,
			accounts: (await this.sending.handlers.list_accounts(args)).length,
			messages: this.sending.erasureCounts(ids).messages,
			replies: ids.reduce((n, id) => n + this.inbox.repliesFrom(id).length, 0)
		};
	}

	/** Erases prospects with everything tied to them, as the store does; `why` completes the audit summary. */
	private erase(workspaceId: number, ids: number[], action: string, why: (what: string) => string): ErasureCounts {
		const counts = this.erasureCounts(workspaceId, ids);
		const people = [...new Set(ids)].map((id) => this.prospect(id));
		this.filters.drop(this.filters.naming(workspaceId, people, (p, search) => this.finds(p, search)));
		this.forget(workspaceId, [...new Set(ids)]);
		let what = `${counts.messages} message(s) (${counts.queued} queued), ${counts.replies} repl(ies), ${counts.enrolments} enrolment(s)`;
		if (counts.saved_filters > 0) what += `, ${counts.saved_filters} saved filter(s) whose search found them by name`;
		this.log(workspaceId, action, `Erased ${counts.prospects} prospect(s) ${why(what)}`, null, ids);
		for (const entity of ['prospects', 'campaigns', 'replies', 'filters'] as const) this.changed(entity, workspaceId);
		return counts;
	}

	/** Removes prospects (each once) and everything tied to them. */
	private forget(workspaceId: number, ids: number[]): void {
		const emails = ids.map((id) => this.prospects.get(id)?.email).filter((e): e is string => !!e);
		this.sending.erase(ids);
		this.inbox.erase(workspaceId, ids, emails);
		for (const id of ids) this.prospects.delete(id);
	}

	private noErasure(): ErasureCounts {
		return { prospects: 0, enrolments: 0, messages: 0, queued: 0, replies: 0, consent_events: 0, saved_filters: 0 };
	}

	/** When a prospect's retention period ends, from their replies in the inbox. */
	private retentionEnds(p: Prospect, months: number): string {
		const last = this.inbox
			.repliesFrom(p.id)
			.map((r) => r.received_at)
			.sort()
			.at(-1);
		return retentionEnds({ created_at: p.created_at, last_inbound_at: last ?? null }, months);
	}

	private dueForErasure(workspaceId: number, months = this.workspace(workspaceId).retention_months): number[] {
		const now = this.now();
		return [...this.prospects.values()].filter((p) => p.workspace_id === workspaceId && this.retentionEnds(p, months) <= now).map((p) => p.id);
	}

	/** As it is, or would be with `preview` months. */
	private retentionStatus(workspaceId: number, preview: number | null = null): RetentionStatus {
		const months = preview ?? this.workspace(workspaceId).retention_months;
		const now = this.now();
		const due = this.dueForErasure(workspaceId, months);
		const later = [...this.prospects.values()]
			.filter((p) => p.workspace_id === workspaceId)
			.map((p) => this.retentionEnds(p, months))
			.filter((at) => at > now)
			.sort();
		return { months, due: due.length > 0 ? this.erasureCounts(workspaceId, due) : this.noErasure(), next_due_at: later[0] ?? null };
	}

	private validateWorkspace(fields: WorkspaceFields, selfId: number | null): WorkspaceFields {
		const name = fields.name.trim();
		if (name === '') fail('invalid_input', 'A workspace needs a name.');
		if (name.length > 100) fail('invalid_input', 'A workspace name has at most 100 characters.');
		const dup = this.workspaces.find((w) => w.id !== selfId && w.name.toLowerCase() === name.toLowerCase());
		if (dup) fail('conflict', `A workspace named “${name}” already exists.`);
		return { name, postal_address: fields.postal_address.trim(), legal_notice: fields.legal_notice.trim() };
	}

	private createWorkspace(fields: WorkspaceFields): Workspace {
		const f = this.validateWorkspace(fields, null);
		const ws: Workspace = { id: ++this.seq.workspace, ...f, scoring: clone(DEFAULT_SCORING), retention_months: 36, created_at: this.now() };
		this.workspaces.push(ws);
		return ws;
	}

	private newProspect(workspace_id: number, fields: Partial<Prospect>): Prospect {
		const now = this.now();
		const p: Prospect = {
			id: ++this.seq.prospect,
			workspace_id,
			first_name: null,
			last_name: null,
			email: null,
			email_original: null,
			domain: null,
			website: null,
			x_handle: null,
			linkedin_url: null,
			instagram: null,
			company: null,
			title: null,
			country: null,
			time_zone: null,
			followers: null,
			notes: null,
			source_type: 'manual',
			source_file: null,
			collected_at: now,
			status: 'new',
			score: null,
			score_breakdown: null,
			lawful_basis: 'legitimate_interest',
			consent_given: false,
			objection_at: null,
			last_inbound_at: null,
			created_at: now,
			updated_at: now,
			deleted_at: null,
			custom_fields: {},
			...fields
		};
		if (p.email) {
			p.email_original ??= p.email;
			p.email = p.email.trim().toLowerCase();
		}
		p.domain = p.email ? (p.email.split('@')[1] ?? null) : p.website ? hostOf(p.website) : null;
		this.prospects.set(p.id, p);
		return p;
	}

	private matches(p: Prospect, q: ProspectQuery): boolean {
		if (p.workspace_id !== q.workspace_id) return false;
		if ((p.deleted_at !== null) !== q.deleted) return false;
		if (q.ids !== undefined && !q.ids.includes(p.id)) return false;
		if (q.statuses.length > 0 && !q.statuses.includes(p.status)) return false;
		if (q.source_type !== null && p.source_type !== q.source_type) return false;
		if (q.country !== null && (p.country ?? '').toLowerCase() !== q.country.toLowerCase()) return false;
		if (q.min_score !== null && (p.score === null || p.score < q.min_score)) return false;
		if (q.max_score !== null && (p.score === null || p.score > q.max_score)) return false;
		return q.search === null || this.finds(p, q.search);
	}

	/** Whether a search finds the prospect, as the backend's full-text search does. */
	private finds(p: Prospect, search: string): boolean {
		// The fields the backend indexes; custom fields by value only.
		const fields = [p.first_name, p.last_name, p.email, p.company, p.website, p.notes, p.title, p.x_handle, p.linkedin_url, ...Object.values(p.custom_fields)]
			.filter((v): v is string => !!v)
			.map((v) => v.toLowerCase());
		const words = fields.flatMap((f) => f.split(/[^\p{L}\p{N}]+/u)).filter(Boolean);
		// Words split where the backend's tokenizer splits: at anything not a letter or digit.
		for (const token of search.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)) {
			if (!words.some((w) => w.startsWith(token)) && !fields.some((f) => f.startsWith(token))) return false;
		}
		return true;
	}

	/** The prospects the query's filters match, in its order (offset and limit aside). */
	private matching(q: ProspectQuery): Prospect[] {
		const rows = [...this.prospects.values()].filter((p) => this.matches(p, q));
		const dir = q.descending ? -1 : 1;
		return rows.sort((a, b) => {
			const ka = this.sortKey(a, q);
			const kb = this.sortKey(b, q);
			if (ka === null && kb !== null) return 1;
			if (kb === null && ka !== null) return -1;
			if (ka !== null && kb !== null && ka !== kb) {
				const c = typeof ka === 'number' && typeof kb === 'number' ? ka - kb : String(ka).localeCompare(String(kb));
				if (c !== 0) return c * dir;
			}
			return (a.id - b.id) * dir;
		});
	}

	private sortKey(p: Prospect, q: ProspectQuery): string | number | null {
		switch (q.sort) {
			case 'name':
				return displayName(p).toLowerCase() || null;
			case 'company':
				return p.company?.toLowerCase() ?? null;
			case 'score':
				return p.score;
			case 'country':
				return p.country?.toLowerCase() ?? null;
			case 'status':
				return p.status;
			case 'created_at':
				return p.created_at;
		}
	}

	private audited(ws: number, action: string, summary: string, details: JsonValueLike | null = null, about: About = null) {
		this.log(ws, action, summary, details, about);
	}

	private async runImport(args: Commands['import_csv']['args']): Promise<Commands['import_csv']['result']> {
		const ws = this.workspace(args.workspace_id);
		const text = this.readFile(args.path);
		const parsed = parseCsv(text);
		if (parsed.records.length === 0) fail('csv_invalid', 'The file is empty: there is no header row.');
		const header = parsed.records[0].cells;
		const columns = args.columns ?? this.detectColumns(header);
		const problem = mappingProblem(columns);
		if (problem) fail('invalid_input', problem);
		const progress = async (phase: 'reading' | 'writing', done: number, total: number) => {
			this.emit({ kind: 'import_progress', workspace_id: ws.id, phase, done, total });
			if (this.importStepMs > 0) await sleep(this.importStepMs);
		};
		const bytes = new TextEncoder().encode(text).length;
		await progress('reading', 0, bytes);
		await progress('reading', Math.round(bytes / 2), bytes);
		await progress('reading', bytes, bytes);

		const rows = parsed.records.slice(1);
		let rewritten = 0;
		const report = {
			import_id: ++this.seq.import,
			total_rows: rows.length,
			created: 0,
			merged: 0,
			matched_deleted: 0,
			invalid: 0,
			row_errors: [] as RowError[],
			notes: [] as string[]
		};
		const step = Math.max(1, Math.ceil(rows.length / 4));
		const fileName = args.path.split(/[\\/]/).pop() ?? args.path;
		const sourceType = this.detectSource(header);
		const people: number[] = [];
		for (let r = 0; r < rows.length; r++) {
			if (r % step === 0) await progress('writing', r, rows.length);
			const { line, cells } = rows[r];
			const errors: FieldError[] = [];
			if (cells.length !== header.length) {
				errors.push({ column: '', value: cells.join(parsed.delimiter), message: `The row has ${cells.length} cells; the header has ${header.length}.` });
			}
			const values: Partial<Prospect> = {};
			let fullName: string | null = null;
			for (const c of columns) {
				if (!c.field) continue;
				const raw = (cells[c.index] ?? '').trim();
				if (raw === '') continue;
				switch (c.field) {
					case 'email':
						if (!EMAIL_RE.test(raw)) errors.push({ column: c.header, value: raw, message: 'This is not an e-mail address.' });
						else values.email = raw;
						break;
					case 'followers': {
						const n = parseFollowers(raw);
						if (n === null) errors.push({ column: c.header, value: raw, message: 'This is not a follower count (write 1200 or 1.2k).' });
						else values.followers = n;
						break;
					}
					case 'full_name':
						fullName = raw;
						break;
					case 'connected_on':
						values.collected_at = raw;
						break;
					case 'x_handle':
						values.x_handle = raw.replace(/^@/, '');
						break;
					case 'custom':
						values.custom_fields = { ...values.custom_fields, [customKey(c.header)]: raw };
						break;
					default:
						values[c.field] = raw;
				}
			}
			if (fullName && !values.first_name && !values.last_name) {
				const parts = fullName.split(/\s+/);
				values.first_name = parts[0];
				values.last_name = parts.slice(1).join(' ') || null;
			}
			if (errors.length === 0 && !IDENTITY_FIELDS.some((f) => f !== 'full_name' && values[f as keyof Prospect])) {
				errors.push({ column: '', value: '', message: 'The row has no name, e-mail address, website or profile.' });
			}
			if (errors.length > 0) {
				report.invalid++;
				report.row_errors.push({ row: line, errors });
				continue;
			}
			const email = values.email?.toLowerCase() ?? null;
			const existing = [...this.prospects.values()].find(
				(p) =>
					p.workspace_id === ws.id &&
					((email !== null && p.email === email) ||
						(values.linkedin_url !== undefined && p.linkedin_url === values.linkedin_url))
			);
			if (existing) {
				let filled = false;
				for (const [k, v] of Object.entries(values) as [keyof Prospect, unknown][]) {
					if (k === 'email' && existing.email && existing.email !== email) {
						report.notes.push(`Line ${line}: ${String(v)} was not copied; the prospect already has ${existing.email}.`);
						continue;
					}
					if ((existing[k] === null || existing[k] === undefined) && v !== null && v !== undefined) {
						(existing as Record<string, unknown>)[k] = v;
						filled = true;
					}
				}
				if (filled) {
					existing.updated_at = this.now();
					rewritten += this.sending.withdrawTo([existing.id]);
				}
				if (existing.deleted_at) report.matched_deleted++;
				else report.merged++;
				people.push(existing.id);
			} else {
				people.push(this.newProspect(ws.id, { ...values, source_type: sourceType, source_file: fileName }).id);
				report.created++;
			}
		}
		await progress('writing', rows.length, rows.length);
		// As the core does: what waited for the prospects it filled in is written again.
		if (rewritten > 0) this.sending.resumeRunning();
		if (rewritten > 0) report.notes.push(`${rewritten} message(s) waiting to go to prospects this file filled in will be written again with what it added`);
		this.imports.set(report.import_id, report.row_errors);
		this.audited(
			ws.id,
			'prospects.import',
			`Imported ${fileName}: ${report.created} new, ${report.merged} merged, ${report.invalid} invalid.`,
			{ import_id: report.import_id, file: fileName },
			people
		);
		this.changed('prospects', ws.id);
		return report;
	}

	private readFile(path: string): string {
		const text = this.files.get(path);
		if (text === undefined) fail('io', `Cannot read ${path}: no such file.`);
		return text;
	}

	private detectColumns(header: string[]): ColumnMapping[] {
		return header.map((h, index) => ({ index, header: h, field: detectField(h) }));
	}

	private detectSource(header: string[]): SourceType {
		const h = header.map(normHeader);
		if (h.includes('connected on') && h.includes('url')) return 'linkedin_export';
		if (h.includes('profile url') && h.includes('account name')) return 'sales_navigator';
		return 'csv';
	}

	private handlers: Handlers = {
		app_info: () => this.info,
		list_workspaces: () => [...this.workspaces].sort((a, b) => a.name.localeCompare(b.name)),
		deleted_workspaces: () => [...this.deletedWorkspaces],
		create_workspace: (args) => {
			const ws = this.createWorkspace(args);
			this.log(ws.id, 'workspace.create', `Created workspace “${ws.name}”.`);
			this.changed('workspaces', ws.id);
			return ws;
		},
		update_workspace: (args) => {
			const ws = this.workspace(args.id);
			const before = [ws.name, ws.postal_address, ws.legal_notice].join('\n');
			Object.assign(ws, this.validateWorkspace(args.fields, ws.id));
			// As the core does: each is a variable of every template.
			const rewritten = before === [ws.name, ws.postal_address, ws.legal_notice].join('\n') ? 0 : this.sending.rewriteWorkspace(ws.id);
			this.log(ws.id, 'workspace.update', `Updated workspace “${ws.name}”.`);
			this.changed('workspaces', ws.id);
			if (rewritten > 0) this.changed('campaigns', ws.id);
			return { ...ws, rewritten };
		},
		set_scoring_config: (args) => {
			const ws = this.workspace(args.workspace_id);
			const { weights, threshold } = args.config;
			if (weights.some((w) => !Number.isFinite(w.weight) || w.weight < 0))
				fail('invalid_input', 'Weights cannot be negative.');
			if (weights.every((w) => w.weight === 0)) fail('invalid_input', 'At least one factor needs a weight above 0.');
			if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100)
				fail('invalid_input', 'The threshold must be between 0 and 100.');
			ws.scoring = clone(args.config);
			this.log(ws.id, 'workspace.scoring', `Changed scoring of “${ws.name}” (threshold ${threshold}).`);
			this.changed('workspaces', ws.id);
			return ws;
		},
		preview_import: (args) => {
			const text = this.readFile(args.path);
			const parsed = parseCsv(text);
			if (parsed.records.length === 0) fail('csv_invalid', 'The file is empty: there is no header row.');
			const header = parsed.records[0].cells;
			const columns = this.detectColumns(header);
			return {
				file_name: args.path.split(/[\\/]/).pop() ?? args.path,
				size: new TextEncoder().encode(text).length,
				csv: {
					source_type: this.detectSource(header),
					columns,
					sample: parsed.records.slice(1, 6).map((r) => r.cells),
					delimiter: parsed.delimiter,
					mapping_problem: mappingProblem(columns)
				}
			};
		},
		import_csv: (args) => this.runImport(args),
		export_import_errors: (args) => {
			const errors = this.imports.get(args.import_id);
			if (!errors) fail('not_found', `There is no import ${args.import_id}.`);
			const lines = ['line,column,value,problem'];
			for (const r of errors)
				for (const e of r.errors) lines.push([String(r.row), e.column, e.value, e.message].map(csvCell).join(','));
			this.files.set(args.path, lines.join('\n') + '\n');
			return lines.length - 1;
		},
		list_prospects: (q) => {
			this.workspace(q.workspace_id);
			if (q.limit < 0 || q.limit > 1000) fail('invalid_input', 'A page holds at most 1000 rows.');
			if (q.offset < 0) fail('invalid_input', 'The offset cannot be negative.');
			const rows = this.matching(q);
			return { total: rows.length, rows: rows.slice(q.offset, q.offset + q.limit) };
		},
		matching_prospect_ids: (q) => {
			this.workspace(q.workspace_id);
			return { workspace_id: q.workspace_id, ids: this.matching(q).map((p) => p.id) };
		},
		get_prospect: (args) => this.prospect(args.id),
		update_prospect: (args) => {
			const p = this.prospect(args.id);
			const patch = args.patch;
			const next: Prospect = { ...p };
			const changed: string[] = [];
			const text = (v: string) => (v.trim() === '' ? null : v.trim());
			for (const key of ['first_name', 'last_name', 'website', 'linkedin_url', 'company', 'title', 'country', 'time_zone', 'notes'] as const) {
				const v = patch[key];
				if (v !== null) {
					next[key] = text(v);
					changed.push(key);
				}
			}
			if (patch.x_handle !== null) {
				next.x_handle = text(patch.x_handle)?.replace(/^@/, '') ?? null;
				changed.push('x_handle');
			}
			if (patch.email !== null) {
				const e = text(patch.email);
				if (e !== null && !EMAIL_RE.test(e)) fail('invalid_input', `“${e}” is not an e-mail address.`);
				const lower = e?.toLowerCase() ?? null;
				if (lower !== null) {
					const other = [...this.prospects.values()].find(
						(o) => o.id !== p.id && o.workspace_id === p.workspace_id && o.email === lower
					);
					if (other) fail('conflict', `Another prospect (${displayName(other) || other.id}) already has ${lower}.`);
				}
				next.email = lower;
				next.email_original = e;
				next.domain = lower ? (lower.split('@')[1] ?? null) : next.website ? hostOf(next.website) : null;
				changed.push('email');
			}
			if (patch.followers !== null) {
				if (patch.followers.trim() === '') next.followers = null;
				else {
					const n = parseFollowers(patch.followers);
					if (n === null) fail('invalid_input', `“${patch.followers}” is not a follower count (write 1200 or 1.2k).`);
					next.followers = n;
				}
				changed.push('followers');
			}
			if (patch.status !== null && patch.status !== p.status) {
				const why = refuseByHand(p.status, patch.status, p.objection_at !== null);
				if (why !== null) fail('invalid_input', `prospect #${p.id}: ${why}`);
				next.status = patch.status;
				changed.push('status');
			}
			if (changed.length === 0) return { ...p, rewritten: 0 };
			next.updated_at = this.now();
			this.prospects.set(p.id, next);
			// As the core does: what waited for them, written from the old details, is written again.
			const rewritten = this.sending.withdrawTo([p.id]);
			if (rewritten > 0) this.sending.resumeRunning();
			this.log(p.workspace_id, 'prospect.update', `Updated prospect #${p.id}: ${changed.join(', ')}.`, null, p.id);
			this.changed('prospects', p.workspace_id);
			if (rewritten > 0) this.changed('campaigns', p.workspace_id);
			return { ...next, rewritten };
		},
		set_prospects_status: (args) => {
			const refused = refusedAsHandTarget(args.status);
			if (refused !== null) fail('invalid_input', refused);
			this.workspace(args.workspace_id);
			const before: StatusBefore[] = [];
			const optedOut: number[] = [];
			for (const id of [...new Set(args.ids)].sort((a, b) => a - b)) {
				const p = this.prospects.get(id);
				if (p && p.workspace_id === args.workspace_id && p.deleted_at === null && p.status !== args.status) {
					if (refuseByHand(p.status, args.status, p.objection_at !== null) !== null) {
						optedOut.push(id);
						continue;
					}
					before.push({ id, status: p.status });
					p.status = args.status;
				}
			}
			if (before.length > 0) {
				const ids = before.map((b) => b.id);
				this.log(args.workspace_id, 'prospects.status', `Set ${ids.length} prospect(s) to ${args.status}`, null, ids);
				this.changed('prospects', args.workspace_id);
			}
			return { changed: before, opted_out: optedOut };
		},
		delete_prospects: (args) => {
			this.workspace(args.workspace_id);
			let n = 0;
			const now = this.now();
			for (const id of args.ids) {
				const p = this.prospects.get(id);
				if (p && p.workspace_id === args.workspace_id && p.deleted_at === null) {
					p.deleted_at = now;
					n++;
				}
			}
			if (n > 0) {
				this.sending.withdrawTo(args.ids);
				if (this.inbox.withdrawAnswersTo(args.ids) > 0) this.changed('replies', args.workspace_id);
				this.log(args.workspace_id, 'prospects.delete', `Moved ${n} prospect${n === 1 ? '' : 's'} to the trash.`, null, args.ids);
				this.changed('prospects', args.workspace_id);
			}
			return n;
		},
		restore_prospects: (args) => {
			this.workspace(args.workspace_id);
			let n = 0;
			for (const id of args.ids) {
				const p = this.prospects.get(id);
				if (p && p.workspace_id === args.workspace_id && p.deleted_at !== null) {
					p.deleted_at = null;
					n++;
				}
			}
			if (n > 0) {
				this.sending.resumeRunning();
				this.log(args.workspace_id, 'prospects.restore', `Restored ${n} prospect${n === 1 ? '' : 's'} from the trash.`, null, args.ids);
				this.changed('prospects', args.workspace_id);
			}
			return n;
		},
		preview_erasure: (args) => this.erasureCounts(args.workspace_id, args.ids),
		erase_prospects: (args) =>
			this.erase(
				args.workspace_id,
				args.ids,
				'prospect.erase',
				(what) => `at their request: ${what}; their addresses stay on the suppression list as keyed hashes`
			),
		workspace_contents: (args) => this.workspaceContents(args.workspace_id),
		delete_workspace: async (args) => {
			const ws = this.workspace(args.workspace_id);
			if (args.confirm_name.trim().toLowerCase() !== ws.name.toLowerCase()) fail('invalid_input', `type the workspace's name, “${ws.name}”, to delete it`);
			const held = await this.workspaceContents(ws.id);
			const ids = [...this.prospects.values()].filter((p) => p.workspace_id === ws.id).map((p) => p.id);
			if (this.deleteStepMs > 0) {
				for (let done = 1; done <= ids.length; done++) {
					await sleep(this.deleteStepMs);
					this.emit({ kind: 'deletion_progress', workspace_id: ws.id, done, total: ids.length });
				}
			}
			this.forget(ws.id, ids);
			this.filters.dropWorkspace(ws.id);
			this.workspaces = this.workspaces.filter((w) => w.id !== ws.id);
			const now = this.now();
			this.deletedWorkspaces.unshift({ id: ws.id, name: ws.name, deleted_at: now, erased_at: now });
			this.log(ws.id, 'workspace.delete', `Deleted the workspace: erasing ${held.prospects} prospect(s)`);
			this.log(ws.id, 'workspace.purged', `Erased everything the workspace held`);
			this.changed('workspaces', ws.id);
			return { held, finished: true };
		},
		retention_status: (args) => this.retentionStatus(args.workspace_id, args.months === null ? null : validMonths(args.months)),
		set_retention: (args) => {
			this.workspace(args.workspace_id).retention_months = validMonths(args.months);
			this.log(args.workspace_id, 'workspace.retention', `Prospects without a reply are now kept for ${args.months} month(s)`);
			this.changed('workspaces', args.workspace_id);
			return this.retentionStatus(args.workspace_id);
		},
		purge_expired: (args) => {
			const due = this.dueForErasure(args.workspace_id);
			if (due.length === 0) return this.noErasure();
			return this.erase(
				args.workspace_id,
				due,
				'prospect.purge',
				(what) => `whose retention period ended (no reply within the workspace's limit): ${what}`
			);
		},
		export_personal_data: async (args) => {
			const p = this.prospect(args.id);
			if (args.path.trim() === '') fail('invalid_input', 'choose a file to write the personal data to');
			const record = {
				format: 'outreach-desk personal data',
				version: 1,
				exported_at: this.now(),
				workspace: this.workspace(p.workspace_id).name,
				// The mock keeps no suppression list; an opt-out is what puts someone on it.
				suppressed: p.objection_at !== null,
				prospect: p,
				consent_history: await this.sending.handlers.consent_history({ id: p.id }),
				campaigns: await this.sending.handlers.prospect_campaigns({ id: p.id }),
				messages: this.sending.messagesTo(p.id),
				replies: this.inbox.repliesFrom(p.id),
				drafted_answers: this.inbox.draftsFor(p.id),
				activity: this.audit.filter((a) => this.isAbout(a, p.id))
			};
			const text = JSON.stringify(record, null, 2);
			this.files.set(args.path, text);
			this.log(p.workspace_id, 'prospect.export', `Exported the personal data of prospect #${p.id}`, null, p.id);
			return new TextEncoder().encode(text).length;
		},
		prospect_facets: (args) => {
			this.workspace(args.workspace_id);
			const all = [...this.prospects.values()].filter((p) => p.workspace_id === args.workspace_id);
			const live = all.filter((p) => p.deleted_at === null);
			const countries = new Map<string, number>();
			const statuses = new Map<Prospect['status'], number>();
			const sources = new Set<SourceType>();
			for (const p of live) {
				if (p.country) countries.set(p.country, (countries.get(p.country) ?? 0) + 1);
				statuses.set(p.status, (statuses.get(p.status) ?? 0) + 1);
				sources.add(p.source_type);
			}
			return {
				total: live.length,
				deleted: all.length - live.length,
				countries: [...countries.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c),
				source_types: [...sources].sort(),
				statuses: [...statuses.entries()].map(([status, count]) => ({ status, count }))
			};
		},
		score_prospects: (args) => {
			const ws = this.workspace(args.workspace_id);
			const summary = { scored: 0, qualified: 0, newly_qualified: 0, no_longer_qualified: 0, threshold: ws.scoring.threshold, rewritten: 0 };
			const changedScore: number[] = [];
			for (const p of this.prospects.values()) {
				if (p.workspace_id !== ws.id || p.deleted_at !== null) continue;
				const was = p.score_breakdown?.qualified ?? false;
				const b = scoreProspect(p, ws.scoring);
				if (p.score !== b.total) changedScore.push(p.id);
				p.score = b.total;
				p.score_breakdown = b;
				summary.scored++;
				if (b.qualified) summary.qualified++;
				if (b.qualified && !was) {
					summary.newly_qualified++;
					if (p.status === 'new') p.status = 'qualified';
				}
				if (!b.qualified && was) {
					summary.no_longer_qualified++;
					if (p.status === 'qualified') p.status = 'new';
				}
			}
			// As the core does: a template can use the score, so what waited for those whose
			// score changed is written again.
			summary.rewritten = this.sending.withdrawTo(changedScore);
			if (summary.rewritten > 0) this.sending.resumeRunning();
			this.log(ws.id, 'prospects.score', `Scored ${summary.scored} prospects: ${summary.qualified} qualified.`);
			this.changed('prospects', ws.id);
			if (summary.rewritten > 0) this.changed('campaigns', ws.id);
			return summary;
		},
		list_audit: (args) => {
			if (!this.deletedWorkspaces.some((w) => w.id === args.workspace_id)) this.workspace(args.workspace_id);
			if (args.limit < 1 || args.limit > 500) fail('invalid_input', 'Ask for 1 to 500 entries.');
			const prefixes = args.topic ? AUDIT_TOPIC_PREFIXES[args.topic] : null;
			return this.audit
				.filter(
					(a) =>
						a.workspace_id === args.workspace_id &&
						(args.before_id === null || a.id < args.before_id) &&
						(args.prospect_id === null || this.isAbout(a, args.prospect_id)) &&
						(prefixes === null || prefixes.some((x) => a.action.startsWith(x))) &&
						(args.actor === null || a.actor === args.actor)
				)
				.sort((a, b) => b.id - a.id)
				.slice(0, args.limit);
		},
		load_demo: () => {
			let name = 'Demo agency';
			for (let n = 2; this.workspaces.some((w) => w.name === name); n++) name = `Demo agency ${n}`;
			const ws = this.createWorkspace({
				name,
				postal_address: 'Demo Agency GmbH\nMusterstraße 1\n10115 Berlin',
				legal_notice: 'Demo Agency GmbH, managing director: A. Example. Data controller for this list.'
			});
			const people = this.seedProspects(ws.id, 60, (i) => {
				const over: Partial<Prospect> = {
					source_type: 'demo',
					status: (['new', 'contacted', 'replied', 'interested', 'new', 'not_interested'] as const)[i % 6],
					x_handle: i % 4 === 0 ? `${ascii(FIRST[i % FIRST.length])}_${i}` : null
				};
				if (i % 7 === 0) over.email = `${ascii(FIRST[i % FIRST.length])}${i}@gmail.com`;
				return over;
			});
			for (const p of people) {
				p.score_breakdown = scoreProspect(p, ws.scoring);
				p.score = p.score_breakdown.total;
			}
			const demo = this.seedDemoSending(ws);
			this.seedDemoReplies(demo, people);
			// As the core's demo: two saved filters.
			this.filters.handlers.save_filter({ workspace_id: ws.id, name: 'Qualified, score 80 or more', filter: { ...NO_FILTER, statuses: ['qualified'], min_score: 80 } });
			this.filters.handlers.save_filter({ workspace_id: ws.id, name: 'Still to qualify', filter: { ...NO_FILTER, statuses: ['new'] } });
			this.log(ws.id, 'demo.load', `Loaded the demo workspace “${ws.name}” with ${people.length} prospects.`);
			this.changed('workspaces', ws.id);
			return ws;
		},
		...this.sending.handlers,
		...this.inbox.handlers,
		...this.filters.handlers,
		// Like the core: one outbox holds campaign messages and answers to replies alike.
		resolve_unconfirmed: async (args) =>
			(await this.sending.handlers.resolve_unconfirmed(args)) + this.inbox.resolveAnswers(args.workspace_id, args.message_ids, args.choice)
	};

	/** Give the demo workspace an account, templates and a draft campaign to try sending with. */
	private seedDemoSending(ws: Workspace): { account_id: number; campaign_id: number } {
		const account = this.sending.seedAccount(ws.id, 'Demo sender', 40);
		const intro = this.sending.seedTemplate(
			ws.id,
			'Introduction',
			'Partnering with {{ company }}?',
			'Hi {{ first_name }},\n\nwe run an affiliate programme that fits {{ company }}.\n\n{{ sender_name }}\n\n{{ privacy_notice }}\n{{ opt_out }}'
		);
		const follow = this.sending.seedTemplate(
			ws.id,
			'Follow-up',
			'Re: Partnering with {{ company }}?',
			'Hi {{ first_name }}, just bringing this back to the top of your inbox.\n\n{{ sender_name }}\n{{ opt_out }}'
		);
		const campaign = this.sending.seedCampaign(ws.id, {
			name: 'Spring partners',
			account_id: account.id,
			steps: [
				{ delay_business_days: 0, condition: 'always', template_ids: [intro.id] },
				{ delay_business_days: 3, condition: 'no_reply', template_ids: [follow.id] }
			]
		});
		this.inbox.seedMailbox(account.id, { host: 'imap.example.com', username: 'alex' });
		this.inbox.pollMailbox(account.id);
		return { account_id: account.id, campaign_id: campaign.id };
	}

	/** A few replies in the demo workspace: a question (read), an absence and an interested one (unread). */
	private seedDemoReplies(demo: { account_id: number; campaign_id: number }, people: Prospect[]): void {
		const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
		const from = { account_id: demo.account_id, campaign_id: demo.campaign_id, subject: 'Re: Partnering with your company?' };
		const [question, away, keen] = [people[7], people[13], people[1]];
		this.inbox.seedReply({
			...from,
			prospect_id: question.id,
			text: `Hi Alex,\n\nhow does the tracking work for sales that happen in our app rather than on the website?\n\nThanks,\n${question.first_name}`,
			received_at: ago(26),
			read: true
		});
		const back = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
		this.inbox.seedReply({
			...from,
			prospect_id: away.id,
			kind: 'auto_reply',
			subject: 'Automatic reply: Partnering with your company?',
			text: `I am out of the office until ${back} with limited access to e-mail. For urgent matters please call the front desk.`,
			return_date: back,
			received_at: ago(5)
		});
		this.inbox.seedReply({
			...from,
			prospect_id: keen.id,
			text: `Hi Alex,\n\nthanks for reaching out, this sounds interesting. Could you send over the commission details and a sample contract?\n\nBest,\n${keen.first_name}`,
			html:
				'<div style="font-family:sans-serif"><p>Hi Alex,</p><p>thanks for reaching out, this <b>sounds interesting</b>. ' +
				'Could you send over the commission details and a sample contract?</p><p>Best,<br>' +
				`${keen.first_name ?? ''}</p></div>`,
			received_at: ago(1)
		});
	}

	/** The browser preview's stand-in for a person answering a message. */
	private previewReply(prospectId: number): void {
		const texts = [
			'Sounds interesting! Can you tell me more about the commission?',
			'Thanks, but we are not interested at the moment.',
			'What is the cookie duration for the programme?',
			'Please contact my colleague Sam (sam@partner.example), who is in charge of affiliates.'
		];
		try {
			this.inbox.receiveReply({ prospect_id: prospectId, text: texts[this.seq.audit % texts.length] });
		} catch {
			// the prospect may be gone by now; the preview just skips it
		}
	}
}
