/**
 * The sending half of the mock backend: settings, compliance records, accounts, templates,
 * campaigns and their outbox. It keeps the core's contract (shapes, error codes, status
 * transitions, `changed` events) without sending anything; {@link MockSending.sendNext}
 * plays the engine's part when a test or the browser preview wants progress.
 */
import type {
	ApiError,
	ApiEvent,
	BlockedReason,
	Campaign,
	CampaignFields,
	ChangedEntity,
	Commands,
	ConsentEvent,
	EnrolmentGroup,
	EnrolmentState,
	EnrolmentSummary,
	EngineStatus,
	ErasureCounts,
	ErrorCode,
	LegitimateInterestAssessment,
	MessageStatus,
	MessageSummary,
	Problem,
	Prospect,
	ProspectQuery,
	RefusedGroup,
	SenderAccount,
	SendWindow,
	SendingSettings,
	StepCheck,
	Template,
	TemplateDraft,
	Weekday,
	Workspace
} from '$lib/generated/commands';
import { queryOf } from '$lib/filters';
import { prospectName } from '$lib/patch';
import { renderAndCheck, syntaxProblems, varsFor, views, problemMessage } from './mock-template';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The commands this module answers. */
export type SendingCommand =
	| 'get_sending_settings'
	| 'set_sending_settings'
	| 'get_assessment'
	| 'record_assessment'
	| 'assign_legitimate_interest'
	| 'record_consent'
	| 'consent_history'
	| 'opt_out_prospect'
	| 'list_accounts'
	| 'save_account'
	| 'test_account'
	| 'delete_account'
	| 'list_templates'
	| 'save_template'
	| 'copy_template'
	| 'preview_template'
	| 'delete_template'
	| 'restore_template'
	| 'keep_template_draft'
	| 'template_draft'
	| 'discard_template_draft'
	| 'list_campaigns'
	| 'get_campaign'
	| 'save_campaign'
	| 'copy_campaign'
	| 'preview_enrolment'
	| 'enrol_prospects'
	| 'check_campaign'
	| 'start_campaign'
	| 'pause_campaign'
	| 'stop_campaign'
	| 'delete_campaign'
	| 'restore_campaign'
	| 'trash'
	| 'campaign_progress'
	| 'list_messages'
	| 'list_enrolments'
	| 'prospect_campaigns'
	| 'resolve_unconfirmed'
	| 'retry_blocked'
	| 'engine_status';

type SendingHandlers = { [K in SendingCommand]: (args: Commands[K]['args']) => Promise<Commands[K]['result']> | Commands[K]['result'] };

function draftKey(workspaceId: number, templateId: number | null): string {
	return `${workspaceId}:${templateId ?? 'new'}`;
}

/** As the core's `RefusalCode::FINAL`: refusals that checking again cannot change. */
const FINAL_REFUSALS = ['suppressed', 'deleted'];

/** What the sending mock needs from the rest of the mock. */
export interface SendingHost {
	workspace(id: number): Workspace;
	prospect(id: number): Prospect;
	/** A prospect, deleted or not, or undefined when there is none with that id. */
	findProspect(id: number): Prospect | undefined;
	/** Live prospects matching a filter, paging ignored. */
	matching(q: ProspectQuery): Prospect[];
	changed(entity: ChangedEntity, workspaceId: number | null): void;
	/** `about`: the prospect the entry concerns, or the many. */
	log(workspaceId: number, action: string, summary: string, about?: number | readonly number[]): void;
	emit(e: ApiEvent): void;
	now(): string;
}

/**
 * Whether `window` is open at some moment between `now` and midnight in `zone`. The mock's
 * stand-in for the engine's count of what can go out today, which also uses each prospect's
 * own zone.
 */
export function windowOpensToday(window: SendWindow, zone: string, now: Date): boolean {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone: zone,
		weekday: 'short',
		hour: 'numeric',
		minute: 'numeric',
		hourCycle: 'h23'
	}).formatToParts(now);
	const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
	const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
	const minute = Number(part('hour')) * 60 + Number(part('minute'));
	return window.days.includes(day) && minute < window.end_minute;
}

