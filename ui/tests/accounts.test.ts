import { describe, expect, it } from 'vitest';
import { campaignReady, choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor } from './helpers';

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
		await backend.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, host: 'mail.nowhere.invalid' }, secret: null, dkim_private_key: null, remove_dkim_key: false });
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

const PEM = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----';

async function openAccounts() {
	await fireEvent.click(await screen.findByTestId('nav-accounts'));
	return screen.findByTestId('account-name');
}

function value(testid: string): string {
	return (screen.getByTestId(testid) as HTMLInputElement | HTMLTextAreaElement).value;
}

describe('sender account DKIM and rates', () => {
	it('sends the DKIM key once, never shows it again, and keeps it when the field is left empty', async () => {
		const { backend, ws } = mockWithWorkspace();
		renderApp(backend);
		await setValue(await openAccounts(), 'Alex (work)');
		expect(screen.getByTestId('account-dkim-key-status').dataset.stored).toBe('false');
		await setValue(screen.getByTestId('account-host'), 'smtp.example.com');
		await setValue(screen.getByTestId('account-from-address'), 'alex@example.com');
		await setValue(screen.getByTestId('account-dkim-selector'), 'mail2025');
		await setValue(screen.getByTestId('account-dkim-key'), `\n${PEM}\n`);
		await setValue(screen.getByTestId('account-cap-minute'), '5');
		await setValue(screen.getByTestId('account-cap-hour'), '');
		await setValue(screen.getByTestId('account-cap-day'), '300');
		await setValue(screen.getByTestId('account-ramp-start'), '20');
		await setValue(screen.getByTestId('account-ramp-increase'), '10');
		await fireEvent.click(screen.getByTestId('account-save'));

		await waitFor(() => expect(screen.getAllByTestId('account-item')).toHaveLength(1));
		const first = backend.callsOf('save_account')[0];
		expect(first).toMatchObject({ workspace_id: ws.id, id: null, dkim_private_key: PEM, remove_dkim_key: false });
		expect(first.fields).toMatchObject({
			dkim_selector: 'mail2025',
			dkim_domain: null,
			per_minute_cap: 5,
			hourly_cap: null,
			daily_cap: 300,
			ramp_start: 20,
			ramp_increase: 10
		});
		expect(JSON.stringify(first.fields)).not.toContain('PRIVATE KEY');

		// Saved: the key is stored, the field is empty and says how to keep it.
		await waitFor(() => expect(screen.getByTestId('account-dkim-key-status').dataset.stored).toBe('true'));
		expect(value('account-dkim-key')).toBe('');
		expect(document.body.textContent).not.toContain('MC4CAQAw');
		expect(screen.getByTestId('account-dkim-key-note').textContent).toContain('OS keychain');
		expect(screen.getByTestId('account-dkim-key-note').textContent).toContain('Leave empty to keep the stored key');
		// The core filled in the signing domain; the rates come back as saved.
		expect(value('account-dkim-domain')).toBe('example.com');
		expect([value('account-cap-minute'), value('account-cap-hour'), value('account-cap-day')]).toEqual(['5', '', '300']);
		expect([value('account-ramp-start'), value('account-ramp-increase')]).toEqual(['20', '10']);

		// Saving again with the field empty keeps the stored key.
		await setValue(screen.getByTestId('account-dkim-selector'), 'mail2026');
		await fireEvent.click(screen.getByTestId('account-save'));
		await waitFor(() => expect(backend.callsOf('save_account')).toHaveLength(2));
		expect(backend.callsOf('save_account')[1]).toMatchObject({ dkim_private_key: null, remove_dkim_key: false, fields: { dkim_selector: 'mail2026' } });
		expect((await backend.call('list_accounts', { workspace_id: ws.id }))[0].has_dkim_key).toBe(true);

		// Taking the key off: nothing happens until saved, and "Keep it" undoes the choice.
		await fireEvent.click(screen.getByTestId('account-dkim-remove'));
		expect(screen.getByTestId('account-dkim-key-status').textContent).toContain('no longer signed');
		expect((screen.getByTestId('account-dkim-key') as HTMLTextAreaElement).disabled).toBe(true);
		await fireEvent.click(screen.getByTestId('account-dkim-keep'));
		expect(screen.getByTestId('account-dkim-key-status').textContent).toContain('A private key is stored');
		await fireEvent.click(screen.getByTestId('account-dkim-remove'));
		await fireEvent.click(screen.getByTestId('account-save'));
		await waitFor(() => expect(backend.callsOf('save_account')).toHaveLength(3));
		expect(backend.callsOf('save_account')[2]).toMatchObject({ dkim_private_key: null, remove_dkim_key: true });
		await waitFor(() => expect(screen.getByTestId('account-dkim-key-status').dataset.stored).toBe('false'));
		expect(value('account-dkim-selector')).toBe('');
		expect((await backend.call('list_accounts', { workspace_id: ws.id }))[0]).toMatchObject({
			has_dkim_key: false,
			fields: { dkim_selector: null, dkim_domain: null }
		});
	});

	it('says when a new sender writes again the messages waiting to go out from the account', async () => {
		const { backend, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const queued = (await backend.call('campaign_progress', { campaign_id: c.id })).queued;
		expect(queued).toBeGreaterThan(1);
		renderApp(backend);
		await openAccounts();
		await waitFor(() => expect(value('account-from-name')).not.toBe(''));
		await setValue(screen.getByTestId('account-from-name'), 'Alex of Acme');
		await fireEvent.click(screen.getByTestId('account-save'));
		await waitFor(() =>
			expect(screen.getByTestId('toast').textContent).toContain(`${queued} messages waiting to go out are written again from the new sender.`)
		);
		// The caps alone leave what was written as it is.
		await setValue(screen.getByTestId('account-cap-day'), '40');
		await fireEvent.click(screen.getByTestId('account-save'));
		await waitFor(() => expect(backend.callsOf('save_account')).toHaveLength(2));
		await waitFor(() => expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe('Account “Relay” saved.'));
	});

	it('never pre-fills the key of an existing account', async () => {
		const { backend, ws } = mockWithWorkspace();
		const a = backend.sending.seedAccount(ws.id, 'Signed');
		await backend.call('save_account', { workspace_id: ws.id, id: a.id, fields: { ...a.fields, dkim_selector: 's1' }, secret: null, dkim_private_key: PEM, remove_dkim_key: false });
		const b = backend.sending.seedAccount(ws.id, 'Unsigned');
		renderApp(backend);
		await openAccounts();
		await waitFor(() => expect(value('account-dkim-selector')).toBe('s1'));
		expect(value('account-dkim-key')).toBe('');
		expect(screen.getByTestId('account-dkim-key-status').textContent).toContain('A private key is stored');

		await fireEvent.click(screen.getAllByTestId('account-item').find((i) => i.textContent?.includes(b.fields.name)) as HTMLElement);
		await waitFor(() => expect(screen.getByTestId('account-dkim-key-status').dataset.stored).toBe('false'));
		expect(screen.getByTestId('account-dkim-key-status').textContent).toContain('not signed');
		expect(screen.getByTestId('account-dkim-key-note').textContent).not.toContain('Leave empty');
	});

	it('explains invalid rates and a key without its selector, and saves nothing until fixed', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		await setValue(await openAccounts(), 'Alex');
		await setValue(screen.getByTestId('account-host'), 'smtp.example.com');
		await setValue(screen.getByTestId('account-from-address'), 'alex@example.com');
		await setValue(screen.getByTestId('account-cap-minute'), '0');
		await setValue(screen.getByTestId('account-cap-hour'), '2.5');
		await setValue(screen.getByTestId('account-cap-day'), 'lots');
		await setValue(screen.getByTestId('account-ramp-increase'), '10');
		await setValue(screen.getByTestId('account-dkim-key'), PEM);

		expect(screen.getByTestId('account-cap-minute-error').textContent).toBe('Per minute: write a whole number of at least 1, or leave it empty.');
		expect(screen.getByTestId('account-cap-hour-error').textContent).toContain('Per hour');
		expect(screen.getByTestId('account-cap-day-error').textContent).toContain('Per day');
		expect(screen.getByTestId('account-ramp-increase-error').textContent).toContain('needs a first-day amount');
		expect(screen.getByTestId('account-dkim-key-error').textContent).toContain('needs its selector');
		expect(screen.getByTestId('account-cap-minute').getAttribute('aria-invalid')).toBe('true');
		expect(screen.getByTestId('account-cap-minute').getAttribute('aria-describedby')).toBe('account-cap-minute-error');
		expect(screen.queryByTestId('account-ramp-start-error')).toBeNull();

		await fireEvent.click(screen.getByTestId('account-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('see the messages next to the fields');
		expect(backend.callsOf('save_account')).toHaveLength(0);
		expect(document.activeElement).toBe(screen.getByTestId('account-cap-minute'));

		await setValue(screen.getByTestId('account-cap-minute'), '');
		await setValue(screen.getByTestId('account-cap-hour'), '60');
		await setValue(screen.getByTestId('account-cap-day'), ' 250 ');
		await setValue(screen.getByTestId('account-ramp-start'), '15');
		await setValue(screen.getByTestId('account-dkim-selector'), 'sel');
		expect(screen.queryByTestId('account-cap-day-error')).toBeNull();
		expect(screen.queryByTestId('account-dkim-key-error')).toBeNull();
		await fireEvent.click(screen.getByTestId('account-save'));
		await waitFor(() => expect(backend.callsOf('save_account')).toHaveLength(1));
		expect(backend.callsOf('save_account')[0].fields).toMatchObject({ per_minute_cap: null, hourly_cap: 60, daily_cap: 250, ramp_start: 15, ramp_increase: 10 });
	});

	it('shows a key the core refuses next to the form and keeps it there to fix', async () => {
		const { backend, ws } = mockWithWorkspace();
		const a = backend.sending.seedAccount(ws.id, 'Alex');
		renderApp(backend);
		await openAccounts();
		await waitFor(() => expect(value('account-name')).toBe('Alex'));
		await setValue(screen.getByTestId('account-dkim-selector'), 'sel');
		await setValue(screen.getByTestId('account-dkim-key'), 'ssh-ed25519 AAAA not a private key');
		await fireEvent.click(screen.getByTestId('account-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('DKIM key');
		expect(screen.queryByTestId('error-banner')).toBeNull();
		expect(value('account-dkim-key')).toBe('ssh-ed25519 AAAA not a private key');
		const [stored] = await backend.call('list_accounts', { workspace_id: ws.id });
		expect(stored).toMatchObject({ id: a.id, has_dkim_key: false, fields: { dkim_selector: null } });
	});
});

describe('engine status', () => {
	it('shows the engine state and follows engine events', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		const item = await screen.findByTestId('engine-status');
		await waitFor(() => expect(item.textContent).toContain('stopped'));
		backend.emit({ kind: 'engine', status: { state: 'offline', queued: 7, sent: 3, purged: 0, purge_done_at: null, last_error: 'connection refused' } });
		await waitFor(() => expect(item.textContent).toContain('offline, 7 queued'));
		backend.emit({ kind: 'engine', status: { state: 'running', queued: 12500, sent: 3, purged: 0, purge_done_at: null, last_error: null } });
		await waitFor(() => expect(item.textContent).toContain(`running, ${(12500).toLocaleString()} queued`));
	});

	it('removes an account no campaign sends from, after saying what goes, and opens the next one', async () => {
		const { backend, ws } = mockWithWorkspace();
		const alex = backend.sending.seedAccount(ws.id, 'Alex');
		backend.sending.seedAccount(ws.id, 'Bea');
		backend.sending.seedCampaign(ws.id, { name: 'Spring', account_id: alex.id });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-accounts'));
		await waitFor(() => expect((screen.getByTestId('account-name') as HTMLInputElement).value).toBe('Alex'));
		expect(screen.getByTestId('account-used-by').textContent).toBe('Sends for Spring.');

		// A campaign sends from it: refused in the dialog, which names the campaign.
		await fireEvent.click(screen.getByTestId('account-remove'));
		const summary = await screen.findByTestId('account-remove-summary');
		expect(summary.textContent).toContain('Its password leaves the keychain');
		expect(summary.textContent).toContain('cannot be undone');
		await fireEvent.click(screen.getByTestId('account-remove-confirm'));
		expect((await screen.findByTestId('account-remove-error')).textContent).toContain("used by 'Spring'");
		expect(screen.getAllByTestId('account-item')).toHaveLength(2);

		// Cancelled, nothing happens; once the campaign is in the trash it goes.
		await fireEvent.click(screen.getByText('Cancel'));
		expect(screen.queryByTestId('account-remove-dialog')).toBeNull();
		const spring = (await backend.call('list_campaigns', { workspace_id: ws.id }))[0];
		await backend.call('delete_campaign', { campaign_id: spring.id });
		await fireEvent.click(screen.getByTestId('account-remove'));
		await fireEvent.click(await screen.findByTestId('account-remove-confirm'));
		await waitFor(() => expect(screen.getAllByTestId('account-item').map((b) => b.querySelector('span')?.textContent)).toEqual(['Bea']));
		expect((screen.getByTestId('account-name') as HTMLInputElement).value).toBe('Bea');
		expect(screen.queryByTestId('account-used-by')).toBeNull();
		expect(backend.callsOf('delete_account')).toEqual([{ account_id: alex.id }, { account_id: alex.id }]);
		// The draft in the trash comes back without the account.
		const back = await backend.call('restore_campaign', { campaign_id: spring.id });
		expect(back.fields.account_id).toBeNull();
	});
});
