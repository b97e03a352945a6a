import { describe, expect, it } from 'vitest';
import type { ApiError } from '$lib/generated/commands';
import { MockBackend } from './mock';

async function rejection(p: Promise<unknown>): Promise<ApiError> {
	try {
		await p;
	} catch (e) {
		return e as ApiError;
	}
	throw new Error('expected a rejection');
}

function setup(body = 'Hi {{ first_name }}\n{{ privacy_notice }}\n{{ opt_out }}') {
	const m = new MockBackend();
	const ws = m.seedWorkspace('W', { postal_address: 'Street 1' });
	const people = m.seedProspects(ws.id, 2);
	const acc = m.sending.seedAccount(ws.id, 'A');
	const tpl = m.sending.seedTemplate(ws.id, 'T', 'Hello {{ company }}', body);
	const c = m.sending.seedCampaign(ws.id, { name: 'C', account_id: acc.id, steps: [{ delay_business_days: 0, condition: 'always', template_ids: [tpl.id] }] });
	m.sending.seedEnrolments(c.id, people.map((p) => p.id));
	return { m, ws, people, c };
}

describe('mock sending', () => {
	it('renders {{ var }} placeholders and reports a missing opt-out', async () => {
		const { m, ws, people } = setup();
		const p = await m.call('preview_template', { workspace_id: ws.id, subject: 'For {{ company }}', body: 'Hi {{ first_name }}', prospect_id: null, account_id: null, first_step: false });
		expect(p.prospect_id).toBe(people[0].id);
		expect(p.rendered).toEqual({ subject: `For ${people[0].company}`, body: `Hi ${people[0].first_name}` });
		expect(p.problems.map((x) => x.problem.kind)).toEqual(['missing_opt_out']);
		const bad = await m.call('preview_template', { workspace_id: ws.id, subject: '{{ nope }}', body: '{{ opt_out', prospect_id: null, account_id: null, first_step: false });
		expect(bad.rendered).toBeNull();
		expect(bad.problems.map((x) => x.problem.kind)).toEqual(['render_failed', 'syntax']);
	});

	it('refuses a step delay past a year of business days and keeps the campaign as it was', async () => {
		const { m, ws, c } = setup();
		const before = await m.call('get_campaign', { campaign_id: c.id });
		const steps = [...before.fields.steps, { delay_business_days: 4000000, condition: 'no_reply' as const, template_ids: before.fields.steps[0].template_ids }];
		const err = await rejection(m.call('save_campaign', { workspace_id: ws.id, id: c.id, fields: { ...before.fields, steps } }));
		expect(err.code).toBe('invalid_input');
		expect(err.message).toContain('at most 260');
		expect((await m.call('get_campaign', { campaign_id: c.id })).fields.steps).toHaveLength(1);
	});

	it('moves campaigns through their statuses and refuses the wrong transitions', async () => {
		const { m, c } = setup();
		const ref = { campaign_id: c.id };
		expect((await rejection(m.call('pause_campaign', ref))).code).toBe('conflict');
		expect((await m.call('start_campaign', ref)).status).toBe('running');
		expect((await m.call('engine_status', {})).state).toBe('running');
		expect((await m.call('campaign_progress', ref)).queued).toBe(2);
		expect((await m.call('pause_campaign', ref)).status).toBe('paused');
		// As in the core, a pause takes back what was never tried, and resuming writes it again.
		expect((await m.call('campaign_progress', ref)).queued).toBe(0);
		expect((await m.call('start_campaign', ref)).status).toBe('running');
		expect((await m.call('campaign_progress', ref)).queued).toBe(2);
		expect((await m.call('stop_campaign', ref)).status).toBe('stopped');
		const after = await m.call('campaign_progress', ref);
		expect([after.queued, after.cancelled]).toEqual([0, 2]);
		expect((await rejection(m.call('start_campaign', ref))).code).toBe('conflict');
	});

	it('refuses to start when the pre-send check finds problems', async () => {
		const { m, c } = setup('Hi {{ first_name }}\n{{ privacy_notice }}');
		const check = await m.call('check_campaign', { campaign_id: c.id });
		expect(check.ready).toBe(false);
		expect(check.steps[0].problems[0].problem).toMatchObject({ kind: 'missing_opt_out', prospects: 2 });
		expect((await rejection(m.call('start_campaign', { campaign_id: c.id }))).code).toBe('pre_send_check');
	});

	it('writes again from a changed template what was never tried, as the core does', async () => {
		const { m, ws, c } = setup();
		const ref = { campaign_id: c.id };
		await m.call('start_campaign', ref);
		expect(m.sending.sendNext()?.status).toBe('sent');
		const tpl = c.fields.steps[0].template_ids[0];
		const save = (subject: string, name = 'T') =>
			m.call('save_template', { workspace_id: ws.id, id: tpl, name, subject, body: 'Hi {{ first_name }}\n{{ privacy_notice }}\n{{ opt_out }}' });
		expect((await save('Hello {{ company }}', 'Renamed')).rewritten).toBe(0);
		expect((await save('A new subject')).rewritten).toBe(1);
		const messages = await m.call('list_messages', { campaign_id: c.id, status: null, limit: 10 });
		const subjects = (status: string) => messages.filter((x) => x.status === status).map((x) => x.subject);
		expect(subjects('queued')).toEqual(['A new subject']);
		expect(subjects('sent')).toHaveLength(1);
		expect(subjects('sent')[0]).toMatch(/^Hello /);
	});

	it('takes back what waits for a prospect moved to the trash and queues it again on restore', async () => {
		const { m, ws, people, c } = setup();
		const ref = { campaign_id: c.id };
		await m.call('start_campaign', ref);
		await m.call('delete_prospects', { workspace_id: ws.id, ids: [people[0].id] });
		const waiting = await m.call('list_messages', { campaign_id: c.id, status: 'queued', limit: 10 });
		expect(waiting.map((x) => x.prospect_id)).toEqual([people[1].id]);
		await m.call('restore_prospects', { workspace_id: ws.id, ids: [people[0].id] });
		expect((await m.call('campaign_progress', ref)).queued).toBe(2);
	});

	it('writes again what waits for prospects a re-import fills in, and says so', async () => {
		const { m, ws, people, c } = setup();
		await m.call('start_campaign', { campaign_id: c.id });
		const before = await m.call('list_messages', { campaign_id: c.id, status: 'queued', limit: 10 });
		expect(people[0].title).toBeNull();
		m.registerFile('titles.csv', `email,title\n${people[0].email},Head of Partnerships\n${people[1].email},\n`);
		const report = await m.call('import_csv', { workspace_id: ws.id, path: 'titles.csv', columns: null });
		expect(report.notes).toEqual(['1 message(s) waiting to go to prospects this file filled in will be written again with what it added']);
		const after = await m.call('list_messages', { campaign_id: c.id, status: 'queued', limit: 10 });
		expect(after).toHaveLength(2);
		const id = (list: typeof after, who: number) => list.find((x) => x.prospect_id === who)?.id;
		expect(id(after, people[0].id)).not.toBe(id(before, people[0].id));
		expect(id(after, people[1].id)).toBe(id(before, people[1].id));
	});

	it('delivers queued messages when the engine plays', async () => {
		const { m, c } = setup();
		await m.call('start_campaign', { campaign_id: c.id });
		expect(m.sending.sendNext()?.status).toBe('sent');
		expect(m.sending.sendNext()?.status).toBe('sent');
		expect(m.sending.sendNext()).toBeNull();
		const p = await m.call('campaign_progress', { campaign_id: c.id });
		expect([p.sent, p.queued]).toEqual([2, 0]);
		expect((await m.call('get_campaign', { campaign_id: c.id })).status).toBe('completed');
	});
});

