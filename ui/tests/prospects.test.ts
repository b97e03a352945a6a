import { describe, expect, it } from 'vitest';
import { FALLBACK_HEIGHT, PAGE_SIZE, ROW_HEIGHT } from '$lib/components/ProspectTable.svelte';
import { campaignReady, choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, tick, waitFor, waitForRows } from './helpers';

function rowIds(): number[] {
	return screen.getAllByTestId('prospect-row').map((r) => Number(r.dataset.id));
}

describe('prospect table', () => {
	it('renders only a window of rows for 10,000 prospects and fetches pages on demand', async () => {
		const { backend } = mockWithWorkspace(10_000);
		renderApp(backend);
		await waitForRows();
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain(`${(10_000).toLocaleString()} prospects`));
		const rendered = screen.getAllByTestId('prospect-row').length;
		expect(rendered).toBeGreaterThan(10);
		expect(rendered).toBeLessThan(Math.ceil(FALLBACK_HEIGHT / ROW_HEIGHT) + 20);
		const calls = backend.callsOf('list_prospects');
		expect(calls.every((c) => c.limit === PAGE_SIZE)).toBe(true);
		expect(calls.map((c) => c.offset)).toEqual([0]);

		// Scroll far down: the window moves and only the page needed is fetched.
		const viewport = screen.getByTestId('prospect-viewport');
		Object.defineProperty(viewport, 'scrollTop', { configurable: true, value: 5000 * ROW_HEIGHT, writable: true });
		await fireEvent.scroll(viewport);
		await waitFor(() => {
			const indices = screen.getAllByTestId('prospect-row').map((r) => Number(r.dataset.index));
			expect(indices).toContain(5000);
		});
		expect(screen.getAllByTestId('prospect-row').length).toBeLessThan(60);
		const offsets = backend.callsOf('list_prospects').map((c) => c.offset);
		expect(offsets).toContain(5000);
		expect(offsets).not.toContain(2000);
		// The rows are positioned where the spacer says they are.
		const row = screen.getAllByTestId('prospect-row').find((r) => r.dataset.index === '5000');
		expect(row?.style.top).toBe(`${5000 * ROW_HEIGHT}px`);
	});

	it('searches (debounced), filters and sorts through the backend', async () => {
		const { backend, ws } = mockWithWorkspace(50);
		backend.seedProspects(ws.id, 1, () => ({ first_name: 'Zelda', last_name: 'Quartz', country: 'Japan' }));
		renderApp(backend);
		await waitForRows();

		await setValue(screen.getByTestId('search'), 'zeld');
		await waitFor(() => expect(rowIds()).toHaveLength(1));
		expect(screen.getByTestId('cell-name').textContent).toBe('Zelda Quartz');
		expect(backend.callsOf('list_prospects').at(-1)?.search).toBe('zeld');
		await setValue(screen.getByTestId('search'), '');
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('51'));

		await waitFor(() =>
			expect([...(screen.getByTestId('filter-country') as HTMLSelectElement).options].map((o) => o.value)).toContain('Japan')
		);
		await choose(screen.getByTestId('filter-country'), 'Japan');
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('1'));
		expect(backend.callsOf('list_prospects').at(-1)?.country).toBe('Japan');
		await choose(screen.getByTestId('filter-country'), 'all');

		await choose(screen.getByTestId('filter-status'), 'contacted');
		await waitFor(() => expect(backend.callsOf('list_prospects').at(-1)?.statuses).toEqual(['contacted']));
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('0'));
		await choose(screen.getByTestId('filter-status'), 'all');

		await setValue(screen.getByTestId('filter-min-score'), '40');
		await waitFor(() => expect(backend.callsOf('list_prospects').at(-1)?.min_score).toBe(40));
		await setValue(screen.getByTestId('filter-min-score'), '');
		await waitFor(() => expect(backend.callsOf('list_prospects').at(-1)?.min_score).toBeNull());

		await fireEvent.click(screen.getByTestId('sort-name'));
		await waitFor(() => expect(backend.callsOf('list_prospects').at(-1)).toMatchObject({ sort: 'name', descending: false }));
		await waitFor(() => expect(screen.getAllByTestId('cell-name')[0].textContent).toBe('Anna Becker'));
		await fireEvent.click(screen.getByTestId('sort-name'));
		await waitFor(() => expect(backend.callsOf('list_prospects').at(-1)).toMatchObject({ sort: 'name', descending: true }));
		await waitFor(() => expect(screen.getAllByTestId('cell-name')[0].textContent).toBe('Zelda Quartz'));
	});

	it('focuses the search with "/" (Ctrl+K being the app-wide palette)', async () => {
		const { backend } = mockWithWorkspace(3);
		renderApp(backend);
		await waitForRows();
		await fireEvent.keyDown(window, { key: '/' });
		expect(document.activeElement).toBe(screen.getByTestId('search'));
	});

	it('moves the selection with the arrow keys and opens the detail with Enter', async () => {
		const { backend } = mockWithWorkspace(20);
		renderApp(backend);
		await waitForRows();
		const grid = screen.getByTestId('prospect-viewport');
		grid.focus();
		await fireEvent.keyDown(grid, { key: 'ArrowDown' });
		await fireEvent.keyDown(grid, { key: 'ArrowDown' });
		await fireEvent.keyDown(grid, { key: 'ArrowDown' });
		await fireEvent.keyDown(grid, { key: 'ArrowUp' });
		const selected = screen.getAllByTestId('prospect-row').filter((r) => r.getAttribute('aria-selected') === 'true');
		expect(selected.map((r) => r.dataset.index)).toEqual(['1']);
		await fireEvent.keyDown(grid, { key: 'Enter' });
		const name = await screen.findByTestId('detail-name');
		expect(name.textContent).toBe(selected[0].querySelector('[data-testid="cell-name"]')?.textContent);
	});

	it('says when an edit writes again the messages waiting to go to the prospect', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		renderApp(backend);
		const rows = await waitForRows();
		const row = rows.find((r) => Number(r.dataset.id) === people[0].id);
		if (!row) throw new Error('the first prospect is listed');
		await fireEvent.click(row);
		await waitFor(() => expect((screen.getByTestId('edit-company') as HTMLInputElement).value).not.toBe(''));
		await setValue(screen.getByTestId('edit-company'), 'Renamed Co');
		await fireEvent.click(screen.getByTestId('detail-save'));
		await waitFor(() =>
			expect(screen.getByTestId('toast').textContent).toContain('1 message waiting to go to them is written again with the new details.')
		);
		// Written again at once by the engine, with the new company.
		const queued = await backend.call('list_messages', { campaign_id: c.id, status: 'queued', limit: 10 });
		expect(queued.filter((m) => m.prospect_id === people[0].id)).toHaveLength(1);
	});

	it('says when scoring writes again the messages waiting to go to those whose score changed', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const waiting = (await backend.call('list_messages', { campaign_id: c.id, status: 'queued', limit: 10 })).length;
		expect(waiting).toBe(people.length);
		renderApp(backend);
		await waitForRows();
		await fireEvent.click(screen.getByTestId('score-run'));
		await waitFor(() =>
			expect(screen.getByTestId('toast').textContent).toContain(
				`${waiting} messages waiting to go to those whose score changed are written again with the new score.`
			)
		);
		// Scoring again changes no score: nothing is written again.
		await fireEvent.click(screen.getByTestId('score-run'));
		await waitFor(() => expect(screen.getByTestId('toast').textContent).not.toContain('written again'));
		expect(screen.getByTestId('toast').textContent).toContain(`Scored ${people.length}:`);
	});

	it('sends only the changed fields when saving the detail, and shows invalid input inline', async () => {
		const { backend } = mockWithWorkspace(5);
		renderApp(backend);
		const rows = await waitForRows();
		const id = Number(rows[0].dataset.id);
		await fireEvent.click(rows[0]);
		await screen.findByTestId('prospect-detail');
		await waitFor(() => expect((screen.getByTestId('edit-company') as HTMLInputElement).value).not.toBe(''));

		await setValue(screen.getByTestId('edit-company'), 'Renamed Co');
		await setValue(screen.getByTestId('edit-followers'), '2.5k');
		// A review's outcomes (and the status they have): an opt-out alone unsubscribes.
		const offered = [...(screen.getByTestId('edit-status') as HTMLSelectElement).options].map((o) => o.value);
		expect(offered).toContain('converted');
		expect(offered).not.toContain('unsubscribed');
		await choose(screen.getByTestId('edit-status'), 'converted');
		await fireEvent.click(screen.getByTestId('detail-save'));
		await waitFor(() => expect(backend.callsOf('update_prospect')).toHaveLength(1));
		expect(backend.callsOf('update_prospect')[0]).toEqual({
			id,
			patch: {
				first_name: null,
				last_name: null,
				email: null,
				website: null,
				x_handle: null,
				linkedin_url: null,
				company: 'Renamed Co',
				title: null,
				country: null,
				time_zone: null,
				followers: '2.5k',
				notes: null,
				status: 'converted'
			}
		});
		expect(backend.peekProspect(id)?.followers).toBe(2500);
		await waitFor(() => expect(rows[0].isConnected && screen.getAllByTestId('cell-company')[0].textContent).toBe('Renamed Co'));

		await setValue(screen.getByTestId('edit-email'), 'broken');
		await fireEvent.click(screen.getByTestId('detail-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('not an e-mail address');
		expect(screen.queryByTestId('error-banner')).toBeNull();
	});

	it('deletes with an undo toast that restores', async () => {
		const { backend, ws } = mockWithWorkspace(5);
		renderApp(backend, { toastMs: 60_000 });
		const rows = await waitForRows();
		const id = Number(rows[0].dataset.id);
		await fireEvent.click(rows[0]);
		await fireEvent.click(await screen.findByTestId('detail-delete'));
		await waitFor(() => expect(rowIds()).not.toContain(id));
		expect(screen.getByTestId('prospect-total').textContent).toContain('4');
		expect(screen.queryByTestId('prospect-detail')).toBeNull();
		expect(backend.callsOf('delete_prospects')).toEqual([{ workspace_id: ws.id, ids: [id] }]);
		const toast = screen.getByTestId('toast');
		expect(toast.textContent).toContain('trash');

		await fireEvent.click(screen.getByTestId('undo'));
		await waitFor(() => expect(rowIds()).toContain(id));
		expect(backend.callsOf('restore_prospects')).toEqual([{ workspace_id: ws.id, ids: [id] }]);

		// The Delete key does the same for the selected row.
		const grid = screen.getByTestId('prospect-viewport');
		await fireEvent.keyDown(grid, { key: 'Home' });
		await fireEvent.keyDown(grid, { key: 'Delete' });
		await waitFor(() => expect(backend.callsOf('delete_prospects')).toHaveLength(2));
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('4'));

		// The trash lists it.
		await fireEvent.click(screen.getByTestId('show-trash'));
		await waitFor(() => expect(rowIds()).toHaveLength(1));
		expect(backend.callsOf('list_prospects').at(-1)?.deleted).toBe(true);
	});

	it('undoes a deletion in its own workspace after the user moved to another', async () => {
		const { backend, ws } = mockWithWorkspace(3);
		const other = backend.seedWorkspace('Other client');
		backend.seedProspects(other.id, 2);
		renderApp(backend, { toastMs: 60_000 });
		const rows = await waitForRows();
		const id = Number(rows[0].dataset.id);
		await fireEvent.click(rows[0]);
		await fireEvent.click(await screen.findByTestId('detail-delete'));
		await screen.findByTestId('undo');
		await choose(screen.getByTestId('workspace-select'), String(other.id));
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('2'));

		await fireEvent.click(screen.getByTestId('undo'));
		await waitFor(() => expect(backend.callsOf('restore_prospects')).toHaveLength(1));
		expect(backend.callsOf('restore_prospects')[0]).toEqual({ workspace_id: ws.id, ids: [id] });
		await waitFor(() => expect(backend.peekProspect(id)?.deleted_at).toBeNull());
	});

	it('hides toasts after their time', async () => {
		const { backend } = mockWithWorkspace(2);
		renderApp(backend, { toastMs: 50 });
		const rows = await waitForRows();
		await fireEvent.click(rows[0]);
		await fireEvent.click(await screen.findByTestId('detail-delete'));
		await screen.findByTestId('toast');
		await waitFor(() => expect(screen.queryByTestId('toast')).toBeNull());
	});

	it('scores prospects, reports the summary and renders the breakdown', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		backend.seedProspects(ws.id, 1, () => ({
			first_name: 'Greta',
			last_name: 'Good',
			email: 'greta@corp.example',
			website: 'https://corp.example',
			followers: 20_000
		}));
		backend.seedProspects(ws.id, 1, () => ({ first_name: 'Walt', email: 'walt@gmail.com', website: null, followers: 0 }));
		renderApp(backend);
		await waitForRows();
		await fireEvent.click(screen.getByTestId('score-run'));
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Scored 2: 1 qualified (1 new).'));
		await waitFor(() => expect(screen.getAllByTestId('cell-score').map((c) => c.textContent)).not.toContain('—'));

		const greta = screen.getAllByTestId('prospect-row').find((r) => r.textContent?.includes('Greta Good'));
		await fireEvent.click(greta as HTMLElement);
		const breakdown = await screen.findByTestId('score-breakdown');
		await waitFor(() => expect(breakdown.querySelector('[data-testid="score-total"]')?.textContent).toBe('100'));
		expect(breakdown.querySelector('[data-testid="score-threshold"]')?.textContent).toBe('60');
		expect(breakdown.querySelector('[data-testid="score-qualified"]')?.textContent?.trim()).toBe('Yes');
		const email = screen.getByTestId('factor-email_domain');
		expect(email.querySelector('[data-testid="factor-label"]')?.textContent).toBe('E-mail domain');
		expect(email.querySelector('[data-testid="factor-points"]')?.textContent).toBe('100');
		expect(email.querySelector('[data-testid="factor-weight"]')?.textContent).toBe('40');
		expect(email.querySelector('[data-testid="factor-reason"]')?.textContent).toBe(
			'The address is at a company domain (corp.example).'
		);
		expect(screen.getByTestId('factor-website').textContent).toContain('Website');
		expect(screen.getByTestId('factor-social').textContent).toContain('20000 followers');
	});

	it('refreshes live when the backend reports a change (e.g. a CLI import)', async () => {
		const { backend, ws } = mockWithWorkspace(3);
		renderApp(backend);
		await waitForRows();
		backend.seedProspects(ws.id, 2);
		backend.emit({ kind: 'changed', entity: 'prospects', workspace_id: ws.id, source: 'cli' });
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('5'));
		await waitFor(() => expect(rowIds()).toHaveLength(5));
		// A change in another workspace does not refetch.
		const before = backend.callsOf('list_prospects').length;
		backend.emit({ kind: 'changed', entity: 'prospects', workspace_id: ws.id + 100, source: 'cli' });
		await new Promise((r) => setTimeout(r, 20));
		expect(backend.callsOf('list_prospects').length).toBe(before);
	});
});

