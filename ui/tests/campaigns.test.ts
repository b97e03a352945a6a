import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import type { Weekday } from '$lib/generated/commands';
import { windowOpensToday } from '$lib/platform/mock-sending';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, tick, waitFor, waitForRows } from './helpers';

const GOOD_BODY = 'Hi {{ first_name }},\n\n{{ privacy_notice }}\n{{ opt_out }}';

/** A workspace ready to send: address, account (daily cap 2), a clean template, a campaign. */
function readyToSend(body = GOOD_BODY) {
	const backend = new MockBackend();
	const ws = backend.seedWorkspace('Acme client', { postal_address: 'Main St 1, Town', legal_notice: 'Acme Ltd.' });
	const people = backend.seedProspects(ws.id, 3, () => ({ status: 'qualified' }));
	const account = backend.sending.seedAccount(ws.id, 'Alex', 2);
	const tpl = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello {{ company }}', body);
	const campaign = backend.sending.seedCampaign(ws.id, {
		name: 'Spring',
		account_id: account.id,
		steps: [{ delay_business_days: 0, condition: 'always', template_ids: [tpl.id] }],
		// Open at every hour, so that what goes out today does not depend on when the test runs.
		window: { days: [...EVERY_DAY], start_minute: 0, end_minute: 1440 }
	});
	return { backend, ws, people, campaign, tpl };
}

const EVERY_DAY: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

async function openCampaigns() {
	await fireEvent.click(await screen.findByTestId('nav-campaigns'));
	await screen.findByTestId('campaign-title');
}

