import type {
	AuditActor,
	AuditTopic,
	CampaignStatus,
	ErasureCounts,
	FactorId,
	Field,
	ImportPhase,
	Intent,
	LawfulBasis,
	MailboxAuth,
	MailboxSecurity,
	ProspectStatus,
	ReplyKind,
	SmtpSecurityMode,
	SortField,
	SourceType,
	Weekday
} from '$lib/generated/commands';

export const STATUSES: readonly ProspectStatus[] = [
	'new',
	'qualified',
	'disqualified',
	'contacted',
	'replied',
	'interested',
	'converted',
	'not_interested',
	'unsubscribed',
	'bounced'
];

/**
 * The outcomes of a review, which a person sets by hand. The other statuses follow from what
 * happens (a send, a reply, a bounce, an opt-out, which also suppresses the address).
 */
export const REVIEW_STATUSES: readonly ProspectStatus[] = ['new', 'qualified', 'disqualified', 'interested', 'not_interested', 'converted'];

/** Audit topics, as the filter menu names them. */
export const AUDIT_TOPIC_LABELS: Record<AuditTopic, string> = {
	prospects: 'Prospects and their data',
	consent: 'Consent and lawful basis',
	campaigns: 'Campaigns and templates',
	sending: 'Sending',
	replies: 'Replies',
	accounts: 'Sender accounts',
	workspace: 'Workspace settings'
};

/** Who acted, as the audit log names them. */
export const AUDIT_ACTOR_LABELS: Record<AuditActor, string> = {
	app: 'This app',
	cli: 'Command line',
	system: 'Automatic'
};

export const STATUS_LABELS: Record<ProspectStatus, string> = {
	new: 'New',
	qualified: 'Qualified',
	disqualified: 'Disqualified',
	contacted: 'Contacted',
	replied: 'Replied',
	interested: 'Interested',
	converted: 'Converted',
	not_interested: 'Not interested',
	unsubscribed: 'Unsubscribed',
	bounced: 'Bounced'
};

/** A prospect status as a string (`Reply.prospect_status`) for people; unknown ones as they are. */
export function statusLabel(status: string): string {
	return Object.hasOwn(STATUS_LABELS, status) ? STATUS_LABELS[status as ProspectStatus] : status.replaceAll('_', ' ');
}

export const SOURCE_LABELS: Record<SourceType, string> = {
	linkedin_export: 'LinkedIn export',
	sales_navigator: 'Sales Navigator',
	csv: 'CSV',
	manual: 'Manual',
	demo: 'Demo'
};

export const LAWFUL_BASIS_LABELS: Record<LawfulBasis, string> = {
	none: 'None recorded',
	consent: 'Consent',
	legitimate_interest: 'Legitimate interest'
};

/** What each kind of consent event means (`ConsentEvent.kind`). */
export const CONSENT_KIND_LABELS: Record<string, string> = {
	lawful_basis: 'Lawful basis set',
	consent: 'Consent recorded',
	withdrawal: 'Consent withdrawn',
	objection: 'Objected',
	opt_out: 'Opted out'
};

/** A consent event kind for people; unknown kinds as they are. */
export function consentKindLabel(kind: string): string {
	return Object.hasOwn(CONSENT_KIND_LABELS, kind) ? CONSENT_KIND_LABELS[kind] : kind.replaceAll('_', ' ');
}

/** A lawful basis as stored (`ConsentEvent.lawful_basis`) for people. */
export function lawfulBasisLabel(basis: string): string {
	return Object.hasOwn(LAWFUL_BASIS_LABELS, basis) ? LAWFUL_BASIS_LABELS[basis as LawfulBasis] : basis.replaceAll('_', ' ');
}

export const FIELDS: readonly Field[] = [
	'first_name',
	'last_name',
	'full_name',
	'email',
	'website',
	'x_handle',
	'linkedin_url',
	'instagram',
	'company',
	'title',
	'country',
	'time_zone',
	'followers',
	'notes',
	'connected_on',
	'custom'
];

