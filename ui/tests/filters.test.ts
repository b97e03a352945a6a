import { describe, expect, it } from 'vitest';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor, waitForRows } from './helpers';

const select = () => screen.getByTestId('saved-filter') as HTMLSelectElement;
const lastQuery = (backend: ReturnType<typeof mockWithWorkspace>['backend']) => backend.callsOf('list_prospects').at(-1);

describe('saved filters', () => {
	it('saves the criteria on screen, applies them again, replaces and deletes with undo', async () => {
		const { backend, ws } = mockWithWorkspace(30);
		renderApp(backend);
		await waitForRows();
		expect(select().disabled).toBe(true);
		expect(select().selectedOptions[0].textContent).toBe('None yet');
		expect((screen.getByTestId('filter-save') as HTMLButtonElement).disabled).toBe(true);

		await choose(screen.getByTestId('filter-status'), 'new');
		await setValue(screen.getByTestId('filter-min-score'), '50');
		await fireEvent.click(screen.getByTestId('filter-save'));
		expect(screen.getByTestId('filter-selects').textContent).toBe('Selects prospects: New, score 50 or more.');
		// A name is needed; the refusal shows in the dialog and saves nothing.
		await fireEvent.click(screen.getByTestId('filter-save-ok'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('needs a name');
		expect(backend.callsOf('save_filter')).toHaveLength(1);
		await setValue(screen.getByTestId('filter-name'), 'Fresh leads');
		await fireEvent.click(screen.getByTestId('filter-save-ok'));
		await waitFor(() => expect(screen.queryByTestId('filter-dialog')).toBeNull());
		expect(backend.callsOf('save_filter').at(-1)).toEqual({
			workspace_id: ws.id,
			name: 'Fresh leads',
			filter: { search: null, statuses: ['new'], source_type: null, country: null, min_score: 50, max_score: null }
		});
		// The criteria on screen are that filter now.
		await waitFor(() => expect(select().selectedOptions[0].textContent).toBe('Fresh leads'));
		expect(screen.getByTestId('filter-delete')).toBeTruthy();

		// Cleared, then picked again: the criteria come back, and the table asks for them.
		await fireEvent.click(screen.getByTestId('filter-clear'));
		expect((screen.getByTestId('filter-status') as HTMLSelectElement).value).toBe('all');
		expect((screen.getByTestId('filter-min-score') as HTMLInputElement).value).toBe('');
		expect(select().selectedOptions[0].textContent).toBe('Choose…');
		await waitFor(() => expect(lastQuery(backend)).toMatchObject({ statuses: [], min_score: null }));
		await choose(select(), select().options[1].value);
		expect((screen.getByTestId('filter-status') as HTMLSelectElement).value).toBe('new');
		expect((screen.getByTestId('filter-min-score') as HTMLInputElement).value).toBe('50');
		await waitFor(() => expect(lastQuery(backend)).toMatchObject({ statuses: ['new'], min_score: 50 }));

		// Changing a criterion leaves the filter; saving under its name says it replaces it.
		await setValue(screen.getByTestId('filter-max-score'), '90');
		expect(select().selectedOptions[0].textContent).toBe('Not saved');
		await fireEvent.click(screen.getByTestId('filter-save'));
		await setValue(screen.getByTestId('filter-name'), 'fresh LEADS');
		expect(screen.getByTestId('filter-replaces').textContent).toContain('“Fresh leads” (New, score 50 or more)');
		expect(screen.getByTestId('filter-save-ok').textContent).toBe('Replace');
		await fireEvent.click(screen.getByTestId('filter-save-ok'));
		await waitFor(() => expect(select().selectedOptions[0].textContent).toBe('fresh LEADS'));
		expect(select().options).toHaveLength(2);

		// Deleted, and back with Undo.
		await fireEvent.click(screen.getByTestId('filter-delete'));
		await waitFor(() => expect(select().disabled).toBe(true));
		await fireEvent.click(await screen.findByTestId('filter-undo'));
		await waitFor(() => expect(select().selectedOptions[0].textContent).toBe('fresh LEADS'));
		expect(backend.callsOf('save_filter').at(-1)).toMatchObject({ name: 'fresh LEADS', filter: { max_score: 90 } });
	});

	it('shows a filter saved elsewhere, with criteria the toolbar has no single control for', async () => {
		const { backend, ws } = mockWithWorkspace(30);
		renderApp(backend);
		await waitForRows();
		// As `outreach prospects save-filter` would, while the app is open.
		await backend.call('save_filter', {
			workspace_id: ws.id,
			name: 'Warm',
			filter: { search: null, statuses: ['contacted', 'replied'], source_type: 'linkedin_export', country: 'Atlantis', min_score: null, max_score: null }
		});
		await waitFor(() => expect(select().disabled).toBe(false));
		await choose(select(), select().options[1].value);
		const status = screen.getByTestId('filter-status') as HTMLSelectElement;
		expect(status.selectedOptions[0].textContent).toBe('Contacted or Replied');
		expect((screen.getByTestId('filter-source') as HTMLSelectElement).selectedOptions[0].textContent).toBe('LinkedIn export');
		expect((screen.getByTestId('filter-country') as HTMLSelectElement).value).toBe('Atlantis');
		await waitFor(() =>
			expect(lastQuery(backend)).toMatchObject({ statuses: ['contacted', 'replied'], source_type: 'linkedin_export', country: 'Atlantis' })
		);
		expect(select().selectedOptions[0].textContent).toBe('Warm');
		// Picking one status replaces the several.
		await choose(status, 'replied');
		await waitFor(() => expect(lastQuery(backend)).toMatchObject({ statuses: ['replied'] }));
		expect(select().selectedOptions[0].textContent).toBe('Not saved');
	});
});
