import { describe, expect, it } from 'vitest';
import { COMMANDS, type ApiError, type ApiEvent, type ListReplies, type MailboxFields } from '$lib/generated/commands';
import { MockBackend } from './mock';
import { classifyText } from './mock-inbox';
import { mockWithWorkspace } from '../../../tests/helpers';

async function rejection(p: Promise<unknown>): Promise<ApiError> {
	try {
		await p;
	} catch (e) {
		return e as ApiError;
	}
	throw new Error('expected a rejection');
}

function mailbox(over: Partial<MailboxFields> = {}): MailboxFields {
	return { host: 'imap.example.com', port: null, security: 'implicit_tls', username: 'alex', auth: 'password', mailbox: '', enabled: true, ...over };
}

function list(workspace_id: number, over: Partial<ListReplies> = {}): ListReplies {
	return { workspace_id, intent: null, needs_reply: false, unread: false, human_only: false, prospect_id: null, before_id: null, limit: null, ...over };
}

/** Collect the events the mock emits (after the microtasks its `changed` events wait for). */
function record(m: MockBackend) {
	const events: ApiEvent[] = [];
	m.onEvent((e) => events.push(e));
	return {
		events,
		settled: () => new Promise<ApiEvent[]>((r) => setTimeout(() => r(events), 0))
	};
}

/** A workspace with an account, a running campaign and replies of every kind. */
function withReplies() {
	const m = new MockBackend();
	const ws = m.seedWorkspace('W', { postal_address: 'Street 1' });
	const people = m.seedProspects(ws.id, 6, () => ({ status: 'contacted' }));
	const acc = m.sending.seedAccount(ws.id, 'A');
	const r = {
		interested: m.inbox.seedReply({ prospect_id: people[0].id, text: 'Sounds great, tell me more about the commission.' }),
		question: m.inbox.seedReply({ prospect_id: people[1].id, text: 'How much do you pay per sale?' }),
		bounce: m.inbox.seedReply({ prospect_id: people[2].id, text: 'The mailbox does not exist.', kind: 'bounce', bounce_status: '5.1.1' }),
		away: m.inbox.seedReply({ prospect_id: people[3].id, text: 'I am out of the office until Monday.', kind: 'auto_reply' }),
		no: m.inbox.seedReply({ prospect_id: people[4].id, text: 'No thanks, not interested.', read: true })
	};
	return { m, ws, people, acc, r };
}