const LIA = { purpose: 'Find partners.', necessity: 'Partners publish a business contact.', balancing: 'Business context, easy opt-out.', assessed_on: '2025-01-10', author: 'Dana' };
const PEM = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n';

describe('mock consent', () => {
	it('assigns legitimate interest only under an assessment, skips what the core skips and records it', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const other = m.seedWorkspace('O');
		const [a, b, gone] = m.seedProspects(ws.id, 3, () => ({ lawful_basis: 'none' }));
		const [foreign] = m.seedProspects(other.id, 1, () => ({ lawful_basis: 'none' }));
		const refused = await rejection(m.call('assign_legitimate_interest', { workspace_id: ws.id, ids: [a.id] }));
		expect(refused.code).toBe('invalid_input');
		expect(refused.message).toContain('assessment');
		expect(m.peekProspect(a.id)?.lawful_basis).toBe('none');

		await m.call('record_assessment', { workspace_id: ws.id, assessment: LIA });
		await m.call('delete_prospects', { workspace_id: ws.id, ids: [gone.id] });
		const ids = [a.id, b.id, gone.id, foreign.id, 9999];
		expect(await m.call('assign_legitimate_interest', { workspace_id: ws.id, ids })).toBe(2);
		expect(await m.call('assign_legitimate_interest', { workspace_id: ws.id, ids })).toBe(0);
		expect([a, b, gone, foreign].map((p) => m.peekProspect(p.id)?.lawful_basis)).toEqual(['legitimate_interest', 'legitimate_interest', 'none', 'none']);
		expect(await m.call('consent_history', { id: a.id })).toMatchObject([{ kind: 'lawful_basis', lawful_basis: 'legitimate_interest', source: 'app' }]);
		expect(await m.call('consent_history', { id: gone.id })).toEqual([]);
	});

	it('records consent with its evidence, refuses none, and opts out cancelling queued messages', async () => {
		const { m, people, c } = setup();
		const [p] = people;
		expect((await rejection(m.call('record_consent', { prospect_id: p.id, evidence: '  ' }))).code).toBe('invalid_input');
		expect((await rejection(m.call('record_consent', { prospect_id: 9999, evidence: 'Form' }))).code).toBe('not_found');
		const after = await m.call('record_consent', { prospect_id: p.id, evidence: ' Signed up at the fair, 3 May. ' });
		expect(after).toMatchObject({ lawful_basis: 'consent', consent_given: true });

		await m.call('start_campaign', { campaign_id: c.id });
		expect(await m.call('opt_out_prospect', { id: p.id })).toBe(1);
		expect(m.peekProspect(p.id)?.status).toBe('unsubscribed');
		const msgs = await m.call('list_messages', { campaign_id: c.id, status: null, limit: null });
		expect(msgs.find((x) => x.prospect_id === p.id)).toMatchObject({ status: 'cancelled', last_error: 'the recipient opted out' });
		expect(msgs.find((x) => x.prospect_id === people[1].id)?.status).toBe('queued');
		const history = await m.call('consent_history', { id: p.id });
		expect(history.map((e) => [e.kind, e.evidence])).toEqual([
			['consent', 'Signed up at the fair, 3 May.'],
			['opt_out', 'opted out by a person']
		]);
		expect((await rejection(m.call('opt_out_prospect', { id: 9999 }))).code).toBe('not_found');
	});
});

