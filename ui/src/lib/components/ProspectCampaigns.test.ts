import { describe, expect, it } from 'vitest';
import { campaignReady, fireEvent, renderApp, screen, waitFor, waitForRows } from '../../../tests/helpers';

describe("a prospect's campaigns", () => {
	it('lists the campaigns a prospect is in, with where they stand in each', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('start_campaign', { campaign_id: c.id });
		backend.sending.optOut(people[1].id, 'a test');
		renderApp(backend);
		const rows = await waitForRows();
		const open = async (id: number) => {
			await fireEvent.click(rows.find((r) => r.dataset.id === String(id)) as HTMLElement);
			return screen.findByTestId('prospect-campaign');
		};

		const stopped = await open(people[1].id);
		expect(stopped.dataset.state).toBe('stopped');
		expect(stopped.textContent).toContain('Launch');
		expect(screen.getByTestId('prospect-campaign-standing').textContent).toBe('opted out');

		await fireEvent.click(screen.getByTestId('detail-close'));
		await open(people[2].id);
		await waitFor(() => expect(screen.getByTestId('prospect-campaign-standing').textContent).toBe('Step 1 in the outbox'));
	});

	it('says when a campaign of the prospect’s history is in the trash', async () => {
		const { backend, people, c } = campaignReady();
		await backend.call('stop_campaign', { campaign_id: c.id });
		await backend.call('delete_campaign', { campaign_id: c.id });
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows.find((r) => r.dataset.id === String(people[0].id)) as HTMLElement);
		const entry = await screen.findByTestId('prospect-campaign');
		expect(entry.textContent).toContain('Launch');
		expect(screen.getByTestId('prospect-campaign-trashed').textContent).toBe('in the trash');
	});
});
