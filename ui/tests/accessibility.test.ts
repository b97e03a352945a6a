import axe from 'axe-core';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { campaignReady, fireEvent, renderApp, screen, setValue, waitForRows } from './helpers';

/**
 * What axe finds against WCAG 2.1 A and AA in the page as it stands. Rules that need layout or
 * a canvas (colour contrast, names matching visible text) run in the real webview (E2E).
 */
async function violations(): Promise<string[]> {
	const result = await axe.run(document.body, {
		runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
		rules: { 'color-contrast': { enabled: false }, 'label-content-name-mismatch': { enabled: false } }
	});
	return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('accessibility', () => {
	it('every view passes WCAG 2.1 A and AA rules that need no layout', async () => {
		const { backend } = campaignReady();
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows[0]);
		await screen.findByTestId('prospect-detail');
		await fireEvent.click(screen.getByTestId('columns-open'));
		await screen.findByTestId('columns-panel');
		const found: Record<string, string[]> = { prospects: await violations() };
		for (const view of ['campaigns', 'inbox', 'templates', 'accounts', 'audit', 'settings']) {
			await fireEvent.click(screen.getByTestId(`nav-${view}`));
			await new Promise((r) => setTimeout(r, 50));
			found[view] = await violations();
		}
		expect(found).toEqual({ prospects: [], campaigns: [], inbox: [], templates: [], accounts: [], audit: [], settings: [] });
	});

	it('the first screen and the dialogs pass them too', async () => {
		const backend = new MockBackend();
		renderApp(backend);
		await screen.findByTestId('welcome');
		const found: Record<string, string[]> = { welcome: await violations() };
		await fireEvent.click(screen.getByTestId('create-first-workspace'));
		await screen.findByTestId('ws-name');
		found.newWorkspace = await violations();
		await setValue(screen.getByTestId('ws-name'), 'Acme');
		await fireEvent.click(screen.getByTestId('ws-save'));
		await screen.findByTestId('prospect-total');
		await fireEvent.click(await screen.findByTestId('import-open'));
		await screen.findByTestId('import-dialog');
		found.importDialog = await violations();
		await fireEvent.click(screen.getByText('Cancel'));
		await setValue(screen.getByTestId('filter-min-score'), '80');
		await fireEvent.click(screen.getByTestId('filter-save'));
		await screen.findByTestId('filter-dialog');
		found.filterDialog = await violations();
		await fireEvent.click(screen.getByText('Cancel'));
		await fireEvent.keyDown(window, { key: 'k', ctrlKey: true });
		await screen.findByTestId('palette');
		found.palette = await violations();
		expect(found).toEqual({ welcome: [], newWorkspace: [], importDialog: [], filterDialog: [], palette: [] });
	});
});
