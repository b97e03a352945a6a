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

	it('moves campaigns through their statuses and refuses the wrong transitions', async () => {
		const { m, c } = setup();
		const ref = { campaign_id: c.id };
		expect((await rejection(m.call('pause_campaign', ref))).code).toBe('conflict');
		expect((await m.call('start_campaign', ref)).status).toBe('running');
		expect((await m.call('engine_status', {})).state).toBe('running');
		expect((await m.call('campaign_progress', ref)).queued).toBe(2);
		expect((await m.call('pause_campaign', ref)).status).toBe('paused');
		expect((await m.call('start_campaign', ref)).status).toBe('running');
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
