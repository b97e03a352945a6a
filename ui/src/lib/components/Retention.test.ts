import { afterEach, describe, expect, it, vi } from 'vitest';
import { campaignReady, fireEvent, renderApp, screen, setValue, waitFor } from '../../../tests/helpers';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('data retention', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it('previews a shorter period, confirms what it erases, and erases those due on request', async () => {
		const { backend, ws, people } = campaignReady();
		renderApp(backend, { toastMs: 60_000 });
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		const months = (await screen.findByTestId('retention-months')) as HTMLInputElement;
		const due = screen.getByTestId('retention-due');
		await waitFor(() => expect(due.textContent).toContain('Nobody is due now. The next period ends on'));
		expect(months.value).toBe('36');

		// Two months on (only Date moves), nobody has replied.
		vi.useFakeTimers({ toFake: ['Date'] });
		vi.setSystemTime(Date.now() + 62 * DAY_MS);
		await setValue(months, '1');
		await waitFor(() => expect(due.textContent).toContain('With 1 month, 4 prospects would be due at once.'));

		// Saving asks first, naming what goes; cancelled, nothing changes.
		await fireEvent.click(screen.getByTestId('retention-save'));
		const summary = await screen.findByTestId('retention-summary');
		expect(summary.textContent).toContain('4 prospects have not replied for 1 month.');
		expect(summary.textContent).toContain('4 places in campaigns');
		expect((screen.getByTestId('retention-confirm') as HTMLButtonElement).disabled).toBe(true);
		await fireEvent.click(screen.getByText('Cancel'));
		expect((await backend.call('retention_status', { workspace_id: ws.id, months: null })).months).toBe(36);

		await fireEvent.click(screen.getByTestId('retention-save'));
		await fireEvent.click(await screen.findByTestId('retention-understood'));
		await fireEvent.click(screen.getByTestId('retention-confirm'));
		await waitFor(() => expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain('Retention saved.'));
		expect((await backend.call('retention_status', { workspace_id: ws.id, months: null })).months).toBe(1);
		await waitFor(() => expect(due.textContent).toContain("4 prospects have reached it; the engine erases them at its next check."));

		// Erased now, on request, after the same acknowledgement.
		await fireEvent.click(screen.getByTestId('retention-purge'));
		expect((await screen.findByTestId('retention-summary')).textContent).toContain('This erases them now');
		await fireEvent.click(screen.getByTestId('retention-understood'));
		await fireEvent.click(screen.getByTestId('retention-confirm'));
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain('Erased 4 prospects whose retention period ended.')
		);
		await waitFor(() => expect(due.textContent).toContain('Nobody is due now.'));
		for (const p of people) await expect(backend.call('get_prospect', { id: p.id })).rejects.toMatchObject({ code: 'not_found' });
		const audit = await backend.call('list_audit', { workspace_id: ws.id, limit: 1, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit[0].action).toBe('prospect.purge');
	});

	it('asks before saving a shorter period even when its preview has not arrived yet', async () => {
		const { backend } = campaignReady({ latencyMs: 30 });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		const months = (await screen.findByTestId('retention-months')) as HTMLInputElement;
		await waitFor(() => expect(months.value).toBe('36'));
		vi.useFakeTimers({ toFake: ['Date'] });
		vi.setSystemTime(Date.now() + 62 * DAY_MS);
		await setValue(months, '1');
		await fireEvent.click(screen.getByTestId('retention-save'));
		expect((await screen.findByTestId('retention-summary')).textContent).toContain('4 prospects have not replied for 1 month.');
		expect(backend.callsOf('set_retention')).toHaveLength(0);
	});

	it('refuses a period outside 1 to 120 months next to the field', async () => {
		const { backend } = campaignReady();
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		const months = (await screen.findByTestId('retention-months')) as HTMLInputElement;
		await waitFor(() => expect(months.value).toBe('36'));
		await setValue(months, '0');
		await fireEvent.click(screen.getByTestId('retention-save'));
		expect((await screen.findAllByTestId('form-error')).map((e) => e.textContent)).toContain('keep prospects for 1 to 120 months');
		expect(backend.callsOf('set_retention')).toHaveLength(1);
	});
});
