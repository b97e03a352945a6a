import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { fireEvent, renderApp, screen, waitFor } from '../../../tests/helpers';

/** A two-step campaign for four people, ready to start. */
function running() {
	const backend = new MockBackend();
	const ws = backend.seedWorkspace('Acme client', { postal_address: '1 Example Street' });
	const people = backend.seedProspects(ws.id, 4);
	const s = backend.sending;
	const acc = s.seedAccount(ws.id, 'Relay');
	const tpl = s.seedTemplate(ws.id, 'First', 'Hello', 'Hi\n{{ privacy_notice }}\n{{ opt_out }}\n{{ postal_address }}');
	const steps = [0, 2].map((delay) => ({ delay_business_days: delay, condition: 'no_reply' as const, template_ids: [tpl.id] }));
	const c = s.seedCampaign(ws.id, { name: 'Launch', account_id: acc.id, steps });
	s.seedEnrolments(
		c.id,
		people.map((p) => p.id)
	);
	return { backend, ws, people, c };
}

async function openCampaign() {
	await fireEvent.click(await screen.findByTestId('nav-campaigns'));
	await fireEvent.click(await screen.findByTestId('campaign-item'));
	await screen.findByTestId('campaign-progress');
}

const tile = (key: string) => screen.getByTestId(`progress-${key}`).textContent;

describe('campaign progress', () => {
	it('counts where the people stand and shows no withdrawal as a delivery error', async () => {
		const { backend, people, c } = running();
		await backend.call('start_campaign', { campaign_id: c.id });
		// One prospect replies, one opts out: their queued messages are withdrawn, not failed.
		backend.sending.stopSequencesFor(people[0].id);
		backend.sending.optOut(people[1].id, 'a test');
		renderApp(backend);
		await openCampaign();
		await waitFor(() => expect(tile('replied')).toBe('1'));
		expect(['enrolled', 'active', 'replied', 'completed', 'stopped'].map(tile)).toEqual(['4', '2', '1', '0', '1']);
		expect(screen.queryByTestId('progress-last-error')).toBeNull();
		expect(screen.getByTestId('progress-stopped').closest('[title]')?.getAttribute('title')).toContain('opted out');
	});

	it('shows a bounce as the latest delivery error', async () => {
		const { backend, people, c } = running();
		await backend.call('start_campaign', { campaign_id: c.id });
		const [sent] = backend.sending.seedMessages(c.id, 'sent', [people[2].id]);
		backend.sending.bounceFor(sent.prospect_id, '550 5.1.1 no such user');
		renderApp(backend);
		await openCampaign();
		await waitFor(() => expect(screen.getByTestId('progress-last-error').textContent).toContain('550 5.1.1 no such user'));
		expect(['bounced', 'stopped'].map(tile)).toEqual(['1', '1']);
	});
});