export const FIELD_LABELS: Record<Field, string> = {
	first_name: 'First name',
	last_name: 'Last name',
	full_name: 'Full name',
	email: 'E-mail',
	website: 'Website',
	x_handle: 'X handle',
	linkedin_url: 'LinkedIn URL',
	instagram: 'Instagram',
	company: 'Company',
	title: 'Job title',
	country: 'Country',
	time_zone: 'Time zone',
	followers: 'Followers',
	notes: 'Notes',
	connected_on: 'Connected on',
	custom: 'Custom field (for templates)'
};

export const FACTORS: readonly FactorId[] = ['email_domain', 'website', 'social'];

export const FACTOR_LABELS: Record<FactorId, string> = {
	email_domain: 'E-mail domain',
	website: 'Website',
	social: 'Social reach'
};

export const SORT_LABELS: Record<SortField, string> = {
	name: 'Name',
	company: 'Company',
	score: 'Score',
	country: 'Country',
	status: 'Status',
	created_at: 'Added'
};

export const PHASE_LABELS: Record<ImportPhase, string> = {
	reading: 'Reading the file',
	writing: 'Saving prospects'
};

export function delimiterLabel(d: string): string {
	if (d === ',') return 'comma (,)';
	if (d === ';') return 'semicolon (;)';
	if (d === '\t') return 'tab';
	return JSON.stringify(d);
}

/** A date and time in the user's locale. */
export function formatDateTime(iso: string): string {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatDate(iso: string): string {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString();
}

/** A calendar date (`YYYY-MM-DD`) in the user's locale, read as that day wherever the user is. */
export function formatDay(date: string): string {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
	if (!m) return formatDate(date);
	return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toLocaleDateString();
}

/** A time for a list: the time of day when it is today, else the date. */
export function formatShortDateTime(iso: string, now: Date = new Date()): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	return d.toDateString() === now.toDateString()
		? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
		: d.toLocaleDateString();
}

export function formatBytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
	return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatNumber(n: number): string {
	return n.toLocaleString();
}

/** What an erasure does not reach, said in every dialog that erases. */
export const COPIES_OUTSIDE =
	'Copies outside the app (exports, backups, your mailbox) are not changed; the copy the app made of its data before its latest upgrade is deleted 30 days after it.';