describe('mock inbox', () => {
	it('answers every command of the bindings', async () => {
		const m = new MockBackend();
		for (const cmd of COMMANDS) {
			const err = await m.call(cmd, {} as never).then(
				() => null,
				(e: unknown) => e
			);
			expect(err, cmd).not.toEqual({ code: 'internal', message: `unknown command ${cmd}` });
		}
	});

	it('validates mailboxes like the core: host and login required, no line breaks, default port and folder', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const acc = m.sending.seedAccount(ws.id, 'A');
		const save = (fields: MailboxFields, secret: string | null = null) => m.call('save_mailbox', { account_id: acc.id, fields, secret });

		expect(await m.call('get_mailbox', { account_id: acc.id })).toBeNull();
		expect((await rejection(save(mailbox({ host: '  ' })))).message).toBe('the mailbox needs an IMAP host');
		expect((await rejection(save(mailbox({ username: '' })))).message).toBe('the mailbox needs a login name');
		for (const over of [{ host: 'imap.example.com\r\nA1 LOGOUT' }, { username: 'al\nex' }, { mailbox: 'IN\rBOX' }]) {
			const err = await rejection(save(mailbox(over)));
			expect(err.code).toBe('invalid_input');
			expect(err.message).toContain('line breaks');
		}
		expect((await rejection(save(mailbox({ port: 0 })))).code).toBe('invalid_input');
		expect((await rejection(m.call('save_mailbox', { account_id: 999, fields: mailbox(), secret: 'x' }))).code).toBe('not_found');
		expect(await m.call('get_mailbox', { account_id: acc.id })).toBeNull();

		const tls = await save(mailbox());
		expect(tls).toMatchObject({ account_id: acc.id, workspace_id: ws.id, has_secret: false, fields: { port: 993, mailbox: 'INBOX', host: 'imap.example.com' } });
		const plain = await save(mailbox({ host: ' localhost ', security: 'plain_loopback', mailbox: ' Replies ' }), 'pw');
		expect(plain).toMatchObject({ has_secret: true, last_error: null, fields: { host: 'localhost', port: 143, mailbox: 'Replies' } });
		expect(JSON.stringify(plain)).not.toContain('"pw"');
		// Saving without a secret keeps the stored one.
		expect((await save(mailbox({ port: 1993 }))).has_secret).toBe(true);
	});

	it('refuses a mailbox without any secret, and uses the sending password when the account has one', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const bare = await m.call('save_account', {
			workspace_id: ws.id,
			id: null,
			fields: { ...m.sending.seedAccount(ws.id, 'Seeded').fields, name: 'No password', username: null },
			secret: null,
			dkim_private_key: null,
			remove_dkim_key: false
		});
		expect(bare.has_secret).toBe(false);
		const err = await rejection(m.call('save_mailbox', { account_id: bare.id, fields: mailbox(), secret: '' }));
		expect(err.code).toBe('invalid_input');
		expect(err.message).toContain('password or token');
		expect(await m.call('get_mailbox', { account_id: bare.id })).toBeNull();
		expect((await m.call('save_mailbox', { account_id: bare.id, fields: mailbox(), secret: 'tok' })).has_secret).toBe(true);

		const shared = m.sending.seedAccount(ws.id, 'Shared');
		expect((await m.call('save_mailbox', { account_id: shared.id, fields: mailbox(), secret: null })).has_secret).toBe(false);
		expect(await m.call('test_mailbox', { account_id: shared.id })).toMatchObject({ ok: true, stage: null });
	});

	it('tests and removes mailboxes, reporting what failed', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const acc = m.sending.seedAccount(ws.id, 'A');
		expect((await rejection(m.call('test_mailbox', { account_id: acc.id }))).code).toBe('not_found');
		await m.call('save_mailbox', { account_id: acc.id, fields: mailbox({ host: 'imap.nowhere.invalid' }), secret: null });
		expect(await m.call('test_mailbox', { account_id: acc.id })).toMatchObject({ ok: false, stage: 'dns' });
		await m.call('save_mailbox', { account_id: acc.id, fields: mailbox(), secret: 'wrong' });
		expect(await m.call('test_mailbox', { account_id: acc.id })).toMatchObject({ ok: false, stage: 'auth' });

		m.inbox.pollMailbox(acc.id, 'the server closed the connection');
		expect(await m.call('get_mailbox', { account_id: acc.id })).toMatchObject({ last_error: 'the server closed the connection' });
		expect((await m.call('get_mailbox', { account_id: acc.id }))?.polled_at).not.toBeNull();

		const { settled } = record(m);
		expect(await m.call('remove_mailbox', { account_id: acc.id })).toBe(1);
		expect(await m.call('get_mailbox', { account_id: acc.id })).toBeNull();
		expect((await rejection(m.call('remove_mailbox', { account_id: acc.id }))).code).toBe('not_found');
		expect((await settled()).some((e) => e.kind === 'changed' && e.entity === 'campaigns')).toBe(true);
		const audit = await m.call('list_audit', { workspace_id: ws.id, limit: 10, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit.map((a) => a.action)).toContain('account.mailbox_removed');
	});

	it('lists replies newest first with every filter and pages with before_id', async () => {
		const { m, ws, people, r } = withReplies();
		const ids = async (over: Partial<ListReplies>) => (await m.call('list_replies', list(ws.id, over))).map((x) => x.id);
		expect(await ids({})).toEqual([r.no.id, r.away.id, r.bounce.id, r.question.id, r.interested.id]);
		expect(await ids({ human_only: true })).toEqual([r.no.id, r.question.id, r.interested.id]);
		expect(await ids({ intent: 'interested' })).toEqual([r.interested.id]);
		expect(await ids({ intent: 'out_of_office' })).toEqual([r.away.id]);
		expect(await ids({ needs_reply: true })).toEqual([r.question.id, r.interested.id]);
		expect(await ids({ unread: true, human_only: true })).toEqual([r.question.id, r.interested.id]);
		expect(await ids({ prospect_id: people[2].id })).toEqual([r.bounce.id]);
		expect(await ids({ limit: 2 })).toEqual([r.no.id, r.away.id]);
		expect(await ids({ limit: 2, before_id: r.away.id })).toEqual([r.bounce.id, r.question.id]);
		expect(await ids({ workspace_id: 999 })).toEqual([]);

		const [first] = await m.call('list_replies', list(ws.id, { intent: 'interested' }));
		expect(first).toMatchObject({
			kind: 'human',
			intent_source: 'rules',
			prospect_name: `${people[0].first_name} ${people[0].last_name}`,
			prospect_company: people[0].company,
			prospect_status: 'interested',
			needs_reply: true,
			read_at: null
		});
		expect(r.bounce).toMatchObject({ kind: 'bounce', intent: 'other', bounce_status: '5.1.1', actions: 'marked bounced', prospect_status: 'bounced', sentiment: null });
		expect(r.away).toMatchObject({ intent: 'out_of_office', needs_reply: false });
	});

	it('marks a reply read when opened and counts unread human replies only', async () => {
		const { m, ws, r } = withReplies();
		expect(await m.call('unread_replies', { workspace_id: ws.id })).toBe(2);
		const peek = await m.call('get_reply', { reply_id: r.question.id, mark_read: false });
		expect(peek.read_at).toBeNull();

		const { settled } = record(m);
		const opened = await m.call('get_reply', { reply_id: r.question.id, mark_read: true });
		expect(opened.read_at).not.toBeNull();
		expect(await m.call('unread_replies', { workspace_id: ws.id })).toBe(1);
		expect(await settled()).toContainEqual({ kind: 'changed', entity: 'replies', workspace_id: ws.id, source: 'app' });
		// Opening it again keeps the first time.
		expect((await m.call('get_reply', { reply_id: r.question.id, mark_read: true })).read_at).toBe(opened.read_at);
		expect((await rejection(m.call('get_reply', { reply_id: 999, mark_read: true }))).code).toBe('not_found');
	});

	it('relabels a reply as the user’s verdict and moves the prospect for interested and not interested', async () => {
		const { m, ws, people, r } = withReplies();
		const { settled } = record(m);
		const yes = await m.call('relabel_reply', { reply_id: r.question.id, intent: 'interested' });
		expect(yes).toMatchObject({ intent: 'interested', intent_source: 'user', confidence: 1, needs_reply: true, prospect_status: 'interested' });
		expect(m.peekProspect(people[1].id)?.status).toBe('interested');
		const events = await settled();
		expect(events).toContainEqual({ kind: 'changed', entity: 'replies', workspace_id: ws.id, source: 'app' });
		expect(events).toContainEqual({ kind: 'changed', entity: 'prospects', workspace_id: ws.id, source: 'app' });

		const no = await m.call('relabel_reply', { reply_id: r.interested.id, intent: 'not_interested' });
		expect(no).toMatchObject({ intent: 'not_interested', prospect_status: 'not_interested' });
		// A question moves nobody; a bounced prospect stays bounced.
		expect((await m.call('relabel_reply', { reply_id: r.no.id, intent: 'question' })).prospect_status).toBe('not_interested');
		expect((await m.call('relabel_reply', { reply_id: r.bounce.id, intent: 'interested' })).prospect_status).toBe('bounced');
		expect((await rejection(m.call('relabel_reply', { reply_id: 999, intent: 'other' }))).code).toBe('not_found');

		const audit = await m.call('list_audit', { workspace_id: ws.id, limit: 50, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit.map((a) => a.summary)).toContain(`Reply #${r.question.id}: intent question -> interested`);
	});

	it('classifies texts with keyword rules, and learns corrections only with the model', async () => {
		const { m, ws, r } = withReplies();
		const texts = [
			'Please unsubscribe me from this list.',
			'I am out of the office until 3 June.',
			'Thanks, but we are not interested.',
			'Please reach out to my colleague Sam, she is in charge of partnerships.',
			'Sounds good, let’s talk next week!',
			'What is the cookie duration?',
			'Received.'
		];
		const got = await m.call('classify_texts', { workspace_id: null, texts });
		expect(got.map((c) => c.intent)).toEqual(['unsubscribe', 'out_of_office', 'not_interested', 'referral', 'interested', 'question', 'other']);
		for (const c of got) {
			expect(c.confidence).toBeGreaterThan(0);
			expect(c.confidence).toBeLessThanOrEqual(1);
			expect(Math.abs(c.sentiment)).toBeLessThanOrEqual(1);
		}
		expect(classifyText('Great, love it, thanks!').sentiment).toBeGreaterThan(0);
		expect(classifyText('Stop, this is spam, never write again.').sentiment).toBeLessThan(0);
		expect((await rejection(m.call('classify_texts', { workspace_id: null, texts: new Array(10_001).fill('x') }))).code).toBe('invalid_input');

		await m.call('relabel_reply', { reply_id: r.question.id, intent: 'interested' });
		const text = r.question.new_text;
		expect((await m.call('classify_texts', { workspace_id: ws.id, texts: [text] }))[0].intent).toBe('question');
		m.inbox.modelPresent = true;
		expect((await m.call('classify_texts', { workspace_id: ws.id, texts: [text] }))[0].intent).toBe('interested');
		expect((await m.call('classify_texts', { workspace_id: null, texts: [text] }))[0].intent).toBe('question');
	});

	it('fetches the model with progress events, and refuses without a URL', async () => {
		const m = new MockBackend();
		expect(await m.call('model_status', {})).toMatchObject({ present: false, url: null });
		const err = await rejection(m.call('download_model', { url: null }));
		expect(err.code).toBe('invalid_input');
		expect(err.message).toContain('OUTREACH_MODEL_URL');

		const { events } = record(m);
		const status = await m.call('download_model', { url: 'https://models.example/minilm.whl' });
		expect(status.present).toBe(true);
		const progress = events.filter((e) => e.kind === 'model_progress');
		expect(progress.length).toBeGreaterThan(1);
		const last = progress.at(-1);
		expect(last?.kind === 'model_progress' && last.done === last.total).toBe(true);
		expect((await m.call('model_status', {})).present).toBe(true);
	});

	it('plays the poller: stores the reply, stops the sequence and tells the UI', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W', { postal_address: 'Street 1' });
		const [p, q] = m.seedProspects(ws.id, 2, () => ({ status: 'qualified' }));
		const acc = m.sending.seedAccount(ws.id, 'A');
		const tpl = m.sending.seedTemplate(ws.id, 'T', 'Hi', 'Hi {{ first_name }}\n{{ privacy_notice }}\n{{ opt_out }}');
		const c = m.sending.seedCampaign(ws.id, { name: 'Spring', account_id: acc.id, steps: [{ delay_business_days: 0, condition: 'always', template_ids: [tpl.id] }] });
		m.sending.seedEnrolments(c.id, [p.id, q.id]);
		await m.call('start_campaign', { campaign_id: c.id });

		const { settled } = record(m);
		const reply = m.inbox.receiveReply({ prospect_id: p.id, text: 'Interested! Can we talk on Tuesday?' });
		expect(reply).toMatchObject({
			workspace_id: ws.id,
			intent: 'interested',
			campaign_id: c.id,
			campaign_name: 'Spring',
			actions: 'sequence stopped; 1 queued message cancelled; status interested; draft ready',
			needs_reply: true,
			prospect_status: 'interested'
		});
		const events = await settled();
		expect(events.find((e) => e.kind === 'reply')).toEqual({
			kind: 'reply',
			notice: { workspace_id: ws.id, reply_id: reply.id, prospect_id: p.id, prospect_name: reply.prospect_name, intent: 'interested', actions: reply.actions }
		});
		expect(events).toContainEqual({ kind: 'changed', entity: 'replies', workspace_id: ws.id, source: 'app' });
		const msgs = await m.call('list_messages', { campaign_id: c.id, status: null, limit: null });
		expect(msgs.find((x) => x.prospect_id === p.id)).toMatchObject({ status: 'cancelled', last_error: 'the recipient replied' });
		expect(msgs.find((x) => x.prospect_id === q.id)?.status).toBe('queued');

		// An unsubscribe opts out; an automatic reply tells nobody.
		const out = m.inbox.receiveReply({ prospect_id: q.id, text: 'Please remove me from your list.' });
		expect(out).toMatchObject({ intent: 'unsubscribe', actions: 'opted out; 1 queued message cancelled', prospect_status: 'unsubscribed', needs_reply: false });
		const before = (await settled()).filter((e) => e.kind === 'reply').length;
		m.inbox.receiveReply({ prospect_id: p.id, text: 'Thank you for your message.', kind: 'auto_reply' });
		expect((await settled()).filter((e) => e.kind === 'reply')).toHaveLength(before);
		expect(await m.call('unread_replies', { workspace_id: ws.id })).toBe(2);
	});

	it('takes an answer waiting for a prospect moved to the trash back to the drafts, and refuses to queue one', async () => {
		const { backend: m, ws } = mockWithWorkspace();
		const acc = m.sending.seedAccount(ws.id, 'A');
		const [lena] = m.seedProspects(ws.id, 1, () => ({ status: 'contacted', lawful_basis: 'legitimate_interest' }));
		const question = m.inbox.seedReply({ prospect_id: lena.id, account_id: acc.id, text: 'How much do you pay per sale?' });
		const draft = await m.call('open_answer', { reply_id: question.id, mark_read: false });
		const queued = await m.call('send_answer', { draft_id: draft.id, subject: 'Re: Pay', body: 'We pay 20%.', account_id: acc.id });
		expect(queued.state).toBe('queued');
		await m.call('delete_prospects', { workspace_id: ws.id, ids: [lena.id] });
		const [back] = await m.call('reply_answers', { reply_id: question.id, mark_read: false });
		expect(back).toMatchObject({ id: draft.id, state: 'draft', outbox_id: null, message_status: null });
		expect(back.body).toContain('We pay 20%.');
		expect((await m.call('get_reply', { reply_id: question.id, mark_read: false })).needs_reply).toBe(true);
		const refused = await rejection(m.call('send_answer', { draft_id: draft.id, subject: 'Re: Pay', body: 'We pay 20%.', account_id: acc.id }));
		expect(refused.code).toBe('compliance_refused');
		expect(refused.message).toContain('trash');
	});

	it('seeds replies and a polled mailbox in the demo workspace', async () => {
		const m = new MockBackend();
		const ws = await m.call('load_demo', {});
		const replies = await m.call('list_replies', list(ws.id));
		expect(replies.length).toBeGreaterThanOrEqual(2);
		expect(replies.some((r) => r.html !== null)).toBe(true);
		expect(await m.call('unread_replies', { workspace_id: ws.id })).toBe(1);
		const [acc] = await m.call('list_accounts', { workspace_id: ws.id });
		expect(await m.call('get_mailbox', { account_id: acc.id })).toMatchObject({ fields: { host: 'imap.example.com' } });
	});
});
