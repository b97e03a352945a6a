import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { LAST_WORKSPACE_KEY } from '$lib/state/app.svelte';
import { campaignReady, choose, fireEvent, renderApp, screen, setValue, waitFor, waitForRows } from './helpers';

describe('workspaces', () => {
	it('shows the welcome panel on first run and loads the demo', async () => {
		const backend = new MockBackend();
		renderApp(backend);
		const demo = await screen.findByTestId('load-demo');
		expect(screen.getByTestId('create-first-workspace')).toBeTruthy();
		await fireEvent.click(demo);
		const rows = await waitForRows();
		expect(rows.length).toBeGreaterThan(0);
		expect(backend.callsOf('load_demo')).toHaveLength(1);
		const select = screen.getByTestId('workspace-select') as HTMLSelectElement;
		expect(select.selectedOptions[0].textContent).toBe('Demo agency');
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('60'));
	});

	it('creates a workspace and shows a conflict inline in the dialog', async () => {
		const backend = new MockBackend();
		backend.seedWorkspace('Acme');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('new-workspace'));
		const dialog = screen.getByRole('dialog');
		expect(dialog).toBeTruthy();

		await setValue(screen.getByTestId('ws-name'), 'acme');
		await fireEvent.click(screen.getByTestId('ws-save'));
		const err = await screen.findByTestId('form-error');
		expect(err.textContent).toContain('already exists');
		expect(screen.queryByTestId('error-banner')).toBeNull();
		expect(screen.getByRole('dialog')).toBeTruthy();

		await setValue(screen.getByTestId('ws-name'), 'Brightlane');
		await setValue(screen.getByTestId('ws-address'), 'Main St 1\n12345 Town');
		await setValue(screen.getByTestId('ws-legal'), 'Brightlane Ltd.');
		await fireEvent.click(screen.getByTestId('ws-save'));
		await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
		expect(backend.callsOf('create_workspace').at(-1)).toEqual({
			name: 'Brightlane',
			postal_address: 'Main St 1\n12345 Town',
			legal_notice: 'Brightlane Ltd.'
		});
		const select = screen.getByTestId('workspace-select') as HTMLSelectElement;
		await waitFor(() => expect(select.selectedOptions[0].textContent).toBe('Brightlane'));
		expect(localStorage.getItem(LAST_WORKSPACE_KEY)).toBe(select.value);
	});

	it('remembers the last workspace and switches on select', async () => {
		const backend = new MockBackend();
		const a = backend.seedWorkspace('Alpha');
		const b = backend.seedWorkspace('Beta');
		backend.seedProspects(a.id, 3);
		backend.seedProspects(b.id, 5);
		localStorage.setItem(LAST_WORKSPACE_KEY, String(b.id));
		renderApp(backend);
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('5'));
		await choose(screen.getByTestId('workspace-select'), String(a.id));
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('3'));
		expect(localStorage.getItem(LAST_WORKSPACE_KEY)).toBe(String(a.id));
	});

	it('saves settings and shows scoring validation inline', async () => {
		const backend = new MockBackend();
		const ws = backend.seedWorkspace('Acme');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		expect((await screen.findByTestId('app-version')).textContent).toBe('0.0.0-mock');
		expect((screen.getByTestId('ws-name') as HTMLInputElement).value).toBe('Acme');

		await setValue(screen.getByTestId('threshold'), '150');
		await fireEvent.click(screen.getByTestId('scoring-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('between 0 and 100');

		await setValue(screen.getByTestId('threshold'), '75');
		await setValue(screen.getByTestId('weight-social'), '0');
		await fireEvent.click(screen.getByTestId('scoring-save'));
		await waitFor(() => expect(screen.queryByTestId('form-error')).toBeNull());
		expect(backend.callsOf('set_scoring_config').at(-1)).toEqual({
			workspace_id: ws.id,
			config: {
				weights: [
					{ factor: 'email_domain', weight: 40 },
					{ factor: 'website', weight: 30 },
					{ factor: 'social', weight: 0 }
				],
				threshold: 75
			}
		});

		await setValue(screen.getByTestId('ws-address'), 'New address');
		await fireEvent.click(screen.getByTestId('settings-save'));
		await waitFor(() => expect(backend.callsOf('update_workspace')).toHaveLength(1));
		expect(backend.callsOf('update_workspace')[0].fields.postal_address).toBe('New address');
	});

	it('says when a new address writes again the messages waiting to go out', async () => {
		const { backend, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const before = (await backend.call('campaign_progress', { campaign_id: c.id })).queued;
		expect(before).toBeGreaterThan(0);
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await setValue(await screen.findByTestId('ws-address'), '2 New Street, Sample Town');
		await fireEvent.click(screen.getByTestId('settings-save'));
		await waitFor(() =>
			expect(screen.getByTestId('toast').textContent).toContain(`Workspace saved. ${before} messages waiting to go out are written again with the change.`)
		);
		// Saved again as it is: nothing to write again.
		await fireEvent.click(screen.getByTestId('settings-save'));
		await waitFor(() => expect(backend.callsOf('update_workspace')).toHaveLength(2));
		await waitFor(() => expect(screen.getAllByTestId('toast').at(-1)?.textContent).toContain('Workspace saved.'));
		expect(screen.getAllByTestId('toast').at(-1)?.textContent).not.toContain('written again');

		// A one-click unsubscribe URL is named in every opt-out line: written again too.
		await setValue(screen.getByTestId('sending-unsubscribe-url'), 'https://optout.acme.example/u');
		await fireEvent.click(screen.getByTestId('sending-save'));
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe(
				`Sending settings saved. ${before} messages waiting to go out are written again with the new settings.`
			)
		);
	});

	it('lists audit entries with paging', async () => {
		const backend = new MockBackend();
		const ws = backend.seedWorkspace('Acme');
		const [p] = backend.seedProspects(ws.id, 1);
		for (let i = 0; i < 30; i++) {
			await backend.call('delete_prospects', { workspace_id: ws.id, ids: [p.id] });
			await backend.call('restore_prospects', { workspace_id: ws.id, ids: [p.id] });
		}
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-audit'));
		const list = await screen.findByTestId('audit-list');
		await waitFor(() => expect(screen.getAllByTestId('audit-entry')).toHaveLength(50));
		expect(list.textContent).toContain('prospects.restore');
		expect(list.textContent).toContain('Restored 1 prospect from the trash.');
		expect(list.textContent).toContain('app');
		await fireEvent.click(screen.getByTestId('audit-more'));
		await waitFor(() => expect(screen.getAllByTestId('audit-entry')).toHaveLength(60));
		const calls = backend.callsOf('list_audit');
		expect(calls.at(-1)?.before_id).not.toBeNull();
		expect(screen.queryByTestId('audit-more')).toBeNull();
	});
});
