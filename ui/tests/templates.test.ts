import { describe, expect, it } from 'vitest';
import { fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor } from './helpers';

const EVIL = '<img src=x onerror=alert(1)>';

describe('templates', () => {
	it('previews for the first prospect as text only and lists the pre-send problems', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		backend.seedProspects(ws.id, 1, () => ({ first_name: EVIL, company: '<script>alert(2)</script>' }));
		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello {{ company }}', 'Hi {{ first_name }},\n\n{{ privacy_notice }}');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));

		await waitFor(() => expect(screen.getByTestId('preview-subject').textContent).toBe('Hello <script>alert(2)</script>'));
		expect(screen.getByTestId('preview-body').textContent).toContain(`Hi ${EVIL},`);
		expect(document.querySelector('img')).toBeNull();
		expect(document.querySelector('script')).toBeNull();

		const problems = screen.getByTestId('template-problems');
		const kinds = [...problems.querySelectorAll('[data-testid="problem"]')].map((li) => li.getAttribute('data-kind'));
		expect(kinds).toEqual(['missing_opt_out']);
		expect(problems.textContent).toContain('{{ opt_out }}');

		// Adding the opt-out clears the problem once the debounced preview comes back.
		await setValue(screen.getByTestId('template-body'), 'Hi {{ first_name }},\n\n{{ privacy_notice }}\n{{ opt_out }}');
		await waitFor(() => expect(screen.getByTestId('template-problems').getAttribute('data-empty')).toBe('true'));
		const last = backend.callsOf('preview_template').at(-1);
		expect(last?.body).toContain('{{ opt_out }}');
		expect(last?.prospect_id).toBeNull();
	});

	it('shows a syntax error from saving next to the form and saves a fixed template', async () => {
		const { backend, ws } = mockWithWorkspace(1);
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		await setValue(await screen.findByTestId('template-name'), 'Follow-up');
		await setValue(screen.getByTestId('template-subject'), 'Hi {{ first_name');
		await fireEvent.click(screen.getByTestId('template-save'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('never closed');
		expect(screen.queryByTestId('error-banner')).toBeNull();

		await setValue(screen.getByTestId('template-subject'), 'Hi {{ first_name }}');
		await fireEvent.click(screen.getByTestId('template-save'));
		await waitFor(() => expect(screen.getAllByTestId('template-item').map((b) => b.textContent)).toEqual(['Follow-up']));
		expect(screen.queryByTestId('form-error')).toBeNull();
		expect(backend.callsOf('save_template').at(-1)).toMatchObject({ workspace_id: ws.id, id: null, name: 'Follow-up', subject: 'Hi {{ first_name }}' });
	});
});
