import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { isApiError, toApiError } from '$lib/platform/backend';
import { fireEvent, mockWithWorkspace, renderApp, screen, waitFor, waitForRows } from './helpers';

describe('error-code branching', () => {
	it.each(['keychain_unavailable', 'wrong_key', 'key_file'] as const)(
		'%s shows the blocking “Cannot open your data” screen',
		async (code) => {
			const backend = new MockBackend();
			backend.seedWorkspace('Acme');
			backend.failNext('list_workspaces', { code, message: `Key problem: ${code}` });
			renderApp(backend);
			const screenEl = await screen.findByTestId('fatal-screen');
			expect(screenEl.textContent).toContain('Cannot open your data');
			expect(screen.getByTestId('fatal-message').textContent).toBe(`Key problem: ${code}`);
			expect(screenEl.dataset.code).toBe(code);
			expect(screen.queryByTestId('workspace-select')).toBeNull();

			await fireEvent.click(screen.getByTestId('fatal-retry'));
			await waitFor(() => expect(screen.queryByTestId('fatal-screen')).toBeNull());
			expect(screen.getByTestId('workspace-select')).toBeTruthy();
		}
	);

	it('other errors show the banner with their code', async () => {
		const { backend } = mockWithWorkspace(3);
		renderApp(backend);
		await waitForRows();
		backend.failNext('score_prospects', { code: 'storage', message: 'The database is locked.' });
		await fireEvent.click(screen.getByTestId('score-run'));
		const banner = await screen.findByTestId('error-banner');
		expect(banner.dataset.code).toBe('storage');
		expect(banner.textContent).toContain('The database is locked.');
		expect(screen.queryByTestId('fatal-screen')).toBeNull();
		await fireEvent.click(screen.getByTestId('error-dismiss'));
		expect(screen.queryByTestId('error-banner')).toBeNull();
	});

	it('a fatal error from any later call also blocks the app', async () => {
		const { backend } = mockWithWorkspace(3);
		renderApp(backend);
		await waitForRows();
		backend.failNext('prospect_facets', { code: 'wrong_key', message: 'The key does not open the database.' });
		backend.emit({ kind: 'changed', entity: 'prospects', workspace_id: null, source: 'system' });
		expect((await screen.findByTestId('fatal-message')).textContent).toBe('The key does not open the database.');
	});

	it('normalises thrown values to ApiError', () => {
		expect(toApiError('boom')).toEqual({ code: 'internal', message: 'boom' });
		expect(toApiError(new Error('bad'))).toEqual({ code: 'internal', message: 'bad' });
		expect(toApiError({ code: 'conflict', message: 'dup', extra: 1 })).toEqual({ code: 'conflict', message: 'dup' });
		expect(isApiError({ code: 'nope', message: 'x' })).toBe(false);
		expect(isApiError({ code: 'io', message: 'x' })).toBe(true);
	});
});
