import { describe, expect, it } from 'vitest';
import { campaignReady, fireEvent, renderApp, screen, waitFor, waitForRows } from '../../../tests/helpers';

describe("a prospect's data at their request", () => {
	it('exports their whole record to the file chosen', async () => {
		const { backend, ws, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const ada = people[0];
		await backend.call('record_consent', { prospect_id: ada.id, evidence: 'Signed up at the fair, 2026-11-20' });
		backend.pickSaveResult = '/home/dana/ada.json';
		renderApp(backend, { toastMs: 60_000 });
		const rows = await waitForRows();
		await fireEvent.click(rows.find((r) => r.dataset.id === String(ada.id)) as HTMLElement);
		await fireEvent.click(await screen.findByTestId('detail-export'));
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toContain('Wrote their personal data to /home/dana/ada.json'));
		const record = JSON.parse(backend.files.get('/home/dana/ada.json') ?? '{}');
		expect(record.prospect.id).toBe(ada.id);
		expect(record.consent_history.map((e: { kind: string }) => e.kind)).toContain('consent');
		expect(record.campaigns.map((e: { campaign_name: string }) => e.campaign_name)).toEqual(['Launch']);
		const audit = await backend.call('list_audit', { workspace_id: ws.id, limit: 5, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit[0].action).toBe('prospect.export');

		// Cancelled in the file dialog: nothing is written.
		backend.pickSaveResult = null;
		await fireEvent.click(screen.getByTestId('detail-export'));
		expect(backend.callsOf('export_personal_data')).toHaveLength(1);
	});
});

describe('how long a prospect is kept', () => {
	it("says when they are erased unless they reply, by the workspace's retention", async () => {
		const { backend, ws, people } = campaignReady();
		await backend.call('set_retention', { workspace_id: ws.id, months: 24 });
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows.find((r) => r.dataset.id === String(people[0].id)) as HTMLElement);
		const kept = await screen.findByTestId('detail-retention');
		const ends = new Date(people[0].created_at);
		ends.setUTCMonth(ends.getUTCMonth() + 24);
		expect(kept.textContent).toContain(`Erased on ${ends.toLocaleDateString()}`);
		expect(kept.textContent).toContain('keeps people 24 months after their last reply');
	});
});