function fail(code: ErrorCode, message: string): never {
	const err: ApiError = { code, message };
	throw err;
}

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** What the core accepts as a DKIM private key: PEM (PKCS#1 or PKCS#8, RSA or Ed25519). */
const PEM_KEY_RE = /^-----BEGIN (RSA |)PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1PRIVATE KEY-----\s*$/;

/** A trimmed optional text; empty is none. */
function optText(v: string | null): string | null {
	const t = v?.trim() ?? '';
	return t === '' ? null : t;
}

interface InTrash<T> {
	item: T;
	deleted_at: string;
}

/** Names for a sentence, as the store writes them: 'A', 'A' and 'B', 'A', 'B' and 'C'. */
export function quotedList(names: string[]): string {
	const q = names.map((n) => `'${n}'`);
	return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

/** Refuses a change, through a request naming another workspace, as the API does. */
function sameWorkspace(owner: number, requested: number, what: string): void {
	if (owner !== requested) fail('invalid_input', `${what} belongs to another workspace`);
}

/** `base`, or `base (2)`, `base (3)`, ...: the first name not `taken`, as the store numbers copies. */
function freeName(base: string, taken: (name: string) => boolean): string {
	let name = base;
	for (let n = 2; taken(name); n++) name = `${base} (${n})`;
	return name;
}

/** Moves the item with `id` from `from` into the trash list `to`; returns it. */
function toTrash<T extends { id: number }>(from: T[], to: InTrash<T>[], id: number, now: string): T {
	const i = from.findIndex((x) => x.id === id);
	const [item] = from.splice(i, 1);
	to.unshift({ item, deleted_at: now });
	return item;
}

interface Enrolment {
	id: number;
	campaign_id: number;
	prospect_id: number;
	/** Steps already queued. */
	queued_steps: number;
	/** How the sequence ended before its last step, as the core records it. */
	ended: 'replied' | 'stopped' | null;
	/** Why, for an early end. */
	reason: string | null;
	updated_at: string;
}

/** The progress view's group of an enrolment state, as the store groups them. */
function groupOf(state: EnrolmentState): EnrolmentGroup {
	switch (state) {
		case 'active':
		case 'waiting':
			return 'active';
		case 'completed':
		case 'replied':
			return state;
		default:
			return 'stopped';
	}
}

/** The in-memory sending state. */
export class MockSending {
	private settings = new Map<number, SendingSettings>();
	private assessments = new Map<number, LegitimateInterestAssessment>();
	private consent: (ConsentEvent & { prospect_id: number })[] = [];
	private accounts: SenderAccount[] = [];
	/** Secrets by account id: written, never read back out. */
	private secrets = new Map<number, string>();
	/** DKIM private keys by account id: written, never read back out. */
	private dkimKeys = new Map<number, string>();
	private templates: Template[] = [];
	/** Unsaved template edits kept as typed, by workspace and template ('new' for a new one). */
	private templateDrafts = new Map<string, TemplateDraft>();
	private campaigns: Campaign[] = [];
	/** What is in the trash, out of the lists above (as the store hides it), with when it went. */
	private trashed = { templates: [] as InTrash<Template>[], campaigns: [] as InTrash<Campaign>[] };
	private enrolments: Enrolment[] = [];
	private messages: MessageSummary[] = [];
	private blocked = new Map<number, BlockedReason[]>();
	private sentSinceStart = 0;
	private seq = { account: 0, template: 0, campaign: 0, message: 0, consent: 0, enrolment: 0 };
	/** Pause per enrolled prospect in the pre-send check, so that tests see its progress. */
	checkStepMs = 0;

	constructor(private host: SendingHost) {}

	// ---- seeding (tests and the browser preview) ----------------------------------

	/** Create a template directly. */
	seedTemplate(workspaceId: number, name: string, subject: string, body: string): Template {
		const t: Template = { id: ++this.seq.template, workspace_id: workspaceId, name, subject, body, updated_at: this.host.now() };
		this.templates.push(t);
		return t;
	}

	/** Create an SMTP account directly, with a stored password. */
	seedAccount(workspaceId: number, name: string, dailyCap: number | null = null): SenderAccount {
		const a: SenderAccount = {
			id: ++this.seq.account,
			workspace_id: workspaceId,
			fields: {
				name,
				transport: 'smtp',
				host: 'smtp.example.com',
				port: 465,
				security: 'implicit_tls',
				username: 'alex',
				api_base_url: null,
				from_name: 'Alex Example',
				from_address: 'alex@example.com',
				reply_to: null,
				per_minute_cap: null,
				hourly_cap: null,
				daily_cap: dailyCap,
				ramp_start: null,
				ramp_increase: null,
				dkim_selector: null,
				dkim_domain: null
			},
			has_secret: true,
			has_dkim_key: false,
			created_at: this.host.now()
		};
		this.accounts.push(a);
		this.secrets.set(a.id, 'seeded');
		return a;
	}

	/** Create a draft campaign directly. */
	seedCampaign(workspaceId: number, fields: Partial<CampaignFields> & { name: string }): Campaign {
		const c: Campaign = {
			id: ++this.seq.campaign,
			workspace_id: workspaceId,
			status: 'draft',
			fields: { ...defaultCampaignFields(), ...fields },
			started_at: null,
			created_at: this.host.now()
		};
		this.campaigns.push(c);
		return c;
	}

	/** Enrol prospects directly. */
	seedEnrolments(campaignId: number, prospectIds: number[]): void {
		for (const prospect_id of prospectIds) this.enrolments.push({
				id: ++this.seq.enrolment,
				campaign_id: campaignId,
				prospect_id,
				queued_steps: 0,
				ended: null,
				reason: null,
				updated_at: this.host.now()
			});
	}

	/** Put messages of a status into a campaign's outbox directly. */
	seedMessages(campaignId: number, status: MessageStatus, prospectIds: number[]): MessageSummary[] {
		return prospectIds.map((pid) => this.addMessage(this.campaign(campaignId), pid, 1, status));
	}

	/**
	 * Play the engine: deliver the next due message of a running campaign. Every seventh
	 * delivery ends unconfirmed and every eleventh bounces, so the preview shows them too.
	 */
	sendNext(): MessageSummary | null {
		const m = this.messages
			.filter(
				(x) =>
					x.status === 'queued' &&
					this.host.prospect(x.prospect_id).deleted_at === null &&
					this.campaigns.some((c) => c.id === x.campaign_id && c.status === 'running')
			)
			.sort((a, b) => a.due_at.localeCompare(b.due_at))[0];
		if (!m) return null;
		const c = this.campaign(m.campaign_id ?? 0);
		const p = this.host.prospect(m.prospect_id);
		m.attempts++;
		if (p.status === 'unsubscribed') {
			m.status = 'cancelled';
			this.block(c.id, 'opted_out', 'The prospect opted out.');
		} else {
			const n = ++this.sentSinceStart;
			m.status = n % 11 === 0 ? 'bounced' : n % 7 === 0 ? 'unconfirmed' : 'sent';
			if (m.status === 'sent') m.sent_at = this.host.now();
			if (m.status === 'bounced') m.last_error = '550 5.1.1 The mailbox does not exist.';
		}
		if (!this.messages.some((x) => x.campaign_id === c.id && x.status === 'queued')) {
			const doneAll = this.enrolments.filter((e) => e.campaign_id === c.id).every((e) => e.queued_steps >= c.fields.steps.length);
			if (doneAll) c.status = 'completed';
		}
		this.host.changed('campaigns', c.workspace_id);
		this.host.emit({ kind: 'engine', status: this.engineStatus() });
		return { ...m };
	}

	// ---- for the inbox mock (what the reply poller does to the outbox) ------------

	/** An account, or undefined when there is none with that id. */
	findAccount(id: number): SenderAccount | undefined {
		return this.accounts.find((a) => a.id === id);
	}

	/** A campaign's name, or null when there is none with that id. */
	campaignName(id: number): string | null {
		return this.anyCampaign(id)?.fields.name ?? null;
	}

	/** A campaign, in the trash or not. */
	private anyCampaign(id: number): Campaign | undefined {
		return this.campaigns.find((c) => c.id === id) ?? this.trashed.campaigns.find((x) => x.item.id === id)?.item;
	}

	/** The campaign and account of the latest message to a prospect, if any. */
	latestMessageTo(prospectId: number): { campaign_id: number | null; account_id: number | null } | null {
		const m = [...this.messages].reverse().find((x) => x.prospect_id === prospectId);
		if (!m) return null;
		const c = this.campaigns.find((x) => x.id === m.campaign_id);
		return { campaign_id: m.campaign_id, account_id: c?.fields.account_id ?? null };
	}

	/**
	 * A reply stops a prospect's sequences: their queued messages are cancelled. Returns
	 * whether they were in a sequence and how many messages were cancelled.
	 */
	stopSequencesFor(prospectId: number): { enrolled: boolean; cancelled: number } {
		const enrolled = this.enrolments.some((e) => e.prospect_id === prospectId);
		this.endSequences(prospectId, 'replied', null);
		const cancelled = this.cancelQueued(prospectId, 'the recipient replied');
		return { enrolled, cancelled };
	}

	/** An absence moves a prospect's queued messages after `afterIso`; returns how many moved. */
	postponeFor(prospectId: number, afterIso: string): number {
		let n = 0;
		for (const m of this.messages)
			if (m.prospect_id === prospectId && m.status === 'queued') {
				if (m.due_at < afterIso) m.due_at = afterIso;
				n++;
			}
		return n;
	}

	/** A hard bounce: queued messages to the prospect are cancelled, the sent one bounced. */
	bounceFor(prospectId: number, status: string | null): number {
		this.endSequences(prospectId, 'stopped', 'the address bounced');
		const cancelled = this.cancelQueued(prospectId, 'the address bounced');
		const sent = [...this.messages].reverse().find((m) => m.prospect_id === prospectId && m.status === 'sent');
		if (sent) {
			sent.status = 'bounced';
			sent.last_error = status;
		}
		return cancelled;
	}

	/** Why the compliance gate would refuse any message to the prospect, or null (answers use it). */
	gateRefusal(prospectId: number): string | null {
		const p = this.host.prospect(prospectId);
		if (p.deleted_at !== null) return 'the prospect is in the trash; restore them to contact them';
		return this.refusal(p, this.settingsOf(p.workspace_id))?.reason ?? null;
	}

	/** Messages to a prospect, oldest first (their personal-data export). */
	messagesTo(prospectId: number): MessageSummary[] {
		return this.messages.filter((m) => m.prospect_id === prospectId).map((m) => ({ ...m }));
	}

	/** What an erasure of these prospects would remove here. */
	erasureCounts(prospectIds: number[]): Omit<ErasureCounts, 'prospects' | 'replies' | 'saved_filters'> {
		const mine = <T extends { prospect_id: number }>(rows: T[]) => rows.filter((r) => prospectIds.includes(r.prospect_id));
		const messages = mine(this.messages);
		return {
			enrolments: mine(this.enrolments).length,
			messages: messages.length,
			queued: messages.filter((m) => m.status === 'queued').length,
			consent_events: mine(this.consent).length
		};
	}

	/** Erasure, as the core does it: the prospects' enrolments, messages and consent history go. */
	erase(prospectIds: number[]): void {
		const keep = <T extends { prospect_id: number }>(rows: T[]) => rows.filter((r) => !prospectIds.includes(r.prospect_id));
		this.enrolments = keep(this.enrolments);
		this.messages = keep(this.messages);
		this.consent = keep(this.consent);
	}

	/** Opts a prospect out as the core does; returns how many queued messages were cancelled. */
	optOut(prospectId: number, evidence: string): number {
		const p = this.host.prospect(prospectId);
		p.status = 'unsubscribed';
		p.objection_at ??= this.host.now();
		p.updated_at = this.host.now();
		this.endSequences(p.id, 'stopped', 'opted out');
		const n = this.cancelQueued(p.id, 'the recipient opted out');
		this.addConsentEvent(p.id, 'opt_out', null, evidence);
		this.host.log(p.workspace_id, 'consent.opt_out', `Opted out prospect #${p.id}; ${n} queued message(s) cancelled.`, p.id);
		return n;
	}

	/** Ends the prospect's sequences that are still going. */
	private endSequences(prospectId: number, how: 'replied' | 'stopped', reason: string | null, campaignId: number | null = null): void {
		for (const e of this.enrolments)
			if (e.prospect_id === prospectId && (campaignId === null || e.campaign_id === campaignId) && e.ended === null && !this.completed(e))
				Object.assign(e, { ended: how, reason, updated_at: this.host.now() });
	}

	/** An enrolment as the store lists it. */
	private enrolmentSummary(e: Enrolment): EnrolmentSummary {
		const p = this.host.prospect(e.prospect_id);
		const waiting = this.messages.some((m) => m.campaign_id === e.campaign_id && m.prospect_id === e.prospect_id && m.status === 'queued');
		const state: EnrolmentState = e.ended ?? (this.completed(e) ? 'completed' : waiting ? 'waiting' : 'active');
		return {
			id: e.id,
			prospect_id: p.id,
			name: prospectName(p),
			email: p.email,
			state,
			next_position: e.queued_steps + (waiting ? 0 : 1),
			next_run_at: null,
			variant: 'A',
			reason: e.reason,
			updated_at: e.updated_at
		};
	}

	/** Whether every step of the enrolment's campaign went out or was sent for. */
	private completed(e: Enrolment): boolean {
		const c = this.anyCampaign(e.campaign_id) ?? this.campaign(e.campaign_id);
		return (
			e.queued_steps >= c.fields.steps.length &&
			!this.messages.some((m) => m.campaign_id === c.id && m.prospect_id === e.prospect_id && m.status === 'queued')
		);
	}

	private cancelQueued(prospectId: number, why: string): number {
		let n = 0;
		for (const m of this.messages)
			if (m.prospect_id === prospectId && m.status === 'queued') {
				m.status = 'cancelled';
				m.last_error = why;
				n++;
			}
		return n;
	}

	// ---- internals ----------------------------------------------------------------

	private campaign(id: number): Campaign {
		const c = this.campaigns.find((x) => x.id === id);
		if (!c) fail('not_found', `There is no campaign ${id}.`);
		return c;
	}

	private account(id: number): SenderAccount {
		const a = this.accounts.find((x) => x.id === id);
		if (!a) fail('not_found', `There is no account ${id}.`);
		return a;
	}

	private template(id: number): Template {
		const t = this.templates.find((x) => x.id === id);
		if (!t) fail('not_found', `There is no template ${id}.`);
		return t;
	}

	private settingsOf(workspaceId: number): SendingSettings {
		return this.settings.get(workspaceId) ?? { time_zone: 'Europe/Berlin', consent_only_countries: [], unsubscribe_url: null };
	}

	/** Play the gate refusing `n` of a campaign's people for one reason (tests). */
	blockFor(campaignId: number, code: string, reason: string, n: number): void {
		for (let i = 0; i < n; i++) this.block(campaignId, code, reason);
		this.host.changed('campaigns', this.campaign(campaignId).workspace_id);
	}

	private block(campaignId: number, code: string, reason: string): void {
		const list = this.blocked.get(campaignId) ?? [];
		const r = list.find((x) => x.code === code);
		if (r) r.count++;
		else list.push({ code, reason, count: 1 });
		list.sort((a, b) => b.count - a.count);
		this.blocked.set(campaignId, list);
	}

	private addConsentEvent(prospectId: number, kind: string, lawfulBasis: string | null, evidence: string | null): void {
		this.consent.push({ id: ++this.seq.consent, prospect_id: prospectId, kind, lawful_basis: lawfulBasis, evidence, source: 'app', at: this.host.now() });
	}

	private addMessage(c: Campaign, prospectId: number, step: number, status: MessageStatus): MessageSummary {
		const p = this.host.prospect(prospectId);
		const stepDef = c.fields.steps[step - 1];
		const tpl = stepDef ? this.templates.find((t) => t.id === stepDef.template_ids[0]) : undefined;
		const acc = c.fields.account_id === null ? null : (this.accounts.find((a) => a.id === c.fields.account_id) ?? null);
		const ws = this.host.workspace(c.workspace_id);
		const vars = varsFor(p, this.senderOf(ws, acc));
		const rendered = tpl ? renderAndCheck(tpl.subject, tpl.body, vars, { firstStep: step === 1, prospectId: p.id }).rendered : null;
		const due = new Date(Date.now() + this.messages.length * 60_000).toISOString();
		const m: MessageSummary = {
			id: ++this.seq.message,
			campaign_id: c.id,
			prospect_id: p.id,
			step_position: step,
			variant: 'A',
			to_address: p.email ?? '',
			subject: rendered?.subject ?? tpl?.subject ?? '',
			status,
			attempts: status === 'queued' ? 0 : 1,
			due_at: due,
			sent_at: status === 'sent' ? this.host.now() : null,
			last_error: null
		};
		this.messages.push(m);
		return m;
	}

	private senderOf(ws: Workspace, acc: SenderAccount | null) {
		return {
			sender_name: acc?.fields.from_name ?? '',
			sender_email: acc?.fields.from_address ?? '',
			postal_address: ws.postal_address,
			legal_notice: ws.legal_notice
		};
	}

	/** Why a prospect may not be enrolled, or null when it may. */
	private refusal(p: Prospect, settings: SendingSettings): { code: string; reason: string } | null {
		if (!p.email) return { code: 'no_email', reason: 'No e-mail address.' };
		if (p.status === 'unsubscribed' || p.objection_at !== null) return { code: 'opted_out', reason: 'Opted out.' };
		if (p.status === 'bounced') return { code: 'bounced', reason: 'An earlier message bounced.' };
		if (p.lawful_basis === 'none') return { code: 'no_lawful_basis', reason: 'No lawful basis is recorded.' };
		const country = (p.country ?? '').toUpperCase();
		if (!p.consent_given && settings.consent_only_countries.some((c) => c.toUpperCase() === country))
			return { code: 'needs_consent', reason: 'Their country needs consent first.' };
		return null;
	}

	private enrolPlan(args: Commands['preview_enrolment']['args']) {
		const c = this.campaign(args.campaign_id);
		if (args.query.workspace_id !== c.workspace_id) fail('invalid_input', 'The filter belongs to another workspace.');
		const settings = this.settingsOf(c.workspace_id);
		const take: Prospect[] = [];
		const refused = new Refusals();
		let already = 0;
		for (const p of this.host.matching(args.query)) {
			if (this.enrolments.some((e) => e.campaign_id === c.id && e.prospect_id === p.id)) {
				already++;
				continue;
			}
			const r = this.refusal(p, settings);
			if (!r) take.push(p);
			else refused.add(r, p);
		}
		return { campaign: c, take, already, refused: refused.groups() };
	}

	/** With {@link checkStepMs}, reports the check's progress a prospect at a time, as the backend reports its chunks. */
	private async checkPace(c: Campaign): Promise<void> {
		if (this.checkStepMs <= 0) return;
		const total = this.enrolments.filter((e) => e.campaign_id === c.id).length;
		for (let done = 0; done < total; done++) {
			this.host.emit({ kind: 'check_progress', campaign_id: c.id, done, total });
			await sleep(this.checkStepMs);
		}
	}

	private check(c: Campaign): Commands['check_campaign']['result'] {
		const ws = this.host.workspace(c.workspace_id);
		const acc = c.fields.account_id === null ? null : (this.accounts.find((a) => a.id === c.fields.account_id) ?? null);
		const enrolled = this.enrolments.filter((e) => e.campaign_id === c.id).map((e) => this.host.prospect(e.prospect_id));
		const general: string[] = [];
		if (!acc) general.push('Choose a sender account.');
		else if (!acc.has_secret) general.push(`The account “${acc.fields.name}” has no password or API key.`);
		if (c.fields.steps.length === 0) general.push('The sequence has no step.');
		if (enrolled.length === 0) general.push('Nobody is enrolled.');
		if (ws.postal_address.trim() === '') general.push('The workspace has no postal address (Settings).');
		const steps: StepCheck[] = [];
		c.fields.steps.forEach((step, i) => {
			step.template_ids.forEach((tid, v) => {
				const tpl = this.templates.find((t) => t.id === tid);
				const variant = String.fromCharCode(65 + v);
				if (!tpl) {
					general.push(`Step ${i + 1} (${variant}) uses a template that no longer exists.`);
					return;
				}
				const merged = new Map<string, Problem>();
				const people = enrolled.length > 0 ? enrolled : [null];
				for (const p of people) {
					const vars = varsFor(p, this.senderOf(ws, acc));
					for (const pr of renderAndCheck(tpl.subject, tpl.body, vars, { firstStep: i === 0, prospectId: p?.id ?? null }).problems) {
						const key = JSON.stringify({ ...pr, prospects: 0, examples: [] });
						const seen = merged.get(key);
						if (seen && 'prospects' in seen && 'prospects' in pr) {
							seen.prospects += pr.prospects;
							if (seen.examples.length < 5) seen.examples.push(...pr.examples.slice(0, 5 - seen.examples.length));
						} else if (!seen) merged.set(key, pr);
					}
				}
				steps.push({ step: i + 1, variant, template: tpl.name, problems: views([...merged.values()]) });
			});
		});
		const settings = this.settingsOf(c.workspace_id);
		const refused = new Refusals();
		let waiting = 0;
		for (const p of enrolled) {
			const r = this.refusal(p, settings);
			if (r) refused.add(r, p);
			else waiting++;
		}
		this.host.emit({ kind: 'check_progress', campaign_id: c.id, done: enrolled.length, total: enrolled.length });
		const caps = [c.fields.daily_cap, acc?.fields.daily_cap].filter((x): x is number => x !== null && x !== undefined);
		// Only the first step is modelled: due today without a delay, if its window opens before
		// midnight in the workspace's zone.
		const first = c.fields.steps[0];
		const opens =
			first !== undefined &&
			first.delay_business_days === 0 &&
			windowOpensToday(c.fields.window, this.settingsOf(c.workspace_id).time_zone, new Date());
		const today_estimate = opens ? Math.min(waiting, ...caps) : 0;
		return {
			ready: general.length === 0 && steps.every((s) => s.problems.length === 0),
			steps,
			general,
			today_estimate: c.status === 'running' || c.status === 'draft' || c.status === 'paused' ? today_estimate : 0,
			refused: refused.groups()
		};
	}

	private validateCampaign(workspaceId: number, f: CampaignFields, selfId: number | null): CampaignFields {
		const name = f.name.trim();
		if (name === '') fail('invalid_input', 'A campaign needs a name.');
		if (this.campaigns.some((c) => c.id !== selfId && c.workspace_id === workspaceId && c.fields.name.toLowerCase() === name.toLowerCase()))
			fail('conflict', `A campaign named “${name}” already exists.`);
		if (f.account_id !== null && this.account(f.account_id).workspace_id !== workspaceId)
			fail('invalid_input', 'The account belongs to another workspace.');
		if (f.window.days.length === 0) fail('invalid_input', 'Pick at least one sending day.');
		if (f.window.start_minute < 0 || f.window.end_minute > 1440 || f.window.start_minute >= f.window.end_minute)
			fail('invalid_input', 'The sending window must open before it closes.');
		if (!Number.isInteger(f.min_gap_seconds) || f.min_gap_seconds < 0 || f.max_gap_seconds < f.min_gap_seconds)
			fail('invalid_input', 'The gap between sends needs a minimum of 0 or more and a maximum at least as large.');
		if (f.daily_cap !== null && (!Number.isInteger(f.daily_cap) || f.daily_cap < 1))
			fail('invalid_input', 'The daily cap must be a whole number of at least 1.');
		f.steps.forEach((s, i) => {
			if (s.template_ids.length === 0) fail('invalid_input', `Step ${i + 1} needs a template.`);
			for (const t of s.template_ids) this.template(t);
			if (!Number.isInteger(s.delay_business_days) || s.delay_business_days < 0)
				fail('invalid_input', `Step ${i + 1}: the delay must be 0 or more business days.`);
			// As the core's MAX_STEP_DELAY_BUSINESS_DAYS.
			if (s.delay_business_days > 260)
				fail('invalid_input', `Step ${i + 1} waits ${s.delay_business_days} business days; at most 260 (about a year).`);
		});
		return { ...f, name };
	}

	private transition(c: Campaign, to: Campaign['status'], from: Campaign['status'][], verb: string): Campaign {
		if (!from.includes(c.status)) fail('conflict', `A ${c.status} campaign cannot be ${verb}.`);
		c.status = to;
		this.host.log(c.workspace_id, `campaign.${to}`, `Campaign “${c.fields.name}” is now ${to}.`);
		this.host.changed('campaigns', c.workspace_id);
		this.host.emit({ kind: 'engine', status: this.engineStatus() });
		return c;
	}

	private engineStatus(): EngineStatus {
		const running = this.campaigns.some((c) => c.status === 'running');
		return {
			state: running ? 'running' : 'stopped',
			queued: this.messages.filter((m) => m.status === 'queued' && this.campaigns.some((c) => c.id === m.campaign_id && c.status === 'running')).length,
			sent: this.messages.filter((m) => m.status === 'sent').length,
			purged: 0,
			purge_done_at: null,
			last_error: null
		};
	}

	readonly handlers: SendingHandlers = {
		get_sending_settings: (args) => {
			this.host.workspace(args.workspace_id);
			return this.settingsOf(args.workspace_id);
		},
		set_sending_settings: (args) => {
			this.host.workspace(args.workspace_id);
			const s = args.settings;
			const zone = s.time_zone.trim();
			try {
				new Intl.DateTimeFormat('en', { timeZone: zone });
			} catch {
				fail('invalid_input', `“${zone}” is not a time zone (write e.g. Europe/Berlin).`);
			}
			const countries = s.consent_only_countries.map((c) => c.trim().toUpperCase()).filter(Boolean);
			const bad = countries.find((c) => !/^[A-Z]{2}$/.test(c));
			if (bad) fail('invalid_input', `“${bad}” is not a two-letter country code.`);
			const url = s.unsubscribe_url?.trim() || null;
			if (url !== null && !url.startsWith('https://')) fail('invalid_input', 'The unsubscribe address must start with https://.');
			const next = { time_zone: zone, consent_only_countries: countries, unsubscribe_url: url };
			const before = JSON.stringify(this.settingsOf(args.workspace_id));
			this.settings.set(args.workspace_id, next);
			// As the core does: what was checked and written with the old settings is again.
			const rewritten = before === JSON.stringify(next) ? 0 : this.rewriteWorkspace(args.workspace_id);
			this.host.log(args.workspace_id, 'workspace.sending', 'Changed the sending settings.');
			this.host.changed('workspaces', args.workspace_id);
			if (rewritten > 0) this.host.changed('campaigns', args.workspace_id);
			return { ...next, rewritten };
		},
		get_assessment: (args) => {
			this.host.workspace(args.workspace_id);
			return this.assessments.get(args.workspace_id) ?? null;
		},
		record_assessment: (args) => {
			this.host.workspace(args.workspace_id);
			const a = args.assessment;
			for (const [k, label] of [['purpose', 'purpose'], ['necessity', 'necessity'], ['balancing', 'balancing test'], ['author', 'author']] as const)
				if (a[k].trim() === '') fail('invalid_input', `The assessment needs a ${label}.`);
			if (!/^\d{4}-\d{2}-\d{2}$/.test(a.assessed_on)) fail('invalid_input', 'Write the date as YYYY-MM-DD.');
			this.assessments.set(args.workspace_id, { ...a });
			this.host.log(args.workspace_id, 'compliance.assessment', `Recorded a legitimate-interest assessment by ${a.author}.`);
			this.host.changed('workspaces', args.workspace_id);
			return a;
		},
		assign_legitimate_interest: (args) => {
			// Like the core: refused without an assessment; ids of other workspaces, deleted
			// prospects and unknown ids are skipped, not errors.
			if (!this.assessments.has(args.workspace_id))
				fail('invalid_input', "Record the workspace's legitimate-interest assessment first.");
			const changed: number[] = [];
			for (const id of args.ids) {
				const p = this.host.findProspect(id);
				if (!p || p.workspace_id !== args.workspace_id || p.deleted_at !== null || p.lawful_basis === 'legitimate_interest') continue;
				p.lawful_basis = 'legitimate_interest';
				p.updated_at = this.host.now();
				this.addConsentEvent(p.id, 'lawful_basis', 'legitimate_interest', null);
				changed.push(p.id);
			}
			const n = changed.length;
			this.host.log(args.workspace_id, 'consent.lawful_basis', `Assigned legitimate interest to ${n} prospect(s).`, changed);
			this.host.changed('prospects', args.workspace_id);
			return n;
		},
		record_consent: (args) => {
			const evidence = args.evidence.trim();
			if (evidence === '') fail('invalid_input', 'Consent needs its evidence (what was agreed, when and how).');
			const p = this.host.findProspect(args.prospect_id);
			if (!p || p.deleted_at !== null) fail('not_found', `There is no prospect ${args.prospect_id}.`);
			p.consent_given = true;
			p.lawful_basis = 'consent';
			p.updated_at = this.host.now();
			this.addConsentEvent(p.id, 'consent', 'consent', evidence);
			this.host.log(p.workspace_id, 'consent.record', `Recorded consent of prospect #${p.id}.`, p.id);
			this.host.changed('prospects', p.workspace_id);
			return p;
		},
		// Oldest first; an unknown prospect simply has no history.
		consent_history: (args) => this.consent.filter((c) => c.prospect_id === args.id).map(({ prospect_id: _p, ...rest }) => rest),
		opt_out_prospect: (args) => {
			const p = this.host.prospect(args.id);
			const n = this.optOut(p.id, 'opted out by a person');
			this.host.changed('prospects', p.workspace_id);
			if (n > 0) this.host.changed('campaigns', p.workspace_id);
			return n;
		},
		list_accounts: (args) => {
			this.host.workspace(args.workspace_id);
			// By name, as the store lists them.
			return this.accounts
				.filter((a) => a.workspace_id === args.workspace_id)
				.sort((a, b) => a.fields.name.localeCompare(b.fields.name, undefined, { sensitivity: 'base' }));
		},
		save_account: (args) => {
			if (args.id !== null) sameWorkspace(this.account(args.id).workspace_id, args.workspace_id, 'the sender account');
			const f = {
				...args.fields,
				name: args.fields.name.trim(),
				from_address: args.fields.from_address.trim(),
				dkim_selector: optText(args.fields.dkim_selector),
				dkim_domain: optText(args.fields.dkim_domain)
			};
			if (f.name === '') fail('invalid_input', 'An account needs a name.');
			if (!EMAIL_RE.test(f.from_address)) fail('invalid_input', `“${f.from_address}” is not an e-mail address.`);
			if (f.reply_to && !EMAIL_RE.test(f.reply_to)) fail('invalid_input', `“${f.reply_to}” is not an e-mail address.`);
			if (f.transport === 'smtp') {
				if (!f.host?.trim()) fail('invalid_input', 'An SMTP account needs a host.');
				if (f.port === null || !Number.isInteger(f.port) || f.port < 1 || f.port > 65535) fail('invalid_input', 'The port must be 1 to 65535.');
				if (f.security === null) fail('invalid_input', 'Choose how the connection is secured.');
				if (f.security === 'plain_loopback' && !['localhost', '127.0.0.1', '::1'].includes(f.host.trim()))
					fail('invalid_input', 'Plain connections are only allowed to a relay on this computer (localhost).');
				// Like the API: checked with the password the account will have, given now or kept from before.
				const secret = (args.secret ?? '') !== '' || (args.id !== null && this.account(args.id).has_secret);
				const user = (f.username ?? '') !== '';
				if (user && !secret) fail('invalid_input', 'settings: a username needs a password');
				if (!user && secret) fail('invalid_input', 'settings: a password needs a username');
			}
			if (f.api_base_url && !f.api_base_url.startsWith('https://')) fail('invalid_input', 'The API address must start with https://.');
			for (const cap of [f.per_minute_cap, f.hourly_cap, f.daily_cap])
				if (cap !== null && (!Number.isInteger(cap) || cap < 1)) fail('invalid_input', 'Caps must be whole numbers of at least 1.');
			for (const n of [f.ramp_start, f.ramp_increase])
				if (n !== null && (!Number.isInteger(n) || n < 1)) fail('invalid_input', 'The ramp-up must be whole numbers of at least 1.');
			// Like the core: the governor ramps from a first-day amount, so an increase alone does nothing.
			if (f.ramp_increase !== null && f.ramp_start === null)
				fail('invalid_input', "The ramp-up's daily increase needs a first-day amount to start from.");
			// Like the core: removing the key takes the selector and signing domain with it.
			if (args.remove_dkim_key) {
				if ((args.dkim_private_key ?? '') !== '') fail('invalid_input', 'give a new DKIM key or remove the stored one, not both');
				Object.assign(f, { dkim_selector: null, dkim_domain: null });
			}
			// Like the core: a key (even an empty one) is checked before anything is saved.
			if (args.dkim_private_key !== null && !args.remove_dkim_key) {
				if (f.dkim_selector === null) fail('invalid_input', 'A DKIM key needs its selector.');
				if (!PEM_KEY_RE.test(args.dkim_private_key.trim())) fail('invalid_input', 'DKIM key: not a PEM private key (-----BEGIN PRIVATE KEY-----).');
			}
			if (f.dkim_selector !== null && f.dkim_domain === null) f.dkim_domain = f.from_address.split('@')[1] ?? null;
			const wsId = args.id === null ? args.workspace_id : this.account(args.id).workspace_id;
			this.host.workspace(wsId);
			if (this.accounts.some((a) => a.id !== args.id && a.workspace_id === wsId && a.fields.name.toLowerCase() === f.name.toLowerCase()))
				fail('conflict', `An account named “${f.name}” already exists.`);
			let a: SenderAccount;
			let rewritten = 0;
			if (args.id === null) {
				a = { id: ++this.seq.account, workspace_id: wsId, fields: f, has_secret: false, has_dkim_key: false, created_at: this.host.now() };
				this.accounts.push(a);
			} else {
				a = this.account(args.id);
				const newSender = a.fields.from_name !== f.from_name || a.fields.from_address !== f.from_address;
				a.fields = f;
				// As the core does: what its campaigns wrote from the old sender is written again.
				const id = a.id;
				if (newSender) rewritten = this.rewrite((c) => c.fields.account_id === id);
			}
			if (args.secret !== null && args.secret !== '') this.secrets.set(a.id, args.secret);
			if (args.remove_dkim_key) this.dkimKeys.delete(a.id);
			else if (args.dkim_private_key !== null && args.dkim_private_key !== '') this.dkimKeys.set(a.id, args.dkim_private_key);
			a.has_secret = this.secrets.has(a.id);
			a.has_dkim_key = this.dkimKeys.has(a.id);
			this.host.log(wsId, 'account.save', `Saved sender account “${f.name}”.`);
			this.host.changed('campaigns', wsId);
			return { ...a, rewritten };
		},
		test_account: (args) => {
			const a = this.account(args.account_id);
			const host = a.fields.host ?? '';
			if (a.fields.transport === 'smtp' && host.endsWith('.invalid'))
				return { ok: false, stage: 'dns', message: `The name ${host} does not resolve.` };
			if (!a.has_secret)
				return { ok: false, stage: 'auth', message: a.fields.transport === 'smtp' ? 'No password is stored for this account.' : 'No API key is stored for this account.' };
			if (this.secrets.get(a.id) === 'wrong')
				return { ok: false, stage: 'auth', message: '535 5.7.8 Authentication credentials invalid.' };
			return { ok: true, stage: null, message: a.fields.transport === 'smtp' ? `Connected to ${host} and logged in.` : 'The API key is valid.' };
		},
		delete_account: (args) => {
			const a = this.account(args.account_id);
			const name = a.fields.name;
			const users = this.campaigns
				.filter((c) => c.fields.account_id === a.id)
				.map((c) => c.fields.name)
				.sort((x, y) => x.localeCompare(y));
			if (users.length > 0) {
				const one = users.length === 1;
				fail(
					'conflict',
					`sender account '${name}' is used by ${quotedList(users)}; choose another account for ${one ? 'that campaign' : 'those campaigns'} or move ${one ? 'it' : 'them'} to the trash first`
				);
			}
			// The mock's outbox holds campaign steps only (answers stay with their drafts).
			const mine = this.messages.filter((m) => m.campaign_id !== null && this.anyCampaign(m.campaign_id)?.fields.account_id === a.id);
			const queued = mine.filter((m) => m.status === 'queued' || m.status === 'sending').length;
			if (queued > 0) fail('conflict', `sender account '${name}' still has ${queued} message(s) to send; it can be removed once they are sent`);
			const unconfirmed = mine.filter((m) => m.status === 'unconfirmed').length;
			if (unconfirmed > 0) fail('conflict', `sender account '${name}' has ${unconfirmed} unconfirmed message(s); decide about them first`);
			this.accounts = this.accounts.filter((x) => x.id !== a.id);
			this.secrets.delete(a.id);
			this.dkimKeys.delete(a.id);
			// A draft in the trash that sent from it comes back without it, as the store has it.
			for (const t of this.trashed.campaigns) if (t.item.status === 'draft' && t.item.fields.account_id === a.id) t.item.fields.account_id = null;
			this.host.log(a.workspace_id, 'account.delete', `Removed sender account #${a.id} with its reply mailbox`);
			this.host.changed('campaigns', a.workspace_id);
			return a;
		},
		list_templates: (args) => {
			this.host.workspace(args.workspace_id);
			return this.templates.filter((t) => t.workspace_id === args.workspace_id).sort((a, b) => a.name.localeCompare(b.name));
		},
		save_template: (args) => {
			const name = args.name.trim();
			if (name === '') fail('invalid_input', 'A template needs a name.');
			const wsId = args.id === null ? args.workspace_id : this.template(args.id).workspace_id;
			sameWorkspace(wsId, args.workspace_id, 'the template');
			this.host.workspace(wsId);
			if (this.templates.some((t) => t.id !== args.id && t.workspace_id === wsId && t.name.toLowerCase() === name.toLowerCase()))
				fail('conflict', `A template named “${name}” already exists.`);
			const syntax = syntaxProblems(args.subject, args.body);
			if (syntax.length > 0) fail('invalid_input', syntax.map(problemMessage).join(' '));
			let t: Template;
			let rewritten = 0;
			if (args.id === null) t = this.seedTemplate(wsId, name, args.subject, args.body);
			else {
				t = this.template(args.id);
				const newText = t.subject !== args.subject || t.body !== args.body;
				Object.assign(t, { name, subject: args.subject, body: args.body, updated_at: this.host.now() });
				// As the core does: what was written from the old text and never tried is written again.
				const id = t.id;
				if (newText)
					rewritten = this.rewrite(
						(c) => c.fields.steps.some((s) => s.template_ids.includes(id)),
						id
					);
			}
			this.host.log(wsId, 'template.save', `Saved template “${name}”.`);
			this.templateDrafts.delete(draftKey(wsId, args.id));
			return { ...t, rewritten };
		},
		keep_template_draft: (args) => {
			this.host.workspace(args.workspace_id);
			if (args.template_id !== null) {
				const t = this.template(args.template_id);
				sameWorkspace(t.workspace_id, args.workspace_id, 'the template');
			}
			const d: TemplateDraft = { template_id: args.template_id, name: args.name, subject: args.subject, body: args.body, saved_at: this.host.now() };
			this.templateDrafts.set(draftKey(args.workspace_id, args.template_id), d);
			return { ...d };
		},
		template_draft: (args) => {
			const d = this.templateDrafts.get(draftKey(args.workspace_id, args.template_id));
			return d ? { ...d } : null;
		},
		discard_template_draft: (args) => this.templateDrafts.delete(draftKey(args.workspace_id, args.template_id)),
		copy_template: (args) => {
			const t = this.template(args.template_id);
			const taken = (n: string) => this.templates.some((x) => x.workspace_id === t.workspace_id && x.name.toLowerCase() === n.toLowerCase());
			let name = args.name?.trim() ?? '';
			if (name === '') name = freeName(`Copy of ${t.name}`, taken);
			else if (taken(name)) fail('conflict', `a template named '${name}' already exists`);
			const copy = this.seedTemplate(t.workspace_id, name, t.subject, t.body);
			this.host.log(t.workspace_id, 'template.create', `Created template #${copy.id}`);
			this.host.changed('campaigns', t.workspace_id);
			return copy;
		},
		preview_template: (args) => {
			const ws = this.host.workspace(args.workspace_id);
			const p =
				args.prospect_id !== null
					? this.host.prospect(args.prospect_id)
					: (this.host.matching(queryOf(ws.id))[0] ?? null);
			const acc =
				args.account_id !== null
					? this.account(args.account_id)
					: (this.accounts.find((a) => a.workspace_id === ws.id) ?? null);
			const { rendered, problems } = renderAndCheck(args.subject, args.body, varsFor(p, this.senderOf(ws, acc)), {
				firstStep: args.first_step,
				prospectId: p?.id ?? null
			});
			return { rendered, prospect_id: p?.id ?? null, prospect_name: p ? prospectName(p) : null, problems: views(problems) };
		},
		delete_template: (args) => {
			const t = this.template(args.template_id);
			const users = this.campaigns
				.filter((c) => c.fields.positive_follow_up.template_id === t.id || c.fields.steps.some((s) => s.template_ids.includes(t.id)))
				.map((c) => c.fields.name)
				.sort((a, b) => a.localeCompare(b));
			if (users.length > 0) {
				const one = users.length === 1;
				fail(
					'conflict',
					`template '${t.name}' is used by ${quotedList(users)}; take it out of ${one ? 'that campaign' : 'those campaigns'} or move ${one ? 'it' : 'them'} to the trash first`
				);
			}
			toTrash(this.templates, this.trashed.templates, t.id, this.host.now());
			this.host.log(t.workspace_id, 'template.delete', `Moved template #${t.id} to the trash`);
			this.host.changed('campaigns', t.workspace_id);
			return t;
		},
		restore_template: (args) => {
			const i = this.trashed.templates.findIndex((x) => x.item.id === args.template_id);
			if (i < 0) fail('not_found', `trashed template #${args.template_id} not found`);
			const t = this.trashed.templates[i].item;
			if (this.templates.some((x) => x.workspace_id === t.workspace_id && x.name.toLowerCase() === t.name.toLowerCase()))
				fail('conflict', `another template is named '${t.name}' now; rename it to restore this one`);
			this.trashed.templates.splice(i, 1);
			this.templates.push(t);
			this.host.log(t.workspace_id, 'template.restore', `Restored template #${t.id} from the trash`);
			this.host.changed('campaigns', t.workspace_id);
			return t;
		},
		delete_campaign: (args) => {
			const c = this.campaign(args.campaign_id);
			if (c.status === 'running' || c.status === 'paused')
				fail('conflict', `campaign '${c.fields.name}' is ${c.status}; stop it before moving it to the trash`);
			const mine = this.messages.filter((m) => m.campaign_id === c.id);
			const queued = mine.filter((m) => m.status === 'queued' || m.status === 'sending').length;
			if (queued > 0)
				fail('conflict', `campaign '${c.fields.name}' still has ${queued} message(s) to send; it can go to the trash once they are sent`);
			const unconfirmed = mine.filter((m) => m.status === 'unconfirmed').length;
			if (unconfirmed > 0) fail('conflict', `campaign '${c.fields.name}' has ${unconfirmed} unconfirmed message(s); decide about them first`);
			toTrash(this.campaigns, this.trashed.campaigns, c.id, this.host.now());
			this.host.log(c.workspace_id, 'campaign.delete', `Moved campaign #${c.id} to the trash`);
			this.host.changed('campaigns', c.workspace_id);
			return c;
		},
		restore_campaign: (args) => {
			const i = this.trashed.campaigns.findIndex((x) => x.item.id === args.campaign_id);
			if (i < 0) fail('not_found', `trashed campaign #${args.campaign_id} not found`);
			const c = this.trashed.campaigns[i].item;
			const uses = new Set([...c.fields.steps.flatMap((s) => s.template_ids), c.fields.positive_follow_up.template_id]);
			const gone = this.trashed.templates
				.filter((x) => uses.has(x.item.id))
				.map((x) => x.item.name)
				.sort((a, b) => a.localeCompare(b));
			if (gone.length > 0)
				fail(
					'conflict',
					`campaign '${c.fields.name}' uses ${gone.length === 1 ? 'template' : 'templates'} ${quotedList(gone)} in the trash; restore ${gone.length === 1 ? 'it' : 'them'} first`
				);
			if (this.campaigns.some((x) => x.workspace_id === c.workspace_id && x.fields.name.toLowerCase() === c.fields.name.toLowerCase()))
				fail('conflict', `another campaign is named '${c.fields.name}' now; rename it to restore this one`);
			this.trashed.campaigns.splice(i, 1);
			this.campaigns.push(c);
			this.host.log(c.workspace_id, 'campaign.restore', `Restored campaign #${c.id} from the trash`);
			this.host.changed('campaigns', c.workspace_id);
			return c;
		},
		trash: (args) => {
			this.host.workspace(args.workspace_id);
			const of = <T extends { id: number; workspace_id: number }>(list: InTrash<T>[], name: (t: T) => string) =>
				list.filter((x) => x.item.workspace_id === args.workspace_id).map((x) => ({ id: x.item.id, name: name(x.item), deleted_at: x.deleted_at }));
			return {
				templates: of(this.trashed.templates, (t) => t.name),
				campaigns: of(this.trashed.campaigns, (c) => c.fields.name)
			};
		},
		list_campaigns: (args) => {
			this.host.workspace(args.workspace_id);
			// Newest first, as the store lists them.
			return this.campaigns.filter((c) => c.workspace_id === args.workspace_id).sort((a, b) => b.id - a.id);
		},
		get_campaign: (args) => this.campaign(args.campaign_id),
		save_campaign: (args) => {
			if (args.id === null) {
				this.host.workspace(args.workspace_id);
				const f = this.validateCampaign(args.workspace_id, args.fields, null);
				const c = this.seedCampaign(args.workspace_id, f);
				this.host.log(c.workspace_id, 'campaign.create', `Created campaign “${f.name}”.`);
				this.host.changed('campaigns', c.workspace_id);
				return c;
			}
			const c = this.campaign(args.id);
			sameWorkspace(c.workspace_id, args.workspace_id, 'the campaign');
			if (c.status === 'running') fail('conflict', 'Pause the campaign before changing it.');
			if (c.status === 'stopped' || c.status === 'completed') fail('conflict', `A ${c.status} campaign cannot be changed.`);
			c.fields = this.validateCampaign(c.workspace_id, args.fields, c.id);
			this.host.log(c.workspace_id, 'campaign.update', `Updated campaign “${c.fields.name}”.`);
			this.host.changed('campaigns', c.workspace_id);
			return c;
		},
		copy_campaign: (args) => {
			const c = this.campaign(args.campaign_id);
			const taken = (n: string) => this.campaigns.some((x) => x.workspace_id === c.workspace_id && x.fields.name.toLowerCase() === n.toLowerCase());
			let name = args.name?.trim() ?? '';
			if (name === '') name = freeName(`Copy of ${c.fields.name}`, taken);
			else if (taken(name)) fail('conflict', `a campaign named '${name}' already exists`);
			const account_id = c.fields.account_id !== null && this.findAccount(c.fields.account_id) ? c.fields.account_id : null;
			const copy = this.seedCampaign(c.workspace_id, { ...(JSON.parse(JSON.stringify(c.fields)) as CampaignFields), name, account_id });
			this.host.log(c.workspace_id, 'campaign.create', `Created campaign #${copy.id} with ${copy.fields.steps.length} step(s)`);
			this.host.changed('campaigns', c.workspace_id);
			return copy;
		},
		preview_enrolment: (args) => {
			const plan = this.enrolPlan(args);
			return { will_enrol: plan.take.length, already_enrolled: plan.already, refused: plan.refused, sample: plan.take.slice(0, 5) };
		},
		enrol_prospects: (args) => {
			const plan = this.enrolPlan(args);
			const c = plan.campaign;
			if (c.status === 'stopped' || c.status === 'completed') fail('conflict', `Nobody can join a ${c.status} campaign.`);
			this.seedEnrolments(c.id, plan.take.map((p) => p.id));
			if (c.status === 'running') this.queueFirstSteps(c);
			if (plan.take.length > 0) {
				this.host.log(c.workspace_id, 'campaign.enrol', `Enrolled ${plan.take.length} prospects in “${c.fields.name}”.`, plan.take.map((p) => p.id));
				this.host.changed('campaigns', c.workspace_id);
			}
			return { enrolled: plan.take.length, already_enrolled: plan.already, refused: plan.refused };
		},
		check_campaign: async (args) => {
			const c = this.campaign(args.campaign_id);
			await this.checkPace(c);
			return this.check(c);
		},
		start_campaign: async (args) => {
			const c = this.campaign(args.campaign_id);
			if (c.status !== 'draft' && c.status !== 'paused') fail('conflict', `A ${c.status} campaign cannot be started.`);
			await this.checkPace(c);
			const check = this.check(c);
			if (!check.ready) {
				const n = check.general.length + check.steps.reduce((s, x) => s + x.problems.length, 0);
				fail('pre_send_check', `The pre-send check found ${n} problem${n === 1 ? '' : 's'}; fix ${n === 1 ? 'it' : 'them'} first.`);
			}
			c.started_at ??= this.host.now();
			this.queueFirstSteps(c);
			return this.transition(c, 'running', ['draft', 'paused'], 'started');
		},
		pause_campaign: (args) => {
			const c = this.campaign(args.campaign_id);
			if (c.status === 'running') this.withdrawUnsent(c.id, null);
			return this.transition(c, 'paused', ['running'], 'paused');
		},
		stop_campaign: (args) => {
			const c = this.campaign(args.campaign_id);
			if (c.status === 'running' || c.status === 'paused') {
				for (const e of this.enrolments) if (e.campaign_id === c.id) this.endSequences(e.prospect_id, 'stopped', 'campaign stopped', c.id);
				for (const m of this.messages) if (m.campaign_id === c.id && m.status === 'queued') m.status = 'cancelled';
			}
			return this.transition(c, 'stopped', ['draft', 'running', 'paused'], 'stopped');
		},
		campaign_progress: (args) => {
			const c = this.campaign(args.campaign_id);
			const mine = this.messages.filter((m) => m.campaign_id === c.id);
			const count = (s: MessageStatus) => mine.filter((m) => m.status === s).length;
			const enrolled = this.enrolments.filter((e) => e.campaign_id === c.id);
			const ended = (how: 'replied' | 'stopped') => enrolled.filter((e) => e.ended === how).length;
			const completed = enrolled.filter((e) => e.ended === null && this.completed(e)).length;
			const blocked = this.blocked.get(c.id) ?? [];
			const queued = mine.filter((m) => m.status === 'queued').sort((a, b) => a.due_at.localeCompare(b.due_at));
			// As the engine: one tried before waits while its prospect is in the trash.
			const held = queued.filter((m) => this.host.prospect(m.prospect_id).deleted_at !== null);
			return {
				enrolled: enrolled.length,
				active: enrolled.length - completed - ended('replied') - ended('stopped'),
				completed,
				replied: ended('replied'),
				stopped: ended('stopped'),
				queued: queued.length,
				held: held.length,
				sent: count('sent'),
				failed: count('failed'),
				bounced: count('bounced'),
				unconfirmed: count('unconfirmed'),
				cancelled: count('cancelled'),
				blocked: blocked.reduce((s, b) => s + b.count, 0),
				blocked_reasons: blocked.map((b) => ({ ...b })),
				blocked_to_check_again: blocked.filter((b) => !FINAL_REFUSALS.includes(b.code)).reduce((s, b) => s + b.count, 0),
				next_send_at: c.status === 'running' ? (queued.find((m) => !held.includes(m))?.due_at ?? null) : null,
				// The mock engine has no caps or gaps that could hold a message past its due time.
				next_send_held_by: null,
				// As the store: withdrawn messages did not fail, and unconfirmed ones are listed.
				last_error:
					[...mine].reverse().find((m) => m.last_error && ['queued', 'failed', 'bounced'].includes(m.status))?.last_error ?? null
			};
		},
		list_enrolments: (args) => {
			const c = this.campaign(args.campaign_id);
			const limit = args.limit ?? 200;
			if (limit < 1 || limit > 10000) fail('invalid_input', `ask for 1 to 10000 people at a time, not ${limit}`);
			return this.enrolments
				.filter((e) => e.campaign_id === c.id)
				.map((e) => this.enrolmentSummary(e))
				.filter((e) => args.group === null || groupOf(e.state) === args.group)
				.sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.id - a.id)
				.slice(0, limit);
		},
		prospect_campaigns: (args) => {
			this.host.prospect(args.id);
			return this.enrolments
				.filter((e) => e.prospect_id === args.id)
				.sort((a, b) => b.id - a.id)
				.map((e) => {
					const c = this.anyCampaign(e.campaign_id) ?? this.campaign(e.campaign_id);
					const { state, next_position, next_run_at, reason, updated_at } = this.enrolmentSummary(e);
					const campaign_in_trash = !this.campaigns.includes(c);
					return {
						campaign_id: c.id,
						campaign_name: c.fields.name,
						campaign_status: c.status,
						campaign_in_trash,
						state,
						next_position,
						next_run_at,
						reason,
						updated_at
					};
				});
		},
		list_messages: (args) => {
			this.campaign(args.campaign_id);
			const limit = args.limit ?? 200;
			if (limit < 1 || limit > 1000) fail('invalid_input', 'Ask for 1 to 1000 messages.');
			return this.messages
				.filter((m) => m.campaign_id === args.campaign_id && (args.status === null || m.status === args.status))
				.slice(0, limit);
		},
		resolve_unconfirmed: (args) => {
			this.host.workspace(args.workspace_id);
			// As the core does: what changed since the crash decides whether a message may go again, for all or none.
			if (args.choice === 'resend')
				for (const id of args.message_ids) {
					const m = this.messages.find((x) => x.id === id && x.status === 'unconfirmed');
					if (!m) continue;
					const p = this.host.prospect(m.prospect_id);
					const c = this.campaign(m.campaign_id ?? 0);
					const why =
						p.deleted_at !== null
							? 'the prospect was moved to the trash'
							: p.status === 'unsubscribed' || p.objection_at !== null
								? 'the prospect opted out'
								: c.status !== 'running' && c.status !== 'paused'
									? 'its campaign was stopped or moved to the trash'
									: null;
					if (why !== null) fail('conflict', `message #${id} cannot be sent again: ${why}; mark it sent or cancel it`);
				}
			let n = 0;
			for (const id of args.message_ids) {
				const m = this.messages.find((x) => x.id === id);
				if (!m || m.status !== 'unconfirmed') continue;
				const c = this.campaign(m.campaign_id ?? 0);
				if (c.workspace_id !== args.workspace_id) continue;
				if (args.choice === 'mark_sent') {
					m.status = 'sent';
					m.sent_at = this.host.now();
				} else if (args.choice === 'resend') m.status = 'queued';
				else m.status = 'cancelled';
				n++;
			}
			if (n > 0) {
				this.host.log(args.workspace_id, 'messages.resolve', `Resolved ${n} unconfirmed message${n === 1 ? '' : 's'}: ${args.choice}.`);
				this.host.changed('campaigns', args.workspace_id);
			}
			return n;
		},
		retry_blocked: (args) => {
			const c = this.campaign(args.campaign_id);
			if (c.status !== 'running' && c.status !== 'paused' && c.status !== 'completed')
				fail('conflict', `a ${c.status} campaign sends nothing more; only a running, paused or completed one checks its blocked people again`);
			// The mock keeps refusals as counts only: all but the final ones go, as if the gate now let everyone through.
			const list = this.blocked.get(c.id) ?? [];
			const n = list.filter((b) => !FINAL_REFUSALS.includes(b.code)).reduce((sum, b) => sum + b.count, 0);
			this.blocked.set(
				c.id,
				list.filter((b) => FINAL_REFUSALS.includes(b.code))
			);
			if (n > 0 && c.status === 'completed') c.status = 'running';
			this.host.log(c.workspace_id, 'campaign.retry_blocked', `Campaign #${c.id}: ${n} blocked enrolment(s) checked again by the compliance gate`);
			this.host.changed('campaigns', c.workspace_id);
			return n;
		},
		engine_status: () => this.engineStatus()
	};

	/**
	 * Takes back a campaign's queued messages never tried (with a template, those of the steps
	 * written from it), as the core does: their steps are written again from what holds then.
	 */
	private withdrawUnsent(campaignId: number, templateId: number | null): number {
		const c = this.campaign(campaignId);
		const back = this.messages.filter(
			(m) =>
				m.campaign_id === campaignId &&
				m.status === 'queued' &&
				m.attempts === 0 &&
				(templateId === null || (c.fields.steps[(m.step_position ?? 1) - 1]?.template_ids.includes(templateId) ?? false))
		);
		for (const m of back) {
			const e = this.enrolments.find((x) => x.campaign_id === campaignId && x.prospect_id === m.prospect_id);
			if (e) e.queued_steps = Math.min(e.queued_steps, (m.step_position ?? 1) - 1);
		}
		this.messages = this.messages.filter((m) => !back.includes(m));
		return back.length;
	}

	/** As the core does when prospects go to the trash or their details change: their never-tried queued messages are taken back. */
	withdrawTo(prospectIds: number[]): number {
		const back = this.messages.filter((m) => m.campaign_id !== null && prospectIds.includes(m.prospect_id) && m.status === 'queued' && m.attempts === 0);
		for (const m of back) {
			const e = this.enrolments.find((x) => x.campaign_id === m.campaign_id && x.prospect_id === m.prospect_id);
			if (e) e.queued_steps = Math.min(e.queued_steps, (m.step_position ?? 1) - 1);
		}
		this.messages = this.messages.filter((m) => !back.includes(m));
		return back.length;
	}

	/** As the core does when a workspace's name, address or notice changes: what its campaigns wrote and never tried is written again. */
	rewriteWorkspace(workspaceId: number): number {
		return this.rewrite((c) => c.workspace_id === workspaceId);
	}

	/**
	 * As the core does when what messages were written from changes: the running and paused
	 * campaigns `which` picks take back what they wrote and never tried (with `templateId`, only
	 * what that template wrote), and the running ones write it again. Returns how many.
	 */
	private rewrite(which: (c: Campaign) => boolean, templateId: number | null = null): number {
		let n = 0;
		for (const c of this.campaigns)
			if ((c.status === 'running' || c.status === 'paused') && which(c)) {
				n += this.withdrawUnsent(c.id, templateId);
				if (c.status === 'running') this.queueFirstSteps(c);
			}
		return n;
	}

	/** Restored prospects' sequences go on in the campaigns still running. */
	resumeRunning(): void {
		for (const c of this.campaigns) if (c.status === 'running') this.queueFirstSteps(c);
	}

	private queueFirstSteps(c: Campaign): void {
		if (c.fields.steps.length === 0) return;
		for (const e of this.enrolments)
			if (e.campaign_id === c.id && e.queued_steps === 0 && this.host.prospect(e.prospect_id).deleted_at === null) {
				this.addMessage(c, e.prospect_id, 1, 'queued');
				e.queued_steps = 1;
			}
	}
}

/** A campaign's settings before anyone edits them. */
export function defaultCampaignFields(): CampaignFields {
	return {
		name: '',
		account_id: null,
		window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start_minute: 540, end_minute: 1020 },
		daily_cap: 50,
		min_gap_seconds: 90,
		max_gap_seconds: 300,
		steps: [],
		positive_follow_up: { template_id: null, mode: 'draft' }
	};
}


/** Refusals of the compliance gate grouped by reason, largest group first, as the backend groups them. */
class Refusals {
	private byCode = new Map<string, RefusedGroup>();

	add(r: { code: string; reason: string }, p: Prospect): void {
		const g = this.byCode.get(r.code) ?? { ...r, count: 0, examples: [] };
		g.count++;
		if (g.examples.length < 5) g.examples.push([p.first_name, p.last_name].filter(Boolean).join(' ') || p.email || `#${p.id}`);
		this.byCode.set(r.code, g);
	}

	groups(): RefusedGroup[] {
		return [...this.byCode.values()].sort((a, b) => b.count - a.count);
	}
}
