import { describe, expect, it } from 'vitest';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor } from './helpers';

describe('sender accounts', () => {
	it('saves an SMTP account, sends the password only as the secret and never shows it', async () => {
		const { backend, ws } = mockWithWorkspace();
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-accounts'));
		await setValue(await screen.findByTestId('account-name'), 'Alex (work)');
		await setValue(screen.getByTestId('account-host'), 'smtp.example.com');
		await choose(screen.getByTestId('account-security'), 'start_tls');
		expect((screen.getByTestId('account-port') as HTMLInputElement).value).toBe('587');
		await setValue(screen.getByTestId('account-username'), 'alex');
		await setValue(screen.getByTestId('account-secret'), 's3cret-pw');
		await setValue(screen.getByTestId('account-from-name'), 'Alex Example');
		await setValue(screen.getByTestId('account-from-address'), 'alex@example.com');
		await fireEvent.click(screen.getByTestId('account-save'));

		await waitFor(() => expect(screen.getAllByTestId('account-item')).toHaveLength(1));
		const call = backend.callsOf('save_account').at(-1);
		expect(call).toMatchObject({ workspace_id: ws.id, id: null, secret: 's3cret-pw' });
		expect(call?.fields).toMatchObject({ transport: 'smtp', security: 'start_tls', port: 587, reply_to: null, api_base_url: null });
		expect(JSON.stringify(call?.fields)).not.toContain('s3cret-pw');
		expect((screen.getByTestId('account-secret') as HTMLInputElement).value).toBe('');
		expect(screen.getByTestId('account-secret').getAttribute('type')).toBe('password');
		expect(document.body.textContent).not.toContain('s3cret-pw');

		await fireEvent.click(screen.getByTestId('account-test'));
		const ok = await screen.findByTestId('account-test-result');
		expect(ok.getAttribute('data-ok')).toBe('true');
		expect(backend.callsOf('test_account')).toHaveLength(1);
	});

	it('shows where a connection test failed', async () => {
		const { backend, ws } = mockWithWorkspace();
		const a = backend.sending.seedAccount(ws.id, 'Broken');
		await backend.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, host: 'mail.nowhere.invalid' }, secret: null, dkim_private_key: null });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-accounts'));
		await waitFor(() => expect((screen.getByTestId('account-host') as HTMLInputElement).value).toBe('mail.nowhere.invalid'));
		await fireEvent.click(screen.getByTestId('account-test'));
		const result = await screen.findByTestId('account-test-result');
		expect(result.getAttribute('data-ok')).toBe('false');
		expect(result.textContent).toContain('at dns');
	});

	it('refuses a plain connection to a remote host inline', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-accounts'));
		await setValue(await screen.findByTestId('account-name'), 'Relay');
		await setValue(screen.getByTestId('account-host'), 'smtp.example.com');
		await choose(screen.getByTestId('account-security'), 'plain_loopback');
		await setValue(screen.getByTestId('account-from-address'), 'alex@example.com');
		await fireEvent.click(screen.getByTestId('account-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('localhost');
	});
});

describe('engine status', () => {
	it('shows the engine state and follows engine events', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		const item = await screen.findByTestId('engine-status');
		await waitFor(() => expect(item.textContent).toContain('stopped'));
		backend.emit({ kind: 'engine', status: { state: 'offline', queued: 7, sent: 3, last_error: 'connection refused' } });
		await waitFor(() => expect(item.textContent).toContain('offline, 7 queued'));
	});
});
