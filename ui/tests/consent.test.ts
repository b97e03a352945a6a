import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { choose, fireEvent, prospectRow as row, renderApp, screen, setValue, tick, waitFor, waitForRows } from './helpers';

const LIA = {
	purpose: 'Find affiliate partners.',
	necessity: 'Partners publish a business contact.',
	balancing: 'Business context; easy opt-out.',
	assessed_on: '2025-01-10',
	author: 'Dana'
};

/** A workspace whose prospects have no lawful basis yet; with its assessment unless told. */
async function setup(count = 4, assessed = true) {
	const backend = new MockBackend();
	const ws = backend.seedWorkspace('Acme client', { postal_address: 'Main St 1' });
	const people = backend.seedProspects(ws.id, count, () => ({ lawful_basis: 'none' }));
	if (assessed) await backend.call('record_assessment', { workspace_id: ws.id, assessment: LIA });
	return { backend, ws, people };
}

async function openDetail(id: number) {
	await fireEvent.click(row(id));
	await waitFor(() => expect(screen.getByTestId('detail-lawful-basis')).toBeTruthy());
}

describe('bulk lawful basis', () => {
	it('is disabled with an explanation until an assessment exists, then assigns and says how many changed', async () => {
		const { backend, ws, people } = await setup(4, false);
		renderApp(backend, { toastMs: 60_000 });
		await waitForRows();
		expect(screen.queryByTestId('bulk-bar')).toBeNull();

		await tick(people[0].id);
		await tick(people[1].id);
		// Ticking does not open the detail.
		expect(screen.queryByTestId('prospect-detail')).toBeNull();
		expect(screen.getByTestId('bulk-count').textContent).toBe('2 selected');
		const button = screen.getByTestId('bulk-assign-li') as HTMLButtonElement;
		await waitFor(() => expect(screen.getByTestId('bulk-assign-li-why').textContent).toContain('No legitimate-interest assessment'));
		expect(button.disabled).toBe(true);
		expect(button.getAttribute('aria-describedby')).toBe('bulk-li-why');
		await fireEvent.click(button);
		expect(backend.callsOf('assign_legitimate_interest')).toHaveLength(0);

		// Recording the assessment (here, as the CLI would) enables it.
		await backend.call('record_assessment', { workspace_id: ws.id, assessment: LIA });
		await waitFor(() => expect(button.disabled).toBe(false));
		expect(screen.queryByTestId('bulk-assign-li-why')).toBeNull();
		await fireEvent.click(button);
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Legitimate interest assigned to 2 prospects.'));
		expect(backend.callsOf('assign_legitimate_interest')).toEqual([{ workspace_id: ws.id, ids: [people[0].id, people[1].id] }]);
		expect(people.map((p) => backend.peekProspect(p.id)?.lawful_basis)).toEqual(['legitimate_interest', 'legitimate_interest', 'none', 'none']);

		// Again with one more: only that one changes, and the message says so.
		await tick(people[2].id);
		await fireEvent.click(button);
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe(
				'Legitimate interest assigned to 1 prospect; 2 already had it or could not be changed.'
			)
		);
	});

	it('offers the way to the assessment in Settings', async () => {
		const { backend, people } = await setup(2, false);
		renderApp(backend);
		await waitForRows();
		await tick(people[0].id);
		await fireEvent.click(await screen.findByTestId('bulk-open-settings'));
		expect(await screen.findByTestId('lia-purpose')).toBeTruthy();
	});

	it('shows an error in the banner and changes nothing', async () => {
		const { backend, people } = await setup(3);
		renderApp(backend);
		await waitForRows();
		await tick(people[0].id);
		await tick(people[2].id);
		const button = screen.getByTestId('bulk-assign-li') as HTMLButtonElement;
		await waitFor(() => expect(button.disabled).toBe(false));
		backend.failNext('assign_legitimate_interest', { code: 'storage', message: 'The database is locked.' });
		await fireEvent.click(button);
		const banner = await screen.findByTestId('error-banner');
		expect(banner.textContent).toContain('The database is locked.');
		expect(banner.dataset.code).toBe('storage');
		expect(screen.queryByTestId('toast')).toBeNull();
		expect(people.map((p) => backend.peekProspect(p.id)?.lawful_basis)).toEqual(['none', 'none', 'none']);
		expect(screen.getByTestId('bulk-count').textContent).toBe('2 selected');
	});

	it('counts a large selection with digit grouping', async () => {
		const { backend } = await setup(1250);
		renderApp(backend);
		await waitForRows();
		expect(screen.getByTestId('prospect-total').textContent).toBe(`${(1250).toLocaleString()} prospects`);
		await fireEvent.click(screen.getByTestId('prospect-check-all'));
		expect(screen.getByTestId('bulk-select-all').textContent).toBe(`Select all ${(1250).toLocaleString()} matching`);
		await fireEvent.click(screen.getByTestId('bulk-select-all'));
		await waitFor(() => expect(screen.getByTestId('bulk-count').textContent).toBe(`${(1250).toLocaleString()} selected`));
	});

	it('ticks the loaded rows, then every matching row, and forgets the ticks when the filter changes', async () => {
		const { backend, ws } = await setup(250);
		renderApp(backend);
		await waitForRows();
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('250'));
		await fireEvent.click(screen.getByTestId('prospect-check-all'));
		expect(screen.getByTestId('bulk-count').textContent).toBe('200 selected');
		expect(screen.getAllByTestId('prospect-check').every((c) => (c as HTMLInputElement).checked)).toBe(true);

		await fireEvent.click(screen.getByTestId('bulk-select-all'));
		await waitFor(() => expect(screen.getByTestId('bulk-count').textContent).toBe('250 selected'));
		expect(screen.queryByTestId('bulk-select-all')).toBeNull();
		await fireEvent.click(screen.getByTestId('bulk-assign-li'));
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Legitimate interest assigned to 250 prospects.'));
		expect(backend.callsOf('assign_legitimate_interest')[0].ids).toHaveLength(250);
		expect(backend.callsOf('assign_legitimate_interest')[0].workspace_id).toBe(ws.id);

		await fireEvent.click(screen.getByTestId('bulk-clear'));
		expect(screen.queryByTestId('bulk-bar')).toBeNull();

		// Space on the selected row ticks it; a new filter clears the ticks.
		const grid = screen.getByTestId('prospect-viewport');
		await fireEvent.keyDown(grid, { key: 'Home' });
		await fireEvent.keyDown(grid, { key: ' ' });
		expect(screen.getByTestId('bulk-count').textContent).toBe('1 selected');
		await choose(screen.getByTestId('filter-status'), 'contacted');
		await waitFor(() => expect(screen.queryByTestId('bulk-bar')).toBeNull());
	});
});

