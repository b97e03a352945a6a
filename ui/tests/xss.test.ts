import { describe, expect, it } from 'vitest';
import { fireEvent, mockWithWorkspace, renderApp, screen, waitForRows } from './helpers';

const EVIL = '<img src=x onerror=alert(1)>';

describe('prospect text is rendered as text only', () => {
	it('shows a hostile name literally in the row and the detail, creating no element', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		backend.seedProspects(ws.id, 1, () => ({
			first_name: EVIL,
			last_name: null,
			company: '<script>alert(2)</script>',
			notes: '<b onmouseover=alert(3)>x</b>'
		}));
		const { container } = renderApp(backend);
		const [row] = await waitForRows();
		expect(row.querySelector('[data-testid="cell-name"]')?.textContent).toBe(EVIL);
		expect(row.textContent).toContain('<script>alert(2)</script>');

		await fireEvent.click(row);
		const name = await screen.findByTestId('detail-name');
		expect(name.textContent).toBe(EVIL);
		expect((screen.getByTestId('edit-first_name') as HTMLInputElement).value).toBe(EVIL);
		expect((screen.getByTestId('edit-notes') as HTMLTextAreaElement).value).toBe('<b onmouseover=alert(3)>x</b>');

		expect(container.querySelector('img')).toBeNull();
		expect(document.querySelector('img')).toBeNull();
		expect(document.querySelector('script')).toBeNull();
		expect(document.querySelector('b[onmouseover]')).toBeNull();
		expect(new XMLSerializer().serializeToString(document.body)).toContain('&lt;img src=x onerror=alert(1)&gt;');
	});
});
