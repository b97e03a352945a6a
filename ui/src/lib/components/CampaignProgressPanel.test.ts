import { describe, expect, it } from 'vitest';
import { campaignReady, fireEvent, renderApp, screen, waitFor } from '../../../tests/helpers';

async function openCampaign() {
	await fireEvent.click(await screen.findByTestId('nav-campaigns'));
	await fireEvent.click(await screen.findByTestId('campaign-item'));
	await screen.findByTestId('campaign-progress');
}

/** The campaign started; the first prospect replied and the second opted out, which withdraws their queued messages. On screen. */
async function startedWithAReplyAndAnOptOut() {
	const ready = campaignReady();
	const { backend, people, c } = ready;
	await backend.call('start_campaign', { campaign_id: c.id });
	backend.sending.stopSequencesFor(people[0].id);
	backend.sending.optOut(people[1].id, 'a test');
	renderApp(backend);
	await openCampaign();
	return ready;
}

const tile = (key: string) => screen.getByTestId(`progress-${key}`).textContent;

describe('campaign progress', () => {
	it('counts where the people stand and shows no withdrawal as a delivery error', async () => {
		await startedWithAReplyAndAnOptOut();
		await waitFor(() => expect(tile('replied')).toBe('1'));
		expect(['enrolled', 'active', 'replied', 'completed', 'stopped'].map(tile)).toEqual(['4', '2', '1', '0', '1']);
		expect(screen.queryByTestId('progress-last-error')).toBeNull();
		expect(screen.getByTestId('progress-stopped').closest('[title]')?.getAttribute('title')).toContain('opted out');
	});

	it('lists the people behind a figure, with why each stopped, and the messages behind another', async () => {
		const { backend, people, c } = await startedWithAReplyAndAnOptOut();
		await waitFor(() => expect(tile('stopped')).toBe('1'));

		const stopped = screen.getByTestId('progress-pick-stopped');
		expect(stopped.getAttribute('aria-pressed')).toBe('false');
		await fireEvent.click(stopped);
		expect(stopped.getAttribute('aria-pressed')).toBe('true');
		await waitFor(() => expect(screen.getAllByTestId('progress-person')).toHaveLength(1));
		const row = screen.getByTestId('progress-person');
		expect(row.textContent).toContain(`${people[1].first_name} ${people[1].last_name}`);
		expect(row.querySelector('[data-testid="progress-person-standing"]')?.textContent).toBe('opted out');
		expect(backend.callsOf('list_enrolments').at(-1)).toMatchObject({ campaign_id: c.id, group: 'stopped' });

		await fireEvent.click(screen.getByTestId('progress-pick-active'));
		await waitFor(() => expect(screen.getAllByTestId('progress-person').map((r) => r.dataset.state)).toEqual(['waiting', 'waiting']));
		expect(screen.getAllByTestId('progress-person-standing').map((r) => r.textContent)).toEqual(['Step 1 in the outbox', 'Step 1 in the outbox']);

		// The messages behind a figure: the two first steps still queued.
		await fireEvent.click(screen.getByTestId('progress-pick-queued'));
		await waitFor(() => expect(screen.getAllByTestId('progress-message')).toHaveLength(2));
		expect(screen.queryByTestId('progress-person')).toBeNull();
		// Choosing it again closes the list.
		await fireEvent.click(screen.getByTestId('progress-pick-queued'));
		expect(screen.queryByTestId('progress-list')).toBeNull();
		// The figures without a list of their own are not buttons.
		expect(screen.queryByTestId('progress-pick-blocked')).toBeNull();
	});

	it('reads the open list again when a figure moves, not on every refresh', async () => {
		const { backend, ws, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		renderApp(backend);
		await openCampaign();
		await fireEvent.click(await screen.findByTestId('progress-pick-stopped'));
		await screen.findByTestId('progress-list-empty');
		const reads = () => backend.callsOf('list_enrolments').length;
		const progressReads = () => backend.callsOf('campaign_progress').length;
		const before = reads();

		// The campaigns changed elsewhere, but none of this one's figures did.
		const polled = progressReads();
		backend.emit({ kind: 'changed', entity: 'campaigns', workspace_id: ws.id, source: 'cli' });
		await waitFor(() => expect(progressReads()).toBeGreaterThan(polled));
		expect(reads()).toBe(before);

		backend.sending.optOut(people[3].id, 'a test');
		backend.emit({ kind: 'changed', entity: 'campaigns', workspace_id: ws.id, source: 'cli' });
		await waitFor(() => expect(screen.getAllByTestId('progress-person')).toHaveLength(1));
		expect(reads()).toBe(before + 1);
	});

	it('refuses to send again a message whose fate is unknown to someone who opted out since', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const [lost] = backend.sending.seedMessages(c.id, 'unconfirmed', [people[2].id]);
		backend.sending.optOut(people[2].id, 'asked by phone');
		renderApp(backend);
		await openCampaign();
		await fireEvent.click(await screen.findByTestId('unconfirmed-resend'));
		await waitFor(() => expect(screen.getByTestId('error-banner').textContent).toContain('cannot be sent again: the prospect opted out'));
		expect(backend.callsOf('resolve_unconfirmed')).toMatchObject([{ message_ids: [lost.id], choice: 'resend' }]);
		// Still there to be marked sent or cancelled.
		expect(screen.getByTestId('unconfirmed-cancel')).toBeTruthy();
		await fireEvent.click(screen.getByTestId('unconfirmed-cancel'));
		await waitFor(() => expect(screen.queryByTestId('unconfirmed-cancel')).toBeNull());
	});

	it('lets the blocked people meet the gate again once the cause is fixed, after asking', async () => {
		const { backend, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		backend.sending.blockFor(c.id, 'no_assessment', 'No legitimate-interest assessment is recorded.', 2);
		backend.sending.blockFor(c.id, 'suppressed', 'The address is on the suppression list.', 1);
		renderApp(backend);
		await openCampaign();
		await fireEvent.click(await screen.findByTestId('retry-blocked'));
		const asked = screen.getByTestId('retry-blocked-confirm').textContent;
		expect(asked).toContain('Check 2 blocked people again?');
		expect(asked).toContain('Suppressed addresses stay blocked for good');
		await fireEvent.click(screen.getByTestId('retry-blocked-no'));
		expect(backend.callsOf('retry_blocked')).toHaveLength(0);
		await fireEvent.click(screen.getByTestId('retry-blocked'));
		await fireEvent.click(screen.getByTestId('retry-blocked-yes'));
		// The suppressed one stays, with nothing left to check again.
		await waitFor(() => expect(screen.getByTestId('progress-blocked-reasons').textContent).not.toContain('legitimate-interest'));
		expect(screen.getByTestId('progress-blocked-reasons').textContent).toContain('suppression list');
		expect(screen.queryByTestId('retry-blocked')).toBeNull();
		expect(backend.callsOf('retry_blocked')).toEqual([{ campaign_id: c.id }]);
		expect(screen.getByTestId('toast').textContent).toContain('2 blocked people go to the compliance gate again.');
	});

	it('says a message tried before waits while its prospect is in the trash, and the engine leaves it', async () => {
		const { backend, ws, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		// Ada's step met a 4xx once: it stays as written, waiting for a retry.
		const [tried] = backend.sending.seedMessages(c.id, 'queued', [people[0].id]);
		tried.attempts = 1;
		await backend.call('delete_prospects', { workspace_id: ws.id, ids: [people[0].id] });
		renderApp(backend);
		await openCampaign();
		await waitFor(() =>
			expect(screen.getByTestId('progress-held').textContent).toContain('1 queued message waits while its prospect is in the trash')
		);
		while (backend.sending.sendNext() !== null);
		expect(tried.status).toBe('queued');

		await backend.call('restore_prospects', { workspace_id: ws.id, ids: [people[0].id] });
		backend.emit({ kind: 'changed', entity: 'campaigns', workspace_id: ws.id, source: 'cli' });
		await waitFor(() => expect(screen.queryByTestId('progress-held')).toBeNull());
		expect(backend.sending.sendNext()?.id).toBe(tried.id);
	});

	it('shows a bounce as the latest delivery error', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		const [sent] = backend.sending.seedMessages(c.id, 'sent', [people[2].id]);
		backend.sending.bounceFor(sent.prospect_id, '550 5.1.1 no such user');
		renderApp(backend);
		await openCampaign();
		await waitFor(() => expect(screen.getByTestId('progress-last-error').textContent).toContain('550 5.1.1 no such user'));
		expect(['bounced', 'stopped'].map(tile)).toEqual(['1', '1']);
	});
});
