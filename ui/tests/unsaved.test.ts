import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor, waitForRows } from './helpers';

const BODY = 'Hi {{ first_name }},\n\n{{ privacy_notice }}\n{{ opt_out }}';

function current(view: string): boolean {
	return screen.getByTestId(`nav-${view}`).getAttribute('aria-current') === 'page';
}

describe('unsaved work', () => {
	it('asks before leaving an edited template, and keeps it or lets it go as told', async () => {
		const backend = new MockBackend();
		const ws = backend.seedWorkspace('Acme client');
		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', BODY);
		backend.sending.seedTemplate(ws.id, 'Nudge', 'Again', BODY);
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		const body = (await screen.findByTestId('template-body')) as HTMLTextAreaElement;
		await waitFor(() => expect(body.value).toBe(BODY));

		// Saved work leaves without a word.
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();
		expect(current('campaigns')).toBe(true);

		await fireEvent.click(screen.getByTestId('nav-templates'));
		await waitFor(() => expect((screen.getByTestId('template-body') as HTMLTextAreaElement).value).toBe(BODY));
		await setValue(screen.getByTestId('template-body'), 'A long text written on the train');
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		expect(screen.getByTestId('unsaved-what').textContent).toContain('your changes to the template “Intro”');
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();
		expect(current('templates')).toBe(true);
		expect((screen.getByTestId('template-body') as HTMLTextAreaElement).value).toBe('A long text written on the train');

		// Another template of the same view asks too.
		await fireEvent.click(screen.getAllByTestId('template-item')[1]);
		expect(screen.getByTestId('unsaved-what').textContent).toContain('“Intro”');
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Nudge'));
		expect(backend.callsOf('save_template')).toEqual([]);

		// A new one asks once something is typed.
		await fireEvent.click(screen.getByTestId('template-new'));
		await setValue(screen.getByTestId('template-name'), 'Draft');
		await fireEvent.click(screen.getByTestId('nav-inbox'));
		expect(screen.getByTestId('unsaved-what').textContent).toContain('the new template');
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect(current('inbox')).toBe(true));
	});

	it('keeps the workspace until edits to a prospect are given up', async () => {
		const { backend, ws } = mockWithWorkspace(3);
		const other = backend.seedWorkspace('Other client');
		renderApp(backend);
		const rows = await waitForRows();
		await fireEvent.click(rows[0]);
		await setValue(await screen.findByTestId('edit-company'), 'Renamed Co');
		const name = screen.getByTestId('detail-name').textContent ?? '';

		const select = screen.getByTestId('workspace-select') as HTMLSelectElement;
		await choose(select, String(other.id));
		expect(screen.getByTestId('unsaved-what').textContent).toContain(`your changes to ${name}`);
		// The switcher still names the workspace on screen while the question is open.
		expect(select.value).toBe(String(ws.id));
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect(select.value).toBe(String(ws.id));
		expect((screen.getByTestId('edit-company') as HTMLInputElement).value).toBe('Renamed Co');

		// Closing the details asks as well.
		await fireEvent.click(screen.getByTestId('detail-close'));
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect(screen.getByTestId('prospect-detail')).toBeTruthy();

		await choose(select, String(other.id));
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect(select.value).toBe(String(other.id)));
		expect(backend.callsOf('update_prospect')).toEqual([]);
	});

	it('asks nothing once the changes are saved', async () => {
		const backend = new MockBackend();
		backend.seedWorkspace('Acme client');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-settings'));
		await setValue(await screen.findByTestId('sending-consent-countries'), 'DE, AT');
		await fireEvent.click(screen.getByTestId('nav-prospects'));
		expect(screen.getByTestId('unsaved-what').textContent).toContain('the sending settings');
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		await fireEvent.click(screen.getByTestId('sending-save'));
		await waitFor(() => expect(backend.callsOf('set_sending_settings')).toHaveLength(1));
		await waitFor(() => expect(screen.getAllByTestId('toast-message').map((t) => t.textContent)).toContain('Sending settings saved.'));
		await fireEvent.click(screen.getByTestId('nav-prospects'));
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();
		expect(current('prospects')).toBe(true);
	});

	it('holds a quit while the user decides about unsaved work', async () => {
		const { backend } = mockWithWorkspace(2);
		renderApp(backend);
		const rows = await waitForRows();
		// Nothing unsaved: the app quits at once.
		backend.requestQuit();
		expect(backend.quitAnswers).toEqual(['quit']);
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();

		await fireEvent.click(rows[0]);
		await setValue(await screen.findByTestId('edit-company'), 'Renamed Co');
		backend.requestQuit();
		expect(backend.quitAnswers).toEqual(['quit', 'hold']);
		const what = await screen.findByTestId('unsaved-what');
		expect(what.textContent).toContain('If you quit now, the unsaved changes are lost.');
		expect(screen.getByTestId('unsaved-discard').textContent).toBe('Discard and quit');
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect(backend.quitAnswers).toEqual(['quit', 'hold']);
		expect((screen.getByTestId('edit-company') as HTMLInputElement).value).toBe('Renamed Co');

		backend.requestQuit();
		await fireEvent.click(await screen.findByTestId('unsaved-discard'));
		await waitFor(() => expect(backend.quitAnswers).toEqual(['quit', 'hold', 'hold', 'quit']));
	});
	it('asks before a dialog drops what was typed into it', async () => {
		const backend = new MockBackend();
		backend.seedWorkspace('Acme client');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('new-workspace'));
		// Nothing typed: Cancel closes at once.
		await fireEvent.click(screen.getByTestId('ws-cancel'));
		expect(screen.queryByTestId('workspace-dialog')).toBeNull();
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();

		await fireEvent.click(screen.getByTestId('new-workspace'));
		await setValue(screen.getByTestId('ws-address'), 'Main St 1\n12345 Town');
		await fireEvent.keyDown(screen.getByTestId('ws-address'), { key: 'Escape' });
		expect(screen.getByTestId('unsaved-what').textContent).toContain('the new workspace’s details');
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect((screen.getByTestId('ws-address') as HTMLTextAreaElement).value).toBe('Main St 1\n12345 Town');

		await setValue(screen.getByTestId('ws-name'), 'Brightlane');
		await fireEvent.click(screen.getByTestId('ws-cancel'));
		expect(screen.getByTestId('unsaved-what').textContent).toContain('the new workspace “Brightlane”');
		// Escape answers the question, not the dialog under it.
		await fireEvent.keyDown(screen.getByTestId('unsaved-stay'), { key: 'Escape' });
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();
		expect(screen.getByTestId('workspace-dialog')).toBeTruthy();

		// A quit meanwhile asks about the dialog's work too.
		backend.requestQuit();
		expect(backend.quitAnswers).toEqual(['hold']);
		await fireEvent.click(await screen.findByTestId('unsaved-stay'));

		await fireEvent.click(screen.getByTestId('ws-cancel'));
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		expect(screen.queryByTestId('workspace-dialog')).toBeNull();
		expect(backend.callsOf('create_workspace')).toEqual([]);
	});

	it('asks before the import dialog drops a changed column mapping, and only then', async () => {
		const { backend } = mockWithWorkspace(0);
		backend.registerFile('/home/me/leads.csv', 'Contact,Mail,Org\nAda Lovelace,ada@engine.example,Analytical');
		renderApp(backend);
		const open = async () => {
			await fireEvent.click(await screen.findByTestId('import-open'));
			await setValue(screen.getByTestId('import-path'), '/home/me/leads.csv');
			await fireEvent.click(screen.getByTestId('import-preview'));
			await screen.findByTestId('import-mapping');
		};
		// The detected mapping is not the user's work.
		await open();
		await fireEvent.keyDown(screen.getByTestId('map-2'), { key: 'Escape' });
		expect(screen.queryByTestId('import-dialog')).toBeNull();
		expect(screen.queryByTestId('unsaved-dialog')).toBeNull();

		await open();
		await choose(screen.getByTestId('map-2'), 'company');
		await fireEvent.keyDown(screen.getByTestId('map-2'), { key: 'Escape' });
		expect(screen.getByTestId('unsaved-what').textContent).toContain('your column choices for “leads.csv”');
		await fireEvent.click(screen.getByTestId('unsaved-stay'));
		expect((screen.getByTestId('map-2') as HTMLSelectElement).value).toBe('company');
		await fireEvent.keyDown(screen.getByTestId('map-2'), { key: 'Escape' });
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		expect(screen.queryByTestId('import-dialog')).toBeNull();
		expect(backend.callsOf('import_csv')).toEqual([]);
	});
});
