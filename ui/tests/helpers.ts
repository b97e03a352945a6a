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

export async function setValue(el: HTMLElement, value: string) {
	await fireEvent.input(el, { target: { value } });
}

export async function choose(el: HTMLElement, value: string) {
	(el as HTMLSelectElement).value = value;
	await fireEvent.change(el);
}
