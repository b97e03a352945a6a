import { render, screen, waitFor, fireEvent } from '@testing-library/svelte';
import App from '$lib/components/App.svelte';
import { MockBackend, type MockOptions } from '$lib/platform/mock';
import type { AppOptions } from '$lib/state/app.svelte';

export { screen, waitFor, fireEvent };

/** Render the whole app against a mock backend. */
export function renderApp(backend: MockBackend, options: AppOptions = {}) {
	return render(App, { props: { backend, options } });
}

/** A mock with one workspace (and optionally `count` prospects in it). */
export function mockWithWorkspace(count = 0, opts: MockOptions = {}) {
	const backend = new MockBackend(opts);
	const ws = backend.seedWorkspace('Acme client');
	if (count > 0) backend.seedProspects(ws.id, count);
	return { backend, ws };
}

/** Wait until the prospect table shows rows. */
export async function waitForRows(): Promise<HTMLElement[]> {
	return waitFor(() => {
		const rows = screen.getAllByTestId('prospect-row');
		if (rows.length === 0) throw new Error('no rows');
		return rows;
	});
}

/** The table's row of this prospect. */
export function prospectRow(id: number): HTMLElement {
	const r = screen.getAllByTestId('prospect-row').find((x) => x.dataset.id === String(id));
	if (!r) throw new Error(`no row for prospect ${id}`);
	return r;
}

/** Ticks (or unticks) the prospect's row. */
export async function tick(id: number) {
	await fireEvent.click(prospectRow(id).querySelector('[data-testid="prospect-check"]') as HTMLElement);
}

export async function setValue(el: HTMLElement, value: string) {
	await fireEvent.input(el, { target: { value } });
}

export async function choose(el: HTMLElement, value: string) {
	(el as HTMLSelectElement).value = value;
	await fireEvent.change(el);
}

/** A workspace with a two-step campaign for four of its prospects, ready to start. */
export function campaignReady(opts: MockOptions = {}) {
	const backend = new MockBackend(opts);
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