describe('prospect table columns', () => {
	it('shows the columns chosen on this computer, and remembers them', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		backend.seedProspects(ws.id, 3, (i) => ({ title: `Editor ${i}`, followers: 12500 }));
		const first = renderApp(backend);
		await waitForRows();
		const headers = () => screen.getAllByRole('columnheader').map((h) => h.textContent?.replace(/[▲▼]/g, '').trim());
		expect(headers()).toEqual(['', 'Name', 'E-mail', 'Company', 'Country', 'Status', 'Score', 'Source', 'Added']);
		expect(screen.queryByTestId('cell-title')).toBeNull();

		const open = screen.getByTestId('columns-open');
		await fireEvent.click(open);
		expect(open.getAttribute('aria-expanded')).toBe('true');
		expect((screen.getByTestId('column-name') as HTMLInputElement).disabled).toBe(true);
		await fireEvent.click(screen.getByTestId('column-title'));
		await fireEvent.click(screen.getByTestId('column-followers'));
		await fireEvent.click(screen.getByTestId('column-source'));
		expect(headers()).toEqual(['', 'Name', 'E-mail', 'Company', 'Job title', 'Country', 'Status', 'Score', 'Followers', 'Added']);
		expect(screen.getAllByTestId('cell-title').map((c) => c.textContent)).toContain('Editor 1');
		expect(screen.getAllByTestId('cell-followers')[0].textContent).toBe('12,500');
		expect(screen.queryByTestId('cell-source')).toBeNull();

		// Escape closes it and gives the focus back to its button.
		await fireEvent.keyDown(screen.getByTestId('column-title'), { key: 'Escape' });
		expect(screen.queryByTestId('columns-panel')).toBeNull();
		expect(document.activeElement).toBe(open);

		// The next start shows the same columns.
		first.unmount();
		renderApp(backend);
		await waitForRows();
		expect(headers()).toContain('Job title');
		expect(headers()).not.toContain('Source');

		// A click elsewhere closes it; Reset brings the defaults back.
		await fireEvent.click(screen.getByTestId('columns-open'));
		await fireEvent.click(screen.getByTestId('columns-reset'));
		expect(headers()).toEqual(['', 'Name', 'E-mail', 'Company', 'Country', 'Status', 'Score', 'Source', 'Added']);
		await fireEvent.click(screen.getByTestId('prospect-total'));
		expect(screen.queryByTestId('columns-panel')).toBeNull();
	});
});