describe('campaigns', () => {
	it('says what a first campaign still needs, with the way to it', async () => {
		const backend = new MockBackend();
		const ws = backend.seedWorkspace('Acme client');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-campaigns'));
		const start = await screen.findByTestId('campaigns-start');
		await waitFor(() => expect(start.textContent).toContain('Still missing: add a sender account, write a template'));
		await fireEvent.click(screen.getByTestId('campaigns-go-templates'));
		await waitFor(() => expect(screen.getByTestId('nav-templates').getAttribute('aria-current')).toBe('page'));

		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', GOOD_BODY);
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		await waitFor(() => expect(screen.getByTestId('campaigns-start').textContent).toContain('Still missing: add a sender account'));
		expect(screen.queryByTestId('campaigns-go-templates')).toBeNull();
		await fireEvent.click(screen.getByTestId('campaigns-go-accounts'));
		await waitFor(() => expect(screen.getByTestId('nav-accounts').getAttribute('aria-current')).toBe('page'));

		backend.sending.seedAccount(ws.id, 'Alex');
		const loads = backend.callsOf('list_campaigns').length;
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		await waitFor(() => expect(backend.callsOf('list_campaigns').length).toBeGreaterThan(loads));
		await new Promise((r) => setTimeout(r, 20));
		expect(screen.getByTestId('campaigns-start').textContent).toContain('It sends from a sender account');
		expect(screen.getByTestId('campaigns-start').textContent).not.toContain('Still missing');
	});

	it('asks for confirmation with today’s estimate before starting', async () => {
		const { backend, people, campaign } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		renderApp(backend);
		await openCampaigns();

		await fireEvent.click(screen.getByTestId('campaign-start'));
		const dialog = await screen.findByTestId('confirm-dialog');
		// Three enrolled, but the account's daily cap is 2.
		expect(screen.getByTestId('confirm-estimate').textContent).toContain('2 messages will go out today');
		expect(backend.callsOf('start_campaign')).toHaveLength(0);

		// Cancelling starts nothing.
		await fireEvent.click([...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Cancel') as HTMLElement);
		await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
		expect(backend.callsOf('start_campaign')).toHaveLength(0);

		await fireEvent.click(screen.getByTestId('campaign-start'));
		await fireEvent.click(await screen.findByTestId('confirm-ok'));
		await waitFor(() => expect(screen.getByTestId('campaign-current-status').textContent).toBe('Running'));
		expect(backend.callsOf('start_campaign')).toEqual([{ campaign_id: campaign.id }]);
		await waitFor(() => expect(screen.getByTestId('progress-queued').textContent).toBe('3'));
		expect(screen.getByTestId('campaign-pause')).toBeTruthy();
	});

	it('shows the check’s progress and leaves prospects the gate now refuses out of the estimate', async () => {
		const { backend, people, campaign } = readyToSend();
		const [late] = backend.seedProspects(people[0].workspace_id, 1, () => ({ status: 'unsubscribed', first_name: 'Olive', last_name: 'Out' }));
		backend.sending.seedEnrolments(campaign.id, [people[0].id, late.id]);
		backend.sending.checkStepMs = 40;
		renderApp(backend);
		await openCampaigns();

		await fireEvent.click(screen.getByTestId('campaign-start'));
		const progress = await screen.findByTestId('campaign-check-progress');
		await waitFor(() => expect(progress.textContent).toMatch(/Checking every message: 1 of 2 enrolled prospects/));
		await screen.findByTestId('confirm-dialog');
		expect(screen.queryByTestId('campaign-check-progress')).toBeNull();
		const estimate = (screen.getByTestId('confirm-estimate').textContent ?? '').replace(/\s+/g, ' ');
		expect(estimate).toContain('1 message will go out today');
		expect(estimate).toContain('1 enrolled prospect is refused by the compliance gate and not counted');
		const refused = screen.getByTestId('campaign-check-refused');
		const row = refused.querySelector('[data-code="opted_out"]');
		expect(row?.textContent).toContain('Olive Out');
		expect(row?.textContent).toContain('1');

		// Starting checks again, and the dialog shows it.
		await fireEvent.click(screen.getByTestId('confirm-ok'));
		const again = await screen.findByTestId('campaign-check-progress');
		expect(again.closest('[data-testid="confirm-dialog"]')).toBeTruthy();
		await waitFor(() => expect(screen.getByTestId('campaign-current-status').textContent).toBe('Running'));
		expect(screen.queryByTestId('campaign-check-progress')).toBeNull();
	});

	it('says nothing goes out today when the send window stays closed until after tomorrow', async () => {
		const { backend, people, campaign } = readyToSend();
		// Open every day but today and tomorrow in the workspace's zone (the mock's default,
		// Europe/Berlin): whatever the hour, and even if midnight passes meanwhile.
		const day = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short' }).format(new Date());
		const today = EVERY_DAY.indexOf(day.toLowerCase().slice(0, 3) as Weekday);
		campaign.fields.window.days = EVERY_DAY.filter((_, i) => i !== today && i !== (today + 1) % 7);
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		renderApp(backend);
		await openCampaigns();

		await fireEvent.click(screen.getByTestId('campaign-check'));
		expect((await screen.findByTestId('campaign-check-result')).textContent).toContain('Nothing can go out today');
		await fireEvent.click(screen.getByTestId('campaign-start'));
		await screen.findByTestId('confirm-dialog');
		const estimate = screen.getByTestId('confirm-estimate').textContent ?? '';
		expect(estimate).toContain('Nothing will go out today');
		expect(estimate).not.toContain('0 messages');
	});

	it('models a send window in the workspace’s zone: open until its closing time on its days', () => {
		const office = { days: ['mon', 'tue', 'wed', 'thu', 'fri'] as Weekday[], start_minute: 540, end_minute: 1020 };
		// Friday 2026-12-04, 15:59 in Berlin (UTC+1): the window is still open.
		expect(windowOpensToday(office, 'Europe/Berlin', new Date('2026-12-04T14:59:00Z'))).toBe(true);
		// 17:00 in Berlin: closed for the day.
		expect(windowOpensToday(office, 'Europe/Berlin', new Date('2026-12-04T16:00:00Z'))).toBe(false);
		// 07:00 in Berlin: it opens later today.
		expect(windowOpensToday(office, 'Europe/Berlin', new Date('2026-12-04T06:00:00Z'))).toBe(true);
		// 23:30 UTC on Friday is Saturday in Berlin.
		expect(windowOpensToday(office, 'Europe/Berlin', new Date('2026-12-04T23:30:00Z'))).toBe(false);
		expect(windowOpensToday(office, 'UTC', new Date('2026-12-04T23:30:00Z'))).toBe(false);
		expect(windowOpensToday({ ...office, end_minute: 1440 }, 'UTC', new Date('2026-12-04T23:30:00Z'))).toBe(true);
	});

	it('says what holds the next message back when caps do', async () => {
		const { backend, people, campaign } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		// The mock engine has no caps; the real backend names the hold with the time.
		const real = backend.call.bind(backend);
		backend.call = (async (cmd: string, args: unknown) => {
			const result = await real(cmd as never, args as never);
			return cmd === 'campaign_progress'
				? { ...(result as object), next_send_at: '2026-12-06T00:00:00.000Z', next_send_held_by: "the campaign's daily cap" }
				: result;
		}) as typeof backend.call;
		renderApp(backend);
		await openCampaigns();

		const held = await screen.findByTestId('progress-held-by');
		expect(held.textContent).toContain("held back by the campaign's daily cap");
		expect(screen.getByTestId('progress-next').textContent).toContain('Next message:');
	});

	it('shows the pre-send problems by step and does not offer to start', async () => {
		const { backend, people, campaign } = readyToSend('Hi {{ first_name }},\n\n{{ privacy_notice }}');
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		renderApp(backend);
		await openCampaigns();

		await fireEvent.click(screen.getByTestId('campaign-start'));
		const result = await screen.findByTestId('campaign-check-result');
		expect(result.getAttribute('data-ready')).toBe('false');
		const step = screen.getByTestId('check-problems-1-A');
		expect(step.querySelector('[data-kind="missing_opt_out"]')?.textContent).toContain('3 prospects');
		expect(screen.queryByTestId('confirm-dialog')).toBeNull();
		expect(backend.callsOf('start_campaign')).toHaveLength(0);
	});

	it('previews an enrolment with refusals, then enrols', async () => {
		const { backend, ws } = readyToSend();
		backend.seedProspects(ws.id, 2, (i) => ({ status: 'qualified', email: null, first_name: `NoMail${i}` }));
		renderApp(backend);
		await openCampaigns();

		await choose(screen.getByTestId('enrol-status'), 'qualified');
		await fireEvent.click(screen.getByTestId('enrol-preview'));
		expect((await screen.findByTestId('enrol-will')).textContent).toBe('3');
		const refused = screen.getByTestId('enrol-refused');
		expect(refused.querySelector('[data-code="no_email"]')?.textContent).toContain('2');

		await fireEvent.click(screen.getByTestId('enrol-confirm'));
		await waitFor(() => expect(screen.getByTestId('progress-enrolled').textContent).toBe('3'));
		expect(backend.callsOf('enrol_prospects')).toHaveLength(1);
	});

	it('enrols the prospects a saved filter selects', async () => {
		const { backend, ws } = readyToSend();
		backend.seedProspects(ws.id, 1, () => ({ status: 'qualified', country: 'Atlantis' }));
		const saved = await backend.call('save_filter', {
			workspace_id: ws.id,
			name: 'Atlantis',
			filter: { search: null, statuses: ['qualified'], source_type: null, country: 'Atlantis', min_score: null, max_score: null }
		});
		renderApp(backend);
		await openCampaigns();

		await choose(await screen.findByTestId('enrol-saved'), String(saved.id));
		expect(screen.getByTestId('enrol-selects').textContent).toBe('Selects prospects: Qualified, in Atlantis.');
		expect(screen.queryByTestId('enrol-status')).toBeNull();
		await fireEvent.click(screen.getByTestId('enrol-preview'));
		expect((await screen.findByTestId('enrol-will')).textContent).toBe('1');
		expect(backend.callsOf('preview_enrolment').at(-1)?.query).toMatchObject({ statuses: ['qualified'], country: 'Atlantis' });
		await fireEvent.click(screen.getByTestId('enrol-confirm'));
		await waitFor(() => expect(screen.getByTestId('progress-enrolled').textContent).toBe('1'));
	});

	it('adds the prospects ticked in the table to a campaign, saying who the gate refuses', async () => {
		const { backend, ws, people, campaign } = readyToSend();
		const [nomail] = backend.seedProspects(ws.id, 1, () => ({ status: 'qualified', email: null, first_name: 'NoMail' }));
		renderApp(backend);
		await waitForRows();
		await tick(people[0].id);
		await tick(nomail.id);
		await fireEvent.click(screen.getByTestId('bulk-enrol'));
		expect(screen.getByTestId('enrol-dialog').textContent).toContain('Add 2 prospects to a campaign');
		expect((await screen.findByTestId('enrol-dialog-will')).textContent).toBe('1');
		expect(screen.getByTestId('enrol-dialog-refused').querySelector('[data-code="no_email"]')?.textContent).toContain('1');
		expect(backend.callsOf('preview_enrolment').at(-1)).toMatchObject({ campaign_id: campaign.id, query: { ids: [people[0].id, nomail.id] } });
		await fireEvent.click(screen.getByTestId('enrol-dialog-confirm'));
		await waitFor(() => expect(screen.queryByTestId('enrol-dialog')).toBeNull());
		expect(screen.getByTestId('toast-message').textContent).toBe('Enrolled 1 prospect in “Spring”.');
		await fireEvent.click(screen.getByTestId('enrol-open-campaign'));
		await waitFor(() => expect(screen.getByTestId('progress-enrolled').textContent).toBe('1'));
	});

	it('says when no campaign takes people yet', async () => {
		const { backend } = mockWithWorkspace(2);
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows[0].querySelector('[data-testid="prospect-check"]') as HTMLElement);
		await fireEvent.click(screen.getByTestId('bulk-enrol'));
		expect((await screen.findByTestId('enrol-no-campaign')).textContent).toContain('no campaign that takes people');
		expect((screen.getByTestId('enrol-dialog-confirm') as HTMLButtonElement).disabled).toBe(true);
		await fireEvent.click(screen.getByTestId('enrol-new-campaign'));
		await waitFor(() => expect(screen.getByTestId('nav-campaigns').getAttribute('aria-current')).toBe('page'));
		expect(backend.callsOf('enrol_prospects')).toEqual([]);
	});

	it('resolves unconfirmed messages through resolve_unconfirmed', async () => {
		const { backend, ws, people, campaign } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		// Messages are on the wire only in a campaign that runs (seeded as such: starting it would queue first steps).
		campaign.status = 'running';
		const [m1, m2, m3] = backend.sending.seedMessages(campaign.id, 'unconfirmed', people.map((p) => p.id));
		renderApp(backend);
		await openCampaigns();

		await waitFor(() => expect(screen.getAllByTestId('unconfirmed-row')).toHaveLength(3));
		expect(screen.getByTestId('progress-unconfirmed').textContent).toBe('3');

		const row = (id: number) => screen.getAllByTestId('unconfirmed-row').find((r) => r.getAttribute('data-id') === String(id)) as HTMLElement;
		const button = (id: number, testid: string) => row(id).querySelector(`[data-testid="${testid}"]`) as HTMLElement;

		await fireEvent.click(button(m1.id, 'unconfirmed-mark-sent'));
		await waitFor(() => expect(screen.getByTestId('progress-sent').textContent).toBe('1'));
		await fireEvent.click(button(m2.id, 'unconfirmed-resend'));
		await waitFor(() => expect(screen.getByTestId('progress-queued').textContent).toBe('1'));
		await fireEvent.click(button(m3.id, 'unconfirmed-cancel'));
		await waitFor(() => expect(screen.queryByTestId('unconfirmed-list')).toBeNull());

		expect(backend.callsOf('resolve_unconfirmed')).toEqual([
			{ workspace_id: ws.id, message_ids: [m1.id], choice: 'mark_sent' },
			{ workspace_id: ws.id, message_ids: [m2.id], choice: 'resend' },
			{ workspace_id: ws.id, message_ids: [m3.id], choice: 'cancel' }
		]);
		await waitFor(() => expect(screen.getByTestId('progress-unconfirmed').textContent).toBe('0'));
	});

	it('moves a campaign that sends nothing more to the trash, with undo, and keeps it in its people’s history', async () => {
		const { backend, people, campaign } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, [people[0].id]);
		const [m] = backend.sending.seedMessages(campaign.id, 'unconfirmed', [people[0].id]);
		await backend.call('stop_campaign', { campaign_id: campaign.id });
		renderApp(backend);
		await openCampaigns();

		// A message whose fate is unknown must be decided first.
		await fireEvent.click(screen.getByTestId('campaign-trash'));
		expect((await screen.findByTestId('campaign-action-error')).textContent).toContain('1 unconfirmed message(s); decide about them first');
		await backend.call('resolve_unconfirmed', { workspace_id: campaign.workspace_id, message_ids: [m.id], choice: 'cancel' });

		await fireEvent.click(screen.getByTestId('campaign-trash'));
		await screen.findByTestId('campaigns-start');
		expect(screen.queryAllByTestId('campaign-item')).toHaveLength(0);
		expect(screen.getByTestId('campaign-trash-list').textContent).toContain('Spring');
		const history = await backend.call('prospect_campaigns', { id: people[0].id });
		expect(history.map((e) => [e.campaign_name, e.campaign_in_trash])).toEqual([['Spring', true]]);

		await fireEvent.click(await screen.findByTestId('campaign-trash-undo'));
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Spring'));
		expect(screen.getByTestId('campaign-current-status').textContent).toBe('Stopped');
		expect(screen.queryByTestId('campaign-trash-list')).toBeNull();
	});

	it('duplicates a campaign that ended into a draft of the same sequence, and opens it', async () => {
		const { backend, people, campaign, tpl } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		await backend.call('stop_campaign', { campaign_id: campaign.id });
		renderApp(backend);
		await openCampaigns();
		expect(screen.getByTestId('campaign-current-status').textContent).toBe('Stopped');

		await fireEvent.click(screen.getByTestId('campaign-copy'));
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Copy of Spring'));
		expect(screen.getByTestId('campaign-current-status').textContent).toBe('Draft');
		expect(screen.getAllByTestId('campaign-item')).toHaveLength(2);
		expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain(
			'Made “Copy of Spring”: a draft with the same sequence and nobody enrolled.'
		);
		const copy = backend.callsOf('copy_campaign');
		expect(copy).toEqual([{ campaign_id: campaign.id, name: null }]);
		const made = (await backend.call('list_campaigns', { workspace_id: campaign.workspace_id })).find((c) => c.fields.name === 'Copy of Spring');
		expect(made?.fields.steps.map((s) => s.template_ids)).toEqual([[tpl.id]]);
		expect(await backend.call('list_enrolments', { campaign_id: made?.id ?? 0, group: null, limit: 10 })).toEqual([]);
	});

	it('lists campaigns newest first, as the store does, a copy on top', async () => {
		const { backend, ws, campaign } = readyToSend();
		backend.sending.seedCampaign(ws.id, { ...campaign.fields, name: 'Zeta' });
		const names = () => screen.getAllByTestId('campaign-item').map((i) => i.querySelector('.name')?.textContent);
		renderApp(backend);
		await openCampaigns();
		expect(names()).toEqual(['Zeta', 'Spring']);
		await fireEvent.click(screen.getAllByTestId('campaign-item')[1]);
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Spring'));
		await fireEvent.click(screen.getByTestId('campaign-copy'));
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Copy of Spring'));
		expect(names()).toEqual(['Copy of Spring', 'Zeta', 'Spring']);
		// The order the next reload brings.
		const listed = await backend.call('list_campaigns', { workspace_id: ws.id });
		expect(listed.map((c) => c.fields.name)).toEqual(names());
	});

	it('offers no trash for a campaign that may still send, and no stop for good for a draft', async () => {
		const { backend, people, campaign } = readyToSend();
		backend.sending.seedEnrolments(campaign.id, people.map((p) => p.id));
		renderApp(backend);
		await openCampaigns();
		// A draft has sent nothing: it can go to the trash (with undo), not be stopped for good.
		expect(screen.getByTestId('campaign-trash')).toBeTruthy();
		expect(screen.queryByTestId('campaign-stop')).toBeNull();
		await backend.call('start_campaign', { campaign_id: campaign.id });
		await waitFor(() => expect(screen.getByTestId('campaign-pause')).toBeTruthy());
		expect(screen.getByTestId('campaign-stop')).toBeTruthy();
		expect(screen.queryByTestId('campaign-trash')).toBeNull();
		await fireEvent.click(screen.getByTestId('campaign-pause'));
		await waitFor(() => expect(screen.getByTestId('campaign-current-status').textContent).toBe('Paused'));
		expect(screen.queryByTestId('campaign-trash')).toBeNull();
	});

	it('says which field is empty instead of sending what no campaign can hold', async () => {
		const { backend, tpl } = readyToSend();
		renderApp(backend);
		await openCampaigns();
		await fireEvent.click(screen.getByTestId('campaign-new'));
		await setValue(screen.getByTestId('campaign-name'), 'Autumn');
		await choose(screen.getByTestId('step-1-template'), String(tpl.id));
		await setValue(screen.getByTestId('step-1-delay'), '');
		await fireEvent.click(screen.getByTestId('campaign-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('Step 1: the delay must be 0 or more');

		await setValue(screen.getByTestId('step-1-delay'), '0');
		await setValue(screen.getByTestId('campaign-gap-max'), '');
		await fireEvent.click(screen.getByTestId('campaign-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('gap between sends');
		// Neither reached the backend, which would have refused a malformed call.
		expect(backend.callsOf('save_campaign')).toHaveLength(0);

		await setValue(screen.getByTestId('campaign-gap-max'), '300');
		await fireEvent.click(screen.getByTestId('campaign-save'));
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Autumn'));
		expect(backend.callsOf('save_campaign')).toHaveLength(1);
	});

	it('creates a campaign from the editor and shows validation inline', async () => {
		const { backend, tpl } = readyToSend();
		renderApp(backend);
		await openCampaigns();
		await fireEvent.click(screen.getByTestId('campaign-new'));
		await setValue(screen.getByTestId('campaign-name'), 'spring');
		await fireEvent.click(screen.getByTestId('campaign-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('already exists');

		await setValue(screen.getByTestId('campaign-name'), 'Autumn');
		await fireEvent.click(screen.getByTestId('window-day-sat'));
		await fireEvent.click(screen.getByTestId('campaign-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('needs a template');

		await choose(screen.getByTestId('step-1-template'), String(tpl.id));
		// The answer to interested replies: no template leaves nothing to choose about how it leaves.
		expect(screen.getByTestId('campaign-positive-queue').matches(':disabled')).toBe(true);
		await choose(screen.getByTestId('campaign-positive-template'), String(tpl.id));
		expect((screen.getByTestId('campaign-positive-draft') as HTMLInputElement).checked).toBe(true);
		await fireEvent.click(screen.getByTestId('campaign-positive-queue'));
		await fireEvent.click(screen.getByTestId('campaign-save'));
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toBe('Autumn'));
		const saved = backend.callsOf('save_campaign').at(-1);
		expect(saved?.fields.window.days).toEqual(['mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
		expect(saved?.fields.steps).toEqual([{ delay_business_days: 0, condition: 'always', template_ids: [tpl.id] }]);
		expect(saved?.fields.positive_follow_up).toEqual({ template_id: tpl.id, mode: 'queue' });
	});
});

describe('sending settings', () => {
	it('saves the sending settings and the assessment, with validation inline', async () => {
		const { backend, ws } = readyToSend();
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await waitFor(() => expect((screen.getByTestId('sending-time-zone') as HTMLInputElement).value).toBe('Europe/Berlin'));
		await setValue(screen.getByTestId('sending-consent-countries'), 'de, Germany');
		await fireEvent.click(screen.getByTestId('sending-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('GERMANY');

		await setValue(screen.getByTestId('sending-consent-countries'), 'de, at');
		await fireEvent.click(screen.getByTestId('sending-save'));
		await waitFor(() => expect((screen.getByTestId('sending-consent-countries') as HTMLInputElement).value).toBe('DE, AT'));

		await setValue(screen.getByTestId('lia-purpose'), 'Find affiliate partners.');
		await setValue(screen.getByTestId('lia-necessity'), 'Partners publish their business contact.');
		await setValue(screen.getByTestId('lia-balancing'), 'Business context; easy opt-out.');
		await setValue(screen.getByTestId('lia-author'), 'Dana');
		await fireEvent.click(screen.getByTestId('lia-save'));
		await waitFor(() => expect(screen.getByTestId('lia-status').textContent).toContain('Dana'));
		expect(await backend.call('get_assessment', { workspace_id: ws.id })).toMatchObject({ author: 'Dana' });
	});
});
