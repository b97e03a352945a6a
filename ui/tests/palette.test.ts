import { describe, expect, it } from 'vitest';
import { fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor, waitForRows } from './helpers';

function options(): string[] {
	return screen.queryAllByTestId('palette-option').map((o) => o.dataset.command ?? '');
}

async function openPalette(): Promise<HTMLInputElement> {
	await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
	return (await screen.findByTestId('palette-input')) as HTMLInputElement;
}

describe('the command palette', () => {
	it('goes to a view, a workspace or a prospect from the keyboard', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const [ada] = backend.seedProspects(ws.id, 1, () => ({ first_name: 'Ada', last_name: 'Lovelace', company: 'Engines Ltd' }));
		backend.seedProspects(ws.id, 3);
		const other = backend.seedWorkspace('Other client');
		renderApp(backend);
		await waitForRows();

		const input = await openPalette();
		expect(document.activeElement).toBe(input);
		expect(options()).toContain('view-inbox');
		expect(options()).toContain(`workspace-${other.id}`);
		expect(options()).not.toContain(`workspace-${ws.id}`);

		// Typing narrows the list; Enter takes the first.
		await setValue(input, 'aud');
		expect(options()).toEqual(['view-audit']);
		await fireEvent.keyDown(input, { key: 'Enter' });
		expect(screen.queryByTestId('palette')).toBeNull();
		await waitFor(() => expect(screen.getByTestId('nav-audit').getAttribute('aria-current')).toBe('page'));

		// A prospect by company, from another view: their details open in the prospect view.
		const again = await openPalette();
		await setValue(again, 'engines');
		await waitFor(() => expect(options()[0]).toBe(`prospect-${ada.id}`));
		expect(screen.getAllByTestId('palette-option')[0].textContent).toContain('Ada Lovelace');
		await fireEvent.keyDown(again, { key: 'Enter' });
		await waitFor(() => expect(screen.getByTestId('detail-name').textContent).toBe('Ada Lovelace'));
		expect(screen.getByTestId('nav-prospects').getAttribute('aria-current')).toBe('page');

		// The sidebar offers it to the mouse as well.
		await fireEvent.click(screen.getByTestId('open-palette'));
		await fireEvent.keyDown(await screen.findByTestId('palette-input'), { key: 'Escape' });
		expect(screen.queryByTestId('palette')).toBeNull();

		// The arrows move; Escape closes without going anywhere.
		const third = await openPalette();
		await setValue(third, 'client');
		expect(options()).toEqual([`workspace-${other.id}`]);
		await setValue(third, '');
		await fireEvent.keyDown(third, { key: 'ArrowDown' });
		expect(screen.getAllByTestId('palette-option')[1].getAttribute('aria-selected')).toBe('true');
		await fireEvent.keyDown(third, { key: 'Escape' });
		expect(screen.queryByTestId('palette')).toBeNull();
		expect(screen.getByTestId('nav-prospects').getAttribute('aria-current')).toBe('page');

		// Another workspace, through the same question about unsaved work as a click.
		await setValue(screen.getByTestId('edit-company'), 'Renamed');
		const fourth = await openPalette();
		await setValue(fourth, 'other');
		await fireEvent.keyDown(fourth, { key: 'Enter' });
		expect(screen.getByTestId('unsaved-what').textContent).toContain('your changes to Ada Lovelace');
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect((screen.getByTestId('workspace-select') as HTMLSelectElement).value).toBe(String(other.id)));
	});

	it('says when nothing matches, and is not offered over another dialog', async () => {
		const { backend } = mockWithWorkspace(2);
		renderApp(backend);
		await waitForRows();
		const input = await openPalette();
		await setValue(input, 'zzzz');
		await waitFor(() => expect(screen.getByTestId('palette-empty').textContent).toBe('Nothing matches “zzzz”.'));
		await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
		expect(screen.queryByTestId('palette')).toBeNull();

		// "/" is the prospect search's own key, except while typing elsewhere.
		await fireEvent.keyDown(document.body, { key: '/' });
		expect(document.activeElement).toBe(screen.getByTestId('search'));
		const rows = await waitForRows();
		await fireEvent.click(rows[0]);
		const company = await screen.findByTestId('edit-company');
		company.focus();
		await fireEvent.keyDown(company, { key: '/' });
		expect(document.activeElement).toBe(company);

		await fireEvent.click(screen.getByTestId('import-open'));
		await screen.findByTestId('import-dialog');
		await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
		expect(screen.queryByTestId('palette')).toBeNull();
	});

	it('starts an import, a template, a campaign or an account from wherever the user is', async () => {
		const { backend, ws } = mockWithWorkspace(2);
		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi {{ first_name }}');
		backend.sending.seedAccount(ws.id, 'Alex');
		renderApp(backend);
		await waitForRows();
		await fireEvent.click(screen.getByTestId('nav-audit'));

		const run = async (text: string, command: string) => {
			const input = await openPalette();
			await setValue(input, text);
			expect(options()).toEqual([command]);
			await fireEvent.keyDown(input, { key: 'Enter' });
		};

		await run('import', 'import');
		await screen.findByTestId('import-dialog');
		expect(screen.getByTestId('nav-prospects').getAttribute('aria-current')).toBe('page');
		await fireEvent.click(screen.getByText('Cancel'));

		// The templates view opens on its first template; "New template" starts a blank one.
		await run('new template', 'new-template');
		await waitFor(() => expect(screen.getByTestId('nav-templates').getAttribute('aria-current')).toBe('page'));
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe(''));
		expect(screen.getByRole('heading', { name: 'New template' })).toBeTruthy();

		await run('new campaign', 'new-campaign');
		await waitFor(() => expect(screen.getByRole('heading', { name: 'New campaign' })).toBeTruthy());

		await run('new sender', 'new-account');
		await waitFor(() => expect(screen.getByRole('heading', { name: 'New account' })).toBeTruthy());
		expect((screen.getByTestId('account-name') as HTMLInputElement).value).toBe('');
	});
	it('shows the prospects a saved filter selects, from any view', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		backend.seedProspects(ws.id, 2, () => ({ status: 'contacted' }));
		backend.seedProspects(ws.id, 3, () => ({ status: 'new' }));
		const saved = await backend.call('save_filter', {
			workspace_id: ws.id,
			name: 'Already written to',
			filter: { search: null, statuses: ['contacted'], source_type: null, country: null, min_score: null, max_score: null }
		});
		renderApp(backend);
		await waitForRows();
		await fireEvent.click(screen.getByTestId('nav-templates'));

		const input = await openPalette();
		await setValue(input, 'written');
		await waitFor(() => expect(options()).toEqual([`filter-${saved.id}`]));
		expect(screen.getAllByTestId('palette-option')[0].textContent).toContain('Contacted');
		await fireEvent.keyDown(input, { key: 'Enter' });
		await waitFor(() => expect(screen.getAllByTestId('prospect-row')).toHaveLength(2));
		expect((screen.getByTestId('filter-status') as HTMLSelectElement).value).toBe('contacted');
		expect((screen.getByTestId('saved-filter') as HTMLSelectElement).selectedOptions[0].textContent).toBe('Already written to');
		expect(backend.callsOf('list_prospects').at(-1)).toMatchObject({ statuses: ['contacted'] });
	});
	it('opens a campaign or a template by name', async () => {
		const { backend, ws } = mockWithWorkspace(1);
		const account = backend.sending.seedAccount(ws.id, 'Alex', 5);
		const intro = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi {{ first_name }}\n{{ privacy_notice }}\n{{ opt_out }}');
		const nudge = backend.sending.seedTemplate(ws.id, 'Nudge', 'Still there?', 'Hi again\n{{ opt_out }}');
		backend.sending.seedCampaign(ws.id, { name: 'Spring launch', account_id: account.id, steps: [{ delay_business_days: 0, condition: 'always', template_ids: [intro.id] }] });
		const autumn = backend.sending.seedCampaign(ws.id, {
			name: 'Autumn offer',
			account_id: account.id,
			steps: [{ delay_business_days: 0, condition: 'always', template_ids: [intro.id] }]
		});
		renderApp(backend);
		await waitForRows();

		// Nothing named is offered before something is typed.
		const input = await openPalette();
		await waitFor(() => expect(options()).toContain('view-campaigns'));
		expect(options().some((o) => o.startsWith('campaign-') || o.startsWith('template-'))).toBe(false);
		await setValue(input, 'autumn');
		await waitFor(() => expect(options()).toEqual([`campaign-${autumn.id}`]));
		await fireEvent.keyDown(input, { key: 'Enter' });
		await waitFor(() => expect(screen.getByTestId('campaign-title').textContent).toContain('Autumn offer'));

		const again = await openPalette();
		await setValue(again, 'nudge');
		await waitFor(() => expect(options()).toEqual([`template-${nudge.id}`]));
		expect(screen.getAllByTestId('palette-option')[0].textContent).toContain('Still there?');
		await fireEvent.keyDown(again, { key: 'Enter' });
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Nudge'));
	});
});