/** "1 reply", "2 replies". */
export function countOf(n: number, one: string, many: string): string {
	return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

/**
 * What a save says after its name ("Template “Intro” saved."): how many messages waiting to go
 * out (`to`: "to go out", "to go to them") it took back to be written again `how` ("with the
 * new text"); nothing when none.
 */
export function rewrittenNote(n: number, to: string, how: string): string {
	if (n === 0) return '';
	return ` ${n === 1 ? `1 message waiting ${to} is` : `${formatNumber(n)} messages waiting ${to} are`} written again ${how}.`;
}

/**
 * What an erasure removes besides the people themselves: "2 messages to them (1 still queued,
 * which will not go out), 1 reply with the answers drafted to them, 1 place in a campaign and
 * 1 consent record".
 */
export function erasedRecords(c: ErasureCounts): string {
	const queued = c.queued > 0 ? ` (${formatNumber(c.queued)} still queued, which will not go out)` : '';
	const parts = [
		`${countOf(c.messages, 'message', 'messages')} to them${queued}`,
		`${countOf(c.replies, 'reply', 'replies')} with the answers drafted to them`,
		countOf(c.enrolments, 'place in a campaign', 'places in campaigns'),
		countOf(c.consent_events, 'consent record', 'consent records')
	];
	if (c.saved_filters > 0) parts.push(`${countOf(c.saved_filters, 'saved filter', 'saved filters')} whose search finds them by name`);
	return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export const WEEKDAY_LABELS: Record<Weekday, string> = {
	mon: 'Mon',
	tue: 'Tue',
	wed: 'Wed',
	thu: 'Thu',
	fri: 'Fri',
	sat: 'Sat',
	sun: 'Sun'
};

export const CAMPAIGN_STATUS_LABELS: Record<CampaignStatus, string> = {
	draft: 'Draft',
	running: 'Running',
	paused: 'Paused',
	stopped: 'Stopped',
	completed: 'Completed'
};

export const SECURITY_LABELS: Record<SmtpSecurityMode, string> = {
	implicit_tls: 'Implicit TLS (port 465)',
	start_tls: 'STARTTLS (port 587)',
	plain_loopback: 'Plain, to a relay on this computer only'
};

/**
 * Minutes since midnight as `HH:MM` for a time input. Midnight at the end of the day
 * (1440) is written `00:00`, which {@link timeToMinutes} reads back as 1440 for an end.
 */
export function minutesToTime(m: number): string {
	const t = ((m % 1440) + 1440) % 1440;
	return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/** `HH:MM` as minutes since midnight; `00:00` as an end means the end of the day. */
export function timeToMinutes(s: string, isEnd = false): number | null {
	const m = /^(\d{1,2}):(\d{2})/.exec(s);
	if (!m) return null;
	const v = Number(m[1]) * 60 + Number(m[2]);
	return isEnd && v === 0 ? 1440 : v;
}

/** The variable name a custom column is kept under, as the backend derives it: `Last Post` -> `last_post`. */
export function customKey(header: string): string {
	let key = header
		.replace(/^\uFEFF/, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '_')
		.replace(/^_+|_+$/g, '');
	if (/^[0-9]/.test(key)) key = `_${key}`;
	return key;
}

/** Every intent, in the order the inbox offers them. */
export const INTENTS: readonly Intent[] = [
	'interested',
	'question',
	'referral',
	'out_of_office',
	'not_interested',
	'unsubscribe',
	'other'
];

export const INTENT_LABELS: Record<Intent, string> = {
	interested: 'Interested',
	question: 'Question',
	not_interested: 'Not interested',
	unsubscribe: 'Unsubscribe',
	out_of_office: 'Out of office',
	referral: 'Referral',
	other: 'Other'
};

export const REPLY_KIND_LABELS: Record<ReplyKind, string> = {
	human: 'Written by a person',
	auto_reply: 'Automatic reply',
	bounce: 'Bounce',
	complaint: 'Spam complaint'
};

/** Where an intent came from (`Reply.intent_source`). */
export const INTENT_SOURCE_LABELS: Record<string, string> = {
	rules: 'rules',
	lexicon: 'word list',
	model: 'language model',
	user: 'set by you'
};

/** An intent source for people; unknown ones as they are. */
export function intentSourceLabel(source: string): string {
	return Object.hasOwn(INTENT_SOURCE_LABELS, source) ? INTENT_SOURCE_LABELS[source] : source.replaceAll('_', ' ');
}

/** How a reply was tied to its prospect (`Reply.matched_by`). */
export const MATCHED_BY_LABELS: Record<string, string> = {
	thread: 'answers our message',
	sender: 'from the prospect’s address',
	token: 'unsubscribe link in our message',
	bounce: 'bounce of our message'
};

export function matchedByLabel(by: string): string {
	return Object.hasOwn(MATCHED_BY_LABELS, by) ? MATCHED_BY_LABELS[by] : by;
}

/** A sentiment in -1..1 for people. */
export function sentimentLabel(s: number): string {
	const word = s >= 0.25 ? 'Positive' : s <= -0.25 ? 'Negative' : 'Neutral';
	return `${word} (${s > 0 ? '+' : ''}${s.toFixed(2)})`;
}

/** A confidence in 0..1 as a percentage. */
export function formatConfidence(c: number): string {
	return `${Math.round(Math.min(1, Math.max(0, c)) * 100)}%`;
}

export const MAILBOX_SECURITY_LABELS: Record<MailboxSecurity, string> = {
	implicit_tls: 'TLS (port 993)',
	plain_loopback: 'No TLS (only to this computer)'
};

export const MAILBOX_AUTH_LABELS: Record<MailboxAuth, string> = {
	password: 'Password or app password',
	xoauth2: 'OAuth 2 access token (XOAUTH2)'
};

/** The last part of a file path, whichever separator the platform uses. */
export function fileName(path: string): string {
	const trimmed = path.trim().replace(/[\\/]+$/, '');
	return trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1) || trimmed;
}
