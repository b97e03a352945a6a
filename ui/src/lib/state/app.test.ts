import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { AppState } from './app.svelte';

/** Two workspaces with a prospect each; the app starts in the first. */
async function started() {
	const m = new MockBackend();
	const ws = m.seedWorkspace('Alpha');
	const other = m.seedWorkspace('Beta');
	const [p] = m.seedProspects(ws.id, 1, () => ({ first_name: 'Lena', last_name: 'Schulz' }));
	const [q] = m.seedProspects(other.id, 1);
	const app = new AppState(m, { toastMs: 60_000 });
	await app.start();
	return { m, app, ws, other, p, q };
}

describe('AppState and replies', () => {
	it('toasts a reply of the current workspace with an action that opens it in the inbox', async () => {
		const { m, app, ws, p } = await started();
		expect(app.currentId).toBe(ws.id);
		await vi.waitFor(() => expect(m.callsOf('unread_replies')).toContainEqual({ workspace_id: ws.id }));
		expect(app.unread).toBe(0);

		const r = m.inbox.receiveReply({ prospect_id: p.id, text: 'Sounds great, tell me more.' });
		expect(app.toasts.map((t) => t.message)).toEqual(['New reply from Lena Schulz: Interested']);
		const action = app.toasts[0].action;
		expect(action).toMatchObject({ label: 'Open', testid: 'toast-open-reply' });
		await vi.waitFor(() => expect(app.unread).toBe(1));
		expect(app.versions.replies).toBeGreaterThan(0);

		expect(app.view).toBe('prospects');
		await action?.run();
		expect(app.view).toBe('inbox');
		expect(app.request).toEqual({ kind: 'open-reply', id: r.id });
		app.stop();
	});

	it('stays quiet about other workspaces and counts per workspace on switching', async () => {
		const { m, app, other, q } = await started();
		m.inbox.receiveReply({ prospect_id: q.id, text: 'What is the commission?' });
		m.inbox.receiveReply({ prospect_id: q.id, text: 'And the cookie duration?' });
		await new Promise((r) => setTimeout(r, 0));
		expect(app.toasts).toEqual([]);
		expect(app.unread).toBe(0);

		app.select(other.id);
		await vi.waitFor(() => expect(app.unread).toBe(2));
		const [latest] = await m.call('list_replies', {
			workspace_id: other.id,
			intent: null,
			needs_reply: false,
			unread: false,
			human_only: true,
			prospect_id: null,
			before_id: null,
			limit: 1
		});
		await m.call('get_reply', { reply_id: latest.id, mark_read: true });
		await vi.waitFor(() => expect(app.unread).toBe(1));
		app.stop();
	});

	it('follows the model download', async () => {
		const { m, app } = await started();
		await m.call('download_model', { url: 'https://models.example/minilm.whl' });
		expect(app.modelProgress).toEqual({ done: 86_000_000, total: 86_000_000 });
		app.stop();
	});
});

describe('toasts', () => {
	it('lets a plain notice replace the last one and stacks only those with an action, three at most', async () => {
		const { app } = await started();
		const undo = (n: number) => ({ label: 'Undo', testid: `undo-${n}`, run: () => {} });
		app.toast('Saved Ada.');
		app.toast('Scored 4 prospects.');
		expect(app.toasts.map((t) => t.message)).toEqual(['Scored 4 prospects.']);

		app.toast('Moved Ada to the trash.', undo(1));
		app.toast('Saved Bob.');
		expect(app.toasts.map((t) => t.message)).toEqual(['Moved Ada to the trash.', 'Saved Bob.']);

		app.toast('Moved Bob to the trash.', undo(2));
		app.toast('Moved Cy to the trash.', undo(3));
		app.toast('Moved Di to the trash.', undo(4));
		expect(app.toasts.map((t) => t.action?.testid)).toEqual(['undo-2', 'undo-3', 'undo-4']);
		app.stop();
	});
});