describe('bulk changes', () => {
	it('gives the ticked prospects a status and moves them to the trash, each with undo', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const people = backend.seedProspects(ws.id, 4, (i) => ({ status: i === 0 ? 'contacted' : 'qualified' }));
		renderApp(backend);
		const rows = await waitForRows();
		expect(rows).toHaveLength(4);
		for (const p of people.slice(0, 3)) await tick(p.id);
		expect(screen.getByTestId('bulk-count').textContent).toBe('3 selected');

		// Only a review's outcomes are offered: an opt-out or a send sets the others.
		const status = screen.getByTestId('bulk-status') as HTMLSelectElement;
		const offered = [...status.options].map((o) => o.value);
		expect(offered).toEqual(['', 'new', 'qualified', 'disqualified', 'interested', 'not_interested', 'converted']);
		await choose(status, 'disqualified');
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Set 3 prospects to Disqualified.'));
		expect(status.value).toBe('');
		expect(people.map((p) => backend.peekProspect(p.id)?.status)).toEqual(['disqualified', 'disqualified', 'disqualified', 'qualified']);
		await waitFor(() => expect(screen.getAllByTestId('cell-status').filter((c) => c.textContent === 'Disqualified')).toHaveLength(3));

		// Undo gives each the status it had before.
		await fireEvent.click(screen.getByTestId('bulk-status-undo'));
		await waitFor(() => expect(people.map((p) => backend.peekProspect(p.id)?.status)).toEqual(['contacted', 'qualified', 'qualified', 'qualified']));

		// Those that had it already are counted apart.
		await choose(status, 'qualified');
		await waitFor(() => expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe('Set 1 prospect to Qualified; 2 already had it.'));

		// To the trash, after saying how many, and back.
		await fireEvent.click(screen.getByTestId('bulk-trash'));
		expect(screen.getByTestId('bulk-trash-dialog').textContent).toContain('Move 3 prospects to the trash?');
		await fireEvent.click(screen.getByText('Cancel'));
		expect(backend.callsOf('delete_prospects')).toEqual([]);
		await fireEvent.click(screen.getByTestId('bulk-trash'));
		await fireEvent.click(screen.getByTestId('bulk-trash-confirm'));
		await waitFor(() => expect(screen.getAllByTestId('prospect-row')).toHaveLength(1));
		expect(screen.queryByTestId('bulk-bar')).toBeNull();
		await waitFor(() => expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe('Moved 3 prospects to the trash.'));
		await fireEvent.click(screen.getByTestId('bulk-trash-undo'));
		await waitFor(() => expect(screen.getAllByTestId('prospect-row')).toHaveLength(4));
		expect(backend.callsOf('set_prospects_status').map((c) => c.status)).toEqual(['disqualified', 'contacted', 'qualified', 'qualified']);
	});
	it('leaves an opted-out prospect unsubscribed and says so', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const people = backend.seedProspects(ws.id, 2, () => ({ status: 'new' }));
		await backend.call('opt_out_prospect', { id: people[0].id });
		renderApp(backend);
		await waitForRows();
		for (const p of people) await tick(p.id);
		await choose(screen.getByTestId('bulk-status'), 'qualified');
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Set 1 prospect to Qualified; 1 opted out and stays Unsubscribed.'));
		expect(people.map((p) => backend.peekProspect(p.id)?.status)).toEqual(['unsubscribed', 'qualified']);
	});

	it('moves one ticked prospect to the trash without asking, with undo', async () => {
		const { backend } = mockWithWorkspace(2);
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows[0].querySelector('[data-testid="prospect-check"]') as HTMLElement);
		await fireEvent.click(screen.getByTestId('bulk-trash'));
		expect(screen.queryByTestId('bulk-trash-dialog')).toBeNull();
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toBe('Moved 1 prospect to the trash.'));
		expect(backend.callsOf('delete_prospects')).toHaveLength(1);
	});
});