describe('erasing a prospect', () => {
	it('names what goes, waits for the acknowledgement, and leaves nothing of them behind', async () => {
		const { backend, ws, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const ada = people[0];
		await backend.call('record_consent', { prospect_id: ada.id, evidence: 'Signed up at the fair, 2026-11-20' });
		renderApp(backend);
		const rows = await waitForRows();
		const open = async () => {
			await fireEvent.click(rows.find((r) => r.dataset.id === String(ada.id)) as HTMLElement);
			await fireEvent.click(await screen.findByTestId('detail-erase'));
			return screen.findByTestId('erase-dialog');
		};

		await open();
		const summary = await screen.findByTestId('erase-summary');
		expect(summary.textContent).toContain('1 message to them (1 still queued, which will not go out)');
		expect(summary.textContent).toContain('1 place in a campaign');
		expect(summary.textContent).toContain('1 consent record');
		const confirm = screen.getByTestId('erase-confirm') as HTMLButtonElement;
		expect(confirm.disabled).toBe(true);
		// Cancelled: nothing changes.
		await fireEvent.click(screen.getByText('Cancel'));
		expect(screen.queryByTestId('erase-dialog')).toBeNull();
		expect((await backend.call('get_prospect', { id: ada.id })).id).toBe(ada.id);

		await fireEvent.click(screen.getByTestId('detail-erase'));
		await screen.findByTestId('erase-summary');
		await fireEvent.click(screen.getByTestId('erase-understood'));
		await fireEvent.click(screen.getByTestId('erase-confirm'));
		await waitFor(() => expect(screen.queryByTestId('prospect-detail')).toBeNull());
		expect(screen.queryByTestId('erase-dialog')).toBeNull();
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toBe('3 prospects'));
		await expect(backend.call('get_prospect', { id: ada.id })).rejects.toMatchObject({ code: 'not_found' });
		expect(await backend.call('consent_history', { id: ada.id }).catch(() => [])).toEqual([]);
		const progress = await backend.call('campaign_progress', { campaign_id: c.id });
		expect(progress.enrolled).toBe(3);
		const audit = await backend.call('list_audit', { workspace_id: ws.id, limit: 5, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit[0].action).toBe('prospect.erase');
	});

	it('takes with them a saved search that finds them by name, and leaves the others', async () => {
		const { backend, ws, people } = campaignReady();
		const ada = people[0];
		const search = (ada.last_name ?? ada.first_name ?? '').slice(0, 4);
		expect(search).not.toBe('');
		const none = { search: null, statuses: [], source_type: null, country: null, min_score: null, max_score: null };
		await backend.call('save_filter', { workspace_id: ws.id, name: 'Her', filter: { ...none, search } });
		await backend.call('save_filter', { workspace_id: ws.id, name: 'Qualified', filter: { ...none, statuses: ['qualified'] } });
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows.find((r) => r.dataset.id === String(ada.id)) as HTMLElement);
		await fireEvent.click(await screen.findByTestId('detail-erase'));
		const summary = await screen.findByTestId('erase-summary');
		expect(summary.textContent).toContain('and 1 saved filter whose search finds them by name');
		await fireEvent.click(screen.getByTestId('erase-understood'));
		await fireEvent.click(screen.getByTestId('erase-confirm'));
		await waitFor(() => expect(screen.queryByTestId('erase-dialog')).toBeNull());
		const left = await backend.call('list_filters', { workspace_id: ws.id });
		expect(left.map((f) => f.name)).toEqual(['Qualified']);
		const audit = await backend.call('list_audit', { workspace_id: ws.id, limit: 1, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit[0].summary).toContain('1 saved filter(s) whose search found them by name');
	});

	it('refuses ids of another workspace and erases nothing', async () => {
		const { backend, ws, people } = campaignReady();
		const other = backend.seedWorkspace('Other client');
		const [stranger] = backend.seedProspects(other.id, 1);
		await expect(backend.call('erase_prospects', { workspace_id: ws.id, ids: [people[0].id, stranger.id] })).rejects.toMatchObject({
			code: 'not_found'
		});
		expect((await backend.call('get_prospect', { id: people[0].id })).id).toBe(people[0].id);
	});
});

describe('erasing a selection', () => {
	it('erases the people chosen, after the same acknowledgement, and leaves the others', async () => {
		const { backend, people } = campaignReady();
		renderApp(backend);
		const rows = await waitForRows();
		const chosen = [people[0], people[2]];
		for (const p of chosen) {
			const row = rows.find((r) => r.dataset.id === String(p.id)) as HTMLElement;
			await fireEvent.click(row.querySelector('[data-testid="prospect-check"]') as HTMLElement);
		}
		expect(screen.getByTestId('bulk-count').textContent).toBe('2 selected');
		await fireEvent.click(screen.getByTestId('bulk-erase'));
		const dialog = await screen.findByTestId('erase-dialog');
		expect(dialog.textContent).toContain('Erase 2 prospects for good?');
		expect((await screen.findByTestId('erase-summary')).textContent).toContain('2 places in campaigns');
		expect(dialog.textContent).toMatch(/the\s+audit log keeps their prospect numbers/);
		expect((screen.getByTestId('erase-confirm') as HTMLButtonElement).disabled).toBe(true);
		await fireEvent.click(screen.getByTestId('erase-understood'));
		await fireEvent.click(screen.getByTestId('erase-confirm'));
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Erased 2 prospects.'));
		await waitFor(() => expect(screen.getAllByTestId('prospect-row')).toHaveLength(2));
		expect(screen.queryByTestId('bulk-bar')).toBeNull();
		for (const p of chosen) await expect(backend.call('get_prospect', { id: p.id })).rejects.toMatchObject({ code: 'not_found' });
		expect((await backend.call('get_prospect', { id: people[1].id })).id).toBe(people[1].id);
	});
});