describe('consent in the prospect detail', () => {
	it('records consent with its evidence, which is required, and lists it in the history', async () => {
		const { backend, people } = await setup(2);
		const [p] = people;
		renderApp(backend, { toastMs: 60_000 });
		await waitForRows();
		await openDetail(p.id);
		const history = screen.getByTestId('consent-history');
		await waitFor(() => expect(history.dataset.empty).toBe('true'));
		expect(screen.getByTestId('detail-lawful-basis').textContent).toContain('None recorded');

		// No evidence: nothing is sent.
		await fireEvent.click(screen.getByTestId('consent-record'));
		expect((await screen.findByTestId('consent-error')).textContent).toContain('what was agreed, when and how');
		expect(backend.callsOf('record_consent')).toHaveLength(0);

		await setValue(screen.getByTestId('consent-evidence'), '  Ticked “partner offers” on the sign-up form, 3 May.  ');
		await fireEvent.click(screen.getByTestId('consent-record'));
		await waitFor(() => expect(screen.getByTestId('detail-lawful-basis').dataset.basis).toBe('consent'));
		expect(backend.callsOf('record_consent')).toEqual([{ prospect_id: p.id, evidence: 'Ticked “partner offers” on the sign-up form, 3 May.' }]);
		expect(screen.getByTestId('detail-lawful-basis').textContent).toContain('consent given');
		expect(screen.queryByTestId('consent-error')).toBeNull();
		expect((screen.getByTestId('consent-evidence') as HTMLTextAreaElement).value).toBe('');
		expect(screen.getByTestId('toast-message').textContent).toContain('Consent of');

		await waitFor(() => expect(screen.getAllByTestId('consent-event')).toHaveLength(1));
		const ev = screen.getByTestId('consent-event');
		expect(ev.dataset.kind).toBe('consent');
		expect(ev.querySelector('[data-testid="consent-event-kind"]')?.textContent).toBe('Consent recorded');
		expect(ev.querySelector('[data-testid="consent-event-evidence"]')?.textContent).toBe('Ticked “partner offers” on the sign-up form, 3 May.');
		const [stored] = await backend.call('consent_history', { id: p.id });
		const at = ev.querySelector('time');
		expect(at?.getAttribute('datetime')).toBe(stored.at);
		expect(at?.textContent).toBe(new Date(stored.at).toLocaleString());
	});

	it('keeps the evidence and changes nothing when recording fails', async () => {
		const { backend, people } = await setup(1);
		const [p] = people;
		renderApp(backend);
		await waitForRows();
		await openDetail(p.id);
		await setValue(screen.getByTestId('consent-evidence'), 'Said yes on the phone.');

		// An input error is shown next to the form...
		backend.failNext('record_consent', { code: 'invalid_input', message: 'Consent needs its evidence (what was agreed, when and how).' });
		await fireEvent.click(screen.getByTestId('consent-record'));
		expect((await screen.findByTestId('consent-error')).textContent).toBe('Consent needs its evidence (what was agreed, when and how).');
		expect(screen.queryByTestId('error-banner')).toBeNull();

		// ...any other in the banner.
		backend.failNext('record_consent', { code: 'storage', message: 'The database is locked.' });
		await fireEvent.click(screen.getByTestId('consent-record'));
		expect((await screen.findByTestId('error-banner')).textContent).toContain('The database is locked.');

		expect((screen.getByTestId('consent-evidence') as HTMLTextAreaElement).value).toBe('Said yes on the phone.');
		expect(screen.getByTestId('detail-lawful-basis').dataset.basis).toBe('none');
		expect(backend.peekProspect(p.id)).toMatchObject({ lawful_basis: 'none', consent_given: false });
		expect(screen.getByTestId('consent-history').dataset.empty).toBe('true');
	});

	it('lists the whole history newest first, with dates', async () => {
		const { backend, ws, people } = await setup(1);
		const [p] = people;
		await backend.call('assign_legitimate_interest', { workspace_id: ws.id, ids: [p.id] });
		await backend.call('record_consent', { prospect_id: p.id, evidence: 'Signed at the fair.' });
		renderApp(backend);
		await waitForRows();
		await openDetail(p.id);
		await waitFor(() => expect(screen.getAllByTestId('consent-event').map((e) => e.dataset.kind)).toEqual(['consent', 'lawful_basis']));
		const [, li] = screen.getAllByTestId('consent-event');
		expect(li.textContent).toContain('Lawful basis set');
		expect(li.textContent).toContain('(Legitimate interest)');
		expect(li.querySelector('time')?.getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
	});

	it('opts out only after a confirmation that says what happens', async () => {
		const { backend, ws, people } = await setup(2);
		const [p, other] = people;
		const campaign = backend.sending.seedCampaign(ws.id, { name: 'Spring' });
		backend.sending.seedMessages(campaign.id, 'queued', [p.id, p.id, other.id]);
		renderApp(backend, { toastMs: 60_000 });
		await waitForRows();
		await openDetail(p.id);

		await fireEvent.click(screen.getByTestId('prospect-opt-out'));
		const dialog = await screen.findByTestId('opt-out-dialog');
		const says = screen.getByTestId('opt-out-consequences').textContent ?? '';
		expect(says).toContain('Unsubscribed');
		expect(says).toContain('suppressed');
		expect(says).toContain('queued messages are cancelled');
		expect(dialog.getAttribute('role')).toBe('dialog');
		// The safe choice has the focus.
		expect(document.activeElement).toBe(screen.getByTestId('opt-out-cancel'));

		await fireEvent.click(screen.getByTestId('opt-out-cancel'));
		await waitFor(() => expect(screen.queryByTestId('opt-out-dialog')).toBeNull());
		expect(backend.callsOf('opt_out_prospect')).toHaveLength(0);

		await fireEvent.click(screen.getByTestId('prospect-opt-out'));
		await fireEvent.click(await screen.findByTestId('opt-out-confirm'));
		await waitFor(() => expect(screen.queryByTestId('opt-out-dialog')).toBeNull());
		expect(backend.callsOf('opt_out_prospect')).toEqual([{ id: p.id }]);
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toContain('opted out; 2 queued messages cancelled.'));
		// The form follows the new status without counting it as an unsaved edit.
		await waitFor(() => expect((screen.getByTestId('edit-status') as HTMLSelectElement).value).toBe('unsubscribed'));
		expect((screen.getByTestId('detail-save') as HTMLButtonElement).disabled).toBe(true);
		// And it stays: no other status can be given them by hand.
		expect((screen.getByTestId('edit-status') as HTMLSelectElement).disabled).toBe(true);
		await waitFor(() => expect(screen.getAllByTestId('consent-event').map((e) => e.dataset.kind)).toEqual(['opt_out']));
		// Said once, for good: the details say so instead of offering it again.
		await waitFor(() => expect(screen.getByTestId('detail-objection').textContent).toContain('no campaign reaches them'));
		expect(screen.queryByTestId('prospect-opt-out')).toBeNull();
		await waitFor(() => expect(row(p.id).querySelector('[data-testid="cell-status"]')?.textContent).toContain('Unsubscribed'));
		const messages = await backend.call('list_messages', { campaign_id: campaign.id, status: null, limit: null });
		expect(messages.map((m) => m.status)).toEqual(['cancelled', 'cancelled', 'queued']);
	});

	it('shows a failed opt-out in the banner and changes nothing', async () => {
		const { backend, people } = await setup(1);
		const [p] = people;
		renderApp(backend);
		await waitForRows();
		await openDetail(p.id);
		await waitFor(() => expect(screen.getByTestId('consent-history').dataset.empty).toBe('true'));
		backend.failNext('opt_out_prospect', { code: 'storage', message: 'The database is locked.' });
		await fireEvent.click(screen.getByTestId('prospect-opt-out'));
		await fireEvent.click(await screen.findByTestId('opt-out-confirm'));
		expect((await screen.findByTestId('error-banner')).textContent).toContain('The database is locked.');
		expect(screen.queryByTestId('opt-out-dialog')).toBeNull();
		expect(screen.queryByTestId('toast')).toBeNull();
		expect(backend.peekProspect(p.id)?.status).toBe('new');
		expect((screen.getByTestId('edit-status') as HTMLSelectElement).value).toBe('new');
		expect(screen.getByTestId('consent-history').dataset.empty).toBe('true');
	});

	it('offers only the opt-out for a prospect in the trash', async () => {
		const { backend, ws, people } = await setup(1);
		await backend.call('delete_prospects', { workspace_id: ws.id, ids: [people[0].id] });
		renderApp(backend);
		await screen.findByTestId('prospect-empty');
		await fireEvent.click(screen.getByTestId('show-trash'));
		await waitFor(() => expect(screen.getAllByTestId('prospect-row').map((r) => r.dataset.id)).toEqual([String(people[0].id)]));
		await openDetail(people[0].id);
		expect(screen.queryByTestId('consent-evidence')).toBeNull();
		expect(screen.getByTestId('prospect-opt-out')).toBeTruthy();
		// No bulk actions in the trash.
		await tick(people[0].id);
		expect(screen.queryByTestId('bulk-bar')).toBeNull();
	});
});
