import { describe, expect, it } from 'vitest';
import { buildPatch, draftOf } from '$lib/patch';
import { MockBackend } from '$lib/platform/mock';
import { campaignReady, fireEvent, renderApp, screen, waitFor, waitForRows } from '../../../tests/helpers';

/** The actions of the audit entries on screen, newest first. */
function shownActions(): string[] {
	return screen.queryAllByTestId('audit-entry').map((r) => r.dataset.action ?? '');
}

describe("a prospect's history", () => {
	it('shows what was done with their data, and opens the audit log narrowed to them', async () => {
		const { backend, ws, people } = campaignReady();
		const [ada, bob] = people;
		await backend.call('record_consent', { prospect_id: ada.id, evidence: 'Signed up at the fair, 2026-11-20' });
		await backend.call('record_consent', { prospect_id: bob.id, evidence: 'Asked for the rates by phone' });
		await backend.call('update_prospect', { id: ada.id, patch: buildPatch(ada, { ...draftOf(ada), company: 'Engines Ltd' }) });
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows.find((r) => r.dataset.id === String(ada.id)) as HTMLElement);

		const history = await screen.findByTestId('prospect-activity');
		await waitFor(() => expect(history.querySelectorAll('[data-testid="prospect-activity-entry"]').length).toBeGreaterThan(0));
		const mine = [...history.querySelectorAll<HTMLElement>('[data-testid="prospect-activity-entry"]')].map((e) => e.dataset.action);
		expect(mine.slice(0, 2)).toEqual(['prospect.update', 'consent.record']);
		expect(history.textContent).not.toContain(`prospect #${bob.id}`);

		await fireEvent.click(screen.getByTestId('prospect-activity-all'));
		expect((await screen.findByTestId('audit-person')).textContent).toContain(`About ${ada.first_name} ${ada.last_name}`);
		// Bob's consent is not theirs.
		await waitFor(() => expect(shownActions()).toEqual(['prospect.update', 'consent.record']));

		// Narrowed further to consent, then to someone no entry of that topic concerns.
		await fireEvent.change(screen.getByTestId('audit-topic'), { target: { value: 'consent' } });
		await waitFor(() => expect(shownActions()).toEqual(['consent.record']));
		await fireEvent.change(screen.getByTestId('audit-actor'), { target: { value: 'system' } });
		await waitFor(() => expect(screen.getByTestId('audit-empty').textContent).toBe('No entries match these filters.'));

		// Cleared, the whole workspace's log is back.
		await fireEvent.click(screen.getByTestId('audit-clear'));
		await waitFor(() => expect(shownActions()).toEqual(['prospect.update', 'consent.record', 'consent.record']));
		expect(screen.queryByTestId('audit-person')).toBeNull();
		const all = await backend.call('list_audit', { workspace_id: ws.id, limit: 500, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(shownActions()).toEqual(all.map((e) => e.action));
	});
});

describe("a deleted workspace's audit log", () => {
	it('stays readable from another workspace, with when it was deleted and erased', async () => {
		const { backend, ws, people } = campaignReady();
		await backend.call('record_consent', { prospect_id: people[0].id, evidence: 'Signed up at the fair' });
		const gone = backend.seedWorkspace('Old Client');
		backend.seedProspects(gone.id, 3);
		await backend.call('delete_workspace', { workspace_id: gone.id, confirm_name: 'Old Client' });
		renderApp(backend);
		await waitForRows();
		await fireEvent.click(screen.getByTestId('nav-audit'));

		const which = (await screen.findByTestId('audit-workspace')) as HTMLSelectElement;
		const options = [...which.options].map((o) => o.textContent ?? '');
		expect(options[0]).toBe(ws.name);
		expect(options[1]).toMatch(/^Old Client \(deleted /);
		await waitFor(() => expect(shownActions()[0]).toBe('consent.record'));
		const own = shownActions();
		expect(own).not.toContain('workspace.delete');

		which.selectedIndex = 1;
		await fireEvent.change(which);
		await waitFor(() => expect(shownActions()).toEqual(['workspace.purged', 'workspace.delete']));
		expect(screen.getByTestId('audit-deleted-note').textContent).toContain('“Old Client” was deleted on');
		expect(screen.getByTestId('audit-deleted-note').textContent).toContain('everything it held was erased on');

		which.selectedIndex = 0;
		await fireEvent.change(which);
		await waitFor(() => expect(shownActions()).toEqual(own));
		expect(screen.queryByTestId('audit-deleted-note')).toBeNull();
	});

	it('is the way to deleted workspaces when none is left', async () => {
		const backend = new MockBackend();
		const first = backend.seedWorkspace('First Client');
		backend.seedProspects(first.id, 2);
		const second = backend.seedWorkspace('Second Client');
		await backend.call('delete_workspace', { workspace_id: first.id, confirm_name: 'First Client' });
		renderApp(backend);
		await screen.findByTestId('prospect-total');
		expect(screen.queryByTestId('welcome')).toBeNull();
		await fireEvent.click(screen.getByTestId('nav-settings'));
		await backend.call('delete_workspace', { workspace_id: second.id, confirm_name: 'Second Client' });

		await screen.findByTestId('welcome');
		// The first screen is no view of the sidebar's.
		expect(screen.queryAllByRole('button', { current: 'page' })).toEqual([]);
		await waitFor(() => expect(screen.getByTestId('welcome-deleted').textContent).toContain('logs of 2 deleted workspaces stay readable'));
		await fireEvent.click(screen.getByTestId('welcome-deleted-logs'));

		expect(screen.getByTestId('nav-audit').getAttribute('aria-current')).toBe('page');
		// The latest deleted first, with nothing of the current workspace's to offer.
		const which = (await screen.findByTestId('audit-workspace')) as HTMLSelectElement;
		expect([...which.options].map((o) => o.textContent ?? '')).toEqual([
			expect.stringMatching(/^Second Client \(deleted /),
			expect.stringMatching(/^First Client \(deleted /)
		]);
		expect(screen.getByTestId('audit-deleted-note').textContent).toContain('“Second Client” was deleted on');
		await waitFor(() => expect(shownActions()).toEqual(['workspace.purged', 'workspace.delete']));
		expect(backend.callsOf('list_audit').at(-1)?.workspace_id).toBe(second.id);
		which.selectedIndex = 1;
		await fireEvent.change(which);
		await waitFor(() => expect(backend.callsOf('list_audit').at(-1)?.workspace_id).toBe(first.id));
		expect(screen.getByTestId('audit-deleted-note').textContent).toContain('“First Client” was deleted on');
		expect(screen.queryByTestId('audit-clear')).toBeNull();

		await fireEvent.click(screen.getByTestId('audit-back'));
		await screen.findByTestId('welcome');
	});
});
