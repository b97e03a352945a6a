import { describe, expect, it } from 'vitest';
import { campaignReady, fireEvent, renderApp, screen, setValue, waitFor } from '../../../tests/helpers';

describe('deleting a workspace', () => {
	it('names what it holds, waits for its name, and moves to another workspace', async () => {
		const { backend, ws, people } = campaignReady();
		const other = backend.seedWorkspace('Other client');
		backend.seedProspects(other.id, 2);
		// What is in the trash goes with the workspace, and is counted.
		const spare = backend.sending.seedTemplate(ws.id, 'Spare', 'Hi', 'Unused');
		await backend.call('delete_template', { template_id: spare.id });
		renderApp(backend, { toastMs: 60_000 });
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await fireEvent.click(await screen.findByTestId('workspace-delete'));
		const summary = await screen.findByTestId('workspace-delete-summary');
		expect(summary.textContent).toContain('It holds 4 prospects, 1 campaign, 2 templates, 1 sender account, 0 messages and 0 replies.');
		const confirm = screen.getByTestId('workspace-delete-confirm') as HTMLButtonElement;
		const name = screen.getByTestId('workspace-delete-name');
		expect(confirm.disabled).toBe(true);
		await setValue(name, 'Acme');
		expect(confirm.disabled).toBe(true);
		// Cancelled: nothing changes.
		await fireEvent.click(screen.getByText('Cancel'));
		expect(screen.queryByTestId('workspace-delete-dialog')).toBeNull();
		expect((await backend.call('list_workspaces', {})).map((w) => w.id)).toContain(ws.id);

		await fireEvent.click(screen.getByTestId('workspace-delete'));
		await screen.findByTestId('workspace-delete-summary');
		await setValue(screen.getByTestId('workspace-delete-name'), ' acme CLIENT ');
		await fireEvent.click(screen.getByTestId('workspace-delete-confirm'));
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain('Deleted workspace “Acme client”.')
		);
		expect((await backend.call('list_workspaces', {})).map((w) => w.name)).toEqual(['Other client']);
		await waitFor(() => expect((screen.getByTestId('workspace-select') as HTMLSelectElement).value).toBe(String(other.id)));
		await expect(backend.call('get_prospect', { id: people[0].id })).rejects.toMatchObject({ code: 'not_found' });
	});

	it('shows how far the erasing is while it runs', async () => {
		const { backend } = campaignReady({ deleteStepMs: 40 });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await fireEvent.click(await screen.findByTestId('workspace-delete'));
		await screen.findByTestId('workspace-delete-summary');
		await setValue(screen.getByTestId('workspace-delete-name'), 'Acme client');
		await fireEvent.click(screen.getByTestId('workspace-delete-confirm'));
		expect(screen.getByTestId('workspace-delete-confirm').textContent).toBe('Deleting…');
		const progress = await screen.findByTestId('workspace-delete-progress');
		await waitFor(() => expect(progress.textContent).toContain('Erasing: 2 of 4 prospects…'));
		await waitFor(() => expect(screen.queryByTestId('workspace-delete-dialog')).toBeNull());
		expect((await backend.call('list_workspaces', {})).map((w) => w.name)).toEqual([]);
	});

	it('says which workspace went even when the app has already moved on from it', async () => {
		// The real backend tells the app about the deletion before the call returns, so the
		// app may have left the workspace (here its last) by the time the dialog reports.
		const { backend } = campaignReady();
		const call = backend.call.bind(backend);
		backend.call = (async (command: string, args: unknown) => {
			const result = await (call as (c: string, a: unknown) => Promise<unknown>)(command, args);
			if (command === 'delete_workspace') await new Promise((r) => setTimeout(r, 30));
			return result;
		}) as typeof backend.call;
		renderApp(backend, { toastMs: 60_000 });
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await fireEvent.click(await screen.findByTestId('workspace-delete'));
		await screen.findByTestId('workspace-delete-summary');
		await setValue(screen.getByTestId('workspace-delete-name'), 'Acme client');
		await fireEvent.click(screen.getByTestId('workspace-delete-confirm'));
		await screen.findByTestId('welcome');
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain('Deleted workspace “Acme client”.')
		);
		expect(screen.queryByTestId('error-banner')).toBeNull();
	});
});