describe('mock sender accounts', () => {
	it('keeps a DKIM key write-only: checked, flagged, kept when none is sent', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const a = m.sending.seedAccount(ws.id, 'A');
		const save = (over: Partial<typeof a.fields>, key: string | null) =>
			m.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, ...over }, secret: null, dkim_private_key: key, remove_dkim_key: false });

		expect((await rejection(save({ dkim_selector: null }, PEM))).message).toContain('selector');
		expect((await rejection(save({ dkim_selector: 's1' }, 'not a key'))).message).toContain('DKIM key');
		expect((await rejection(save({ dkim_selector: 's1' }, ''))).code).toBe('invalid_input');
		expect((await m.call('list_accounts', { workspace_id: ws.id }))[0]).toMatchObject({ has_dkim_key: false, fields: { dkim_selector: null } });

		const saved = await save({ dkim_selector: ' s1 ', dkim_domain: '' }, PEM);
		expect(saved).toMatchObject({ has_dkim_key: true, fields: { dkim_selector: 's1', dkim_domain: 'example.com' } });
		expect(JSON.stringify(saved)).not.toContain('BEGIN');
		expect((await save({ dkim_selector: 's2' }, null)).has_dkim_key).toBe(true);
	});

	it('takes a user name only with a password, given now or kept from before, as the API does', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const fields = { ...m.sending.seedAccount(ws.id, 'Seeded').fields, name: 'New', username: 'alex' };
		const add = (secret: string | null, username: string | null) =>
			m.call('save_account', { workspace_id: ws.id, id: null, fields: { ...fields, username }, secret, dkim_private_key: null, remove_dkim_key: false });
		expect((await rejection(add(null, 'alex'))).message).toBe('settings: a username needs a password');
		expect((await rejection(add('pw', null))).message).toBe('settings: a password needs a username');
		const a = await add('pw', 'alex');
		expect(a.has_secret).toBe(true);
		// Kept from before: the user name can change without giving the password again.
		const again = await m.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, username: 'bea' }, secret: null, dkim_private_key: null, remove_dkim_key: false });
		expect(again.fields.username).toBe('bea');
	});

	it('refuses caps and ramp-up numbers below 1, and an increase without a start', async () => {
		const m = new MockBackend();
		const ws = m.seedWorkspace('W');
		const a = m.sending.seedAccount(ws.id, 'A');
		for (const over of [{ hourly_cap: 0 }, { ramp_start: 0 }, { ramp_increase: 1.5 }, { ramp_start: null, ramp_increase: 5 }]) {
			const err = await rejection(m.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, ...over }, secret: null, dkim_private_key: null, remove_dkim_key: false }));
			expect(err.code).toBe('invalid_input');
		}
		const ok = await m.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, ramp_start: 10, ramp_increase: 5 }, secret: null, dkim_private_key: null, remove_dkim_key: false });
		expect(ok.fields).toMatchObject({ ramp_start: 10, ramp_increase: 5 });
	});
});
