import { describe, expect, it } from 'vitest';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor } from '../../../tests/helpers';

async function openAccounts() {
	await fireEvent.click(await screen.findByTestId('nav-accounts'));
	return screen.findByTestId('account-name');
}

function value(testid: string): string {
	return (screen.getByTestId(testid) as HTMLInputElement | HTMLSelectElement).value;
}

describe('reply mailbox', () => {
	async function openMailbox() {
		await fireEvent.click(await screen.findByTestId('nav-accounts'));
		return screen.findByTestId('mailbox-section');
	}

	it('is offered for a saved account only', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		await openAccounts();
		expect(screen.queryByTestId('mailbox-section')).toBeNull();
	});

	it('saves a mailbox with the defaults filled in, then tests it', async () => {
		const { backend, ws } = mockWithWorkspace();
		const a = backend.sending.seedAccount(ws.id, 'Alex');
		renderApp(backend, { toastMs: 60_000 });
		await openMailbox();
		await waitFor(() => expect(screen.getByTestId('mailbox-save').hasAttribute('disabled')).toBe(false));
		expect([value('mailbox-host'), value('mailbox-port'), value('mailbox-username'), value('mailbox-folder')]).toEqual(['', '993', 'alex', 'INBOX']);
		expect(value('mailbox-security')).toBe('implicit_tls');
		expect(value('mailbox-auth')).toBe('password');
		expect((screen.getByTestId('mailbox-enabled') as HTMLInputElement).checked).toBe(true);
		expect(screen.getByTestId('mailbox-host').getAttribute('placeholder')).toBe('imap.example.com');
		expect(screen.getByTestId('mailbox-secret').getAttribute('type')).toBe('password');
		expect(screen.getByTestId('mailbox-secret').getAttribute('placeholder')).toBe("Empty uses the account's sending password");
		expect([...(screen.getByTestId('mailbox-security') as HTMLSelectElement).options].map((o) => o.textContent)).toContain(
			'No TLS (only to this computer)'
		);
		expect(screen.getByTestId('mailbox-test').hasAttribute('disabled')).toBe(true);
		expect(screen.getByTestId('mailbox-remove').hasAttribute('disabled')).toBe(true);

		await choose(screen.getByTestId('mailbox-security'), 'plain_loopback');
		expect(value('mailbox-port')).toBe('143');
		await choose(screen.getByTestId('mailbox-security'), 'implicit_tls');
		expect(value('mailbox-port')).toBe('993');
		await setValue(screen.getByTestId('mailbox-host'), 'imap.example.com');
		await fireEvent.click(screen.getByTestId('mailbox-save'));

		await waitFor(() => expect(backend.callsOf('save_mailbox')).toHaveLength(1));
		expect(backend.callsOf('save_mailbox')[0]).toEqual({
			account_id: a.id,
			fields: { host: 'imap.example.com', port: 993, security: 'implicit_tls', username: 'alex', auth: 'password', mailbox: 'INBOX', enabled: true },
			secret: null
		});
		expect((await screen.findByTestId('toast-message')).textContent).toBe('Reply mailbox of “Alex” saved.');
		await waitFor(() => expect(screen.getByTestId('mailbox-test').hasAttribute('disabled')).toBe(false));
		await fireEvent.click(screen.getByTestId('mailbox-test'));
		const result = await screen.findByTestId('mailbox-test-result');
		expect(result.getAttribute('data-ok')).toBe('true');
		expect(result.textContent).toContain('opened INBOX');
		expect(backend.callsOf('test_mailbox')).toEqual([{ account_id: a.id }]);
	});

	it('shows what the core refuses next to the form', async () => {
		const { backend, ws } = mockWithWorkspace();
		backend.sending.seedAccount(ws.id, 'Alex');
		renderApp(backend);
		await openMailbox();
		await waitFor(() => expect(screen.getByTestId('mailbox-save').hasAttribute('disabled')).toBe(false));
		await fireEvent.click(screen.getByTestId('mailbox-save'));
		expect((await screen.findByTestId('mailbox-error')).textContent).toBe('the mailbox needs an IMAP host');
		await setValue(screen.getByTestId('mailbox-host'), 'imap.example.com');
		await setValue(screen.getByTestId('mailbox-port'), '0');
		await fireEvent.click(screen.getByTestId('mailbox-save'));
		await waitFor(() => expect(screen.getByTestId('mailbox-error').textContent).toBe('the port must be between 1 and 65535'));
		expect(screen.queryByTestId('error-banner')).toBeNull();
		expect(await backend.call('get_mailbox', { account_id: 1 })).toBeNull();
	});

	it('sends a secret once, never shows it, and needs one when the account has no password', async () => {
		const { backend, ws } = mockWithWorkspace();
		const seeded = backend.sending.seedAccount(ws.id, 'Seeded');
		const bare = await backend.call('save_account', {
			workspace_id: ws.id,
			id: null,
			fields: { ...seeded.fields, name: 'Bare', username: null },
			secret: null,
			dkim_private_key: null,
			remove_dkim_key: false
		});
		renderApp(backend);
		await openAccounts();
		await fireEvent.click(screen.getAllByTestId('account-item').find((i) => i.textContent?.includes('Bare')) as HTMLElement);
		await waitFor(() => expect(screen.getByTestId('mailbox-secret').getAttribute('placeholder')).toContain('Needed'));
		await setValue(screen.getByTestId('mailbox-host'), 'imap.example.com');
		await fireEvent.click(screen.getByTestId('mailbox-save'));
		expect((await screen.findByTestId('mailbox-error')).textContent).toContain('password or token');

		await choose(screen.getByTestId('mailbox-auth'), 'xoauth2');
		await setValue(screen.getByTestId('mailbox-secret'), 'ya29.token-value');
		await fireEvent.click(screen.getByTestId('mailbox-save'));
		await waitFor(() => expect(screen.getByTestId('mailbox-secret').getAttribute('placeholder')).toBe('Empty keeps the stored one'));
		expect(backend.callsOf('save_mailbox').at(-1)).toMatchObject({ account_id: bare.id, secret: 'ya29.token-value', fields: { auth: 'xoauth2' } });
		expect(JSON.stringify(backend.callsOf('save_mailbox').at(-1)?.fields)).not.toContain('ya29');
		expect(value('mailbox-secret')).toBe('');
		expect(document.body.textContent).not.toContain('ya29');
		expect(screen.queryByTestId('mailbox-error')).toBeNull();
	});

	it('shows the last poll and its error, and removes the mailbox after confirmation', async () => {
		const { backend, ws } = mockWithWorkspace();
		const a = backend.sending.seedAccount(ws.id, 'Alex');
		backend.inbox.seedMailbox(a.id, { host: 'imap.example.com', port: 1993, mailbox: 'Replies' });
		backend.inbox.pollMailbox(a.id, 'the server refused the login');
		renderApp(backend);
		await openMailbox();
		const status = await screen.findByTestId('mailbox-status');
		expect(status.textContent).toContain('Last checked');
		expect(status.textContent).toContain('the server refused the login');
		expect([value('mailbox-host'), value('mailbox-port'), value('mailbox-folder')]).toEqual(['imap.example.com', '1993', 'Replies']);

		await fireEvent.click(screen.getByTestId('mailbox-remove'));
		const dialog = await screen.findByTestId('confirm-dialog');
		await fireEvent.click([...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Cancel') as HTMLElement);
		await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
		expect(backend.callsOf('remove_mailbox')).toHaveLength(0);

		await fireEvent.click(screen.getByTestId('mailbox-remove'));
		await fireEvent.click(await screen.findByTestId('confirm-ok'));
		await waitFor(() => expect(backend.callsOf('remove_mailbox')).toEqual([{ account_id: a.id }]));
		await waitFor(() => expect(value('mailbox-host')).toBe(''));
		expect(screen.queryByTestId('mailbox-status')).toBeNull();
		expect(screen.getByTestId('mailbox-remove').hasAttribute('disabled')).toBe(true);
		expect(await backend.call('get_mailbox', { account_id: a.id })).toBeNull();
	});
});
