import { describe, expect, it, vi } from 'vitest';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor } from './helpers';

const EVIL = '<img src=x onerror=alert(1)>';

describe('templates', () => {
	it('offers a new template once the list is read, so that the first load cannot replace it', async () => {
		const { backend, ws } = mockWithWorkspace(0, { latencyMs: 40 });
		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi {{ first_name }}');
		renderApp(backend);
		await screen.findByTestId('prospect-total');
		await fireEvent.click(screen.getByTestId('nav-templates'));
		const add = (await screen.findByTestId('template-new')) as HTMLButtonElement;
		expect(add.disabled).toBe(true);
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Intro'));
		expect(add.disabled).toBe(false);
		await fireEvent.click(add);
		expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('');
	});

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

	it('renders the preview for the prospect picked in the search, and for the first one again', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const [first] = backend.seedProspects(ws.id, 1, () => ({ first_name: 'Anna', last_name: 'First', company: 'Alpha Co' }));
		backend.seedProspects(ws.id, 30);
		const [zelda] = backend.seedProspects(ws.id, 1, () => ({ first_name: 'Zelda', last_name: 'Quartz', company: 'Hyrule Media' }));
		backend.sending.seedTemplate(ws.id, 'Intro', 'Hello {{ company }}', 'Hi {{ first_name }}\n{{ privacy_notice }}\n{{ opt_out }}');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));

		// Default: the first prospect.
		const picker = (await screen.findByTestId('preview-prospect')) as HTMLSelectElement;
		expect(picker.value).toBe('');
		await waitFor(() => expect(screen.getByTestId('preview-subject').textContent).toBe('Hello Alpha Co'));
		expect(screen.getByTestId('preview-for').textContent).toContain(`first prospect, ${first.first_name} ${first.last_name}.`);
		expect(backend.callsOf('preview_template').every((c) => c.prospect_id === null)).toBe(true);

		// Search narrows the choices (through the backend), then pick.
		await setValue(screen.getByTestId('preview-prospect-search'), 'zel');
		await waitFor(() => expect([...picker.options].map((o) => o.value)).toEqual(['', String(zelda.id)]));
		expect(backend.callsOf('list_prospects').at(-1)).toMatchObject({ workspace_id: ws.id, search: 'zel', deleted: false });
		expect(picker.options[1].textContent).toBe('Zelda Quartz · ' + zelda.email);
		await choose(picker, String(zelda.id));
		await waitFor(() => expect(screen.getByTestId('preview-subject').textContent).toBe('Hello Hyrule Media'));
		expect(screen.getByTestId('preview-body').textContent).toContain('Hi Zelda');
		expect(backend.callsOf('preview_template').at(-1)?.prospect_id).toBe(zelda.id);
		expect(screen.getByTestId('preview-for').textContent).toBe(`For ${zelda.first_name} ${zelda.last_name}.`);

		// A new search keeps the pick; editing re-renders for the picked prospect.
		await setValue(screen.getByTestId('preview-prospect-search'), 'nobody-matches-this');
		await screen.findByTestId('preview-prospect-none');
		expect(picker.value).toBe(String(zelda.id));
		await setValue(screen.getByTestId('template-subject'), 'Hey {{ first_name }}');
		await waitFor(() => expect(screen.getByTestId('preview-subject').textContent).toBe('Hey Zelda'));
		expect(backend.callsOf('preview_template').at(-1)?.prospect_id).toBe(zelda.id);

		await choose(picker, '');
		await waitFor(() => expect(screen.getByTestId('preview-subject').textContent).toBe('Hey Anna'));
		expect(backend.callsOf('preview_template').at(-1)?.prospect_id).toBeNull();
	});

	it('shows a failed preview for the picked prospect in the banner', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const [p] = backend.seedProspects(ws.id, 2);
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		const picker = (await screen.findByTestId('preview-prospect')) as HTMLSelectElement;
		await waitFor(() => expect(picker.options.length).toBe(3));
		await screen.findByTestId('preview-subject');
		backend.failNext('preview_template', { code: 'not_found', message: `There is no prospect ${p.id}.` });
		await choose(picker, String(p.id));
		expect((await screen.findByTestId('error-banner')).textContent).toContain(`There is no prospect ${p.id}.`);
		expect(backend.callsOf('preview_template').at(-1)?.prospect_id).toBe(p.id);
	});

	it('moves a template no campaign uses to the trash, with undo and a restore in the trash', async () => {
		const { backend, ws } = mockWithWorkspace(1);
		const used = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi');
		backend.sending.seedTemplate(ws.id, 'Spare', 'Hello', 'Unused');
		backend.sending.seedCampaign(ws.id, { name: 'Spring', steps: [{ delay_business_days: 0, condition: 'always', template_ids: [used.id] }] });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		const names = () => screen.getAllByTestId('template-item').map((b) => b.textContent);
		await waitFor(() => expect(names()).toEqual(['Intro', 'Spare']));

		// The one a campaign uses stays, and the form says which campaign.
		await fireEvent.click(screen.getByTestId('template-trash'));
		expect((await screen.findByTestId('form-error')).textContent).toContain("used by 'Spring'");
		expect(names()).toEqual(['Intro', 'Spare']);
		expect(screen.queryByTestId('template-trash-list')).toBeNull();

		// The other goes; Undo brings it back.
		await fireEvent.click(screen.getAllByTestId('template-item')[1]);
		await fireEvent.click(screen.getByTestId('template-trash'));
		await waitFor(() => expect(names()).toEqual(['Intro']));
		expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Intro');
		expect(screen.getByTestId('template-trash-list').textContent).toContain('Trash (1)');
		await fireEvent.click(await screen.findByTestId('template-trash-undo'));
		await waitFor(() => expect(names()).toEqual(['Intro', 'Spare']));
		expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Spare');
		expect(screen.queryByTestId('template-trash-list')).toBeNull();

		// Or later, from the trash under the list.
		await fireEvent.click(screen.getByTestId('template-trash'));
		await waitFor(() => expect(names()).toEqual(['Intro']));
		const restore = screen.getByTestId('template-trash-list-restore');
		expect(restore.getAttribute('aria-label')).toBe('Restore template Spare');
		await fireEvent.click(restore);
		await waitFor(() => expect(names()).toEqual(['Intro', 'Spare']));
		expect(backend.callsOf('restore_template')).toHaveLength(2);
	});

	it('asks before a template with unsaved changes goes to the trash', async () => {
		const { backend, ws } = mockWithWorkspace(1);
		backend.sending.seedTemplate(ws.id, 'Spare', 'Hello', 'Unused');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		await setValue(await screen.findByTestId('template-subject'), 'Hello again');
		await fireEvent.click(screen.getByTestId('template-trash'));
		expect((await screen.findByTestId('unsaved-what')).textContent).toContain('your changes to the template “Spare”');
		expect(backend.callsOf('delete_template')).toHaveLength(0);
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect(screen.getByTestId('template-name')).toHaveProperty('value', ''));
		expect(backend.callsOf('delete_template')).toEqual([{ template_id: 1 }]);
	});

	it('says which campaigns use a template, and duplicates it into a copy that opens', async () => {
		const { backend, ws } = mockWithWorkspace(1);
		const intro = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi there');
		backend.sending.seedCampaign(ws.id, {
			name: 'Spring',
			steps: [{ delay_business_days: 0, condition: 'always', template_ids: [intro.id] }],
			positive_follow_up: { template_id: intro.id, mode: 'draft' }
		});
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		await waitFor(() => expect(screen.getByTestId('template-used-by').textContent).toBe('Used by Spring (step 1, positive follow-up).'));

		await fireEvent.click(screen.getByTestId('template-copy'));
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Copy of Intro'));
		expect((screen.getByTestId('template-subject') as HTMLInputElement).value).toBe('Hello');
		expect((screen.getByTestId('template-body') as HTMLTextAreaElement).value).toBe('Hi there');
		expect(screen.queryByTestId('template-used-by')).toBeNull();
		expect(screen.getAllByTestId('template-item').map((b) => b.textContent)).toEqual(['Copy of Intro', 'Intro']);

		// A second copy of the same template is numbered.
		await fireEvent.click(screen.getAllByTestId('template-item')[1]);
		await fireEvent.click(screen.getByTestId('template-copy'));
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Copy of Intro (2)'));
		expect(backend.callsOf('copy_template')).toEqual([
			{ template_id: intro.id, name: null },
			{ template_id: intro.id, name: null }
		]);
	});

	it('says how many messages waiting to go out a new text writes again', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const people = backend.seedProspects(ws.id, 2);
		const intro = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi there');
		const spring = backend.sending.seedCampaign(ws.id, {
			name: 'Spring',
			steps: [{ delay_business_days: 0, condition: 'always', template_ids: [intro.id] }]
		});
		backend.sending.seedEnrolments(
			spring.id,
			people.map((p) => p.id)
		);
		spring.status = 'running';
		backend.sending.seedMessages(
			spring.id,
			'queued',
			people.map((p) => p.id)
		);
		renderApp(backend, { toastMs: 60_000 });
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		await waitFor(() => expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Intro'));

		await setValue(screen.getByTestId('template-body'), 'Hi there, corrected');
		await fireEvent.click(screen.getByTestId('template-save'));
		await waitFor(() =>
			expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe(
				'Template “Intro” saved. 2 messages waiting to go out are written again with the new text.'
			)
		);
		// A new name alone writes nothing again.
		await waitFor(() => expect((screen.getByTestId('template-save') as HTMLButtonElement).disabled).toBe(false));
		await setValue(screen.getByTestId('template-name'), 'Intro v2');
		await fireEvent.click(screen.getByTestId('template-save'));
		await waitFor(() => expect(screen.getAllByTestId('toast-message').at(-1)?.textContent).toBe('Template “Intro v2” saved.'));
	});

	it('keeps what is typed as it is typed, and offers it back after a crash until it is saved', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const intro = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', 'Hi {{ first_name }},\n\n{{ privacy_notice }}\n{{ opt_out }}');
		const first = renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		const subject = (await screen.findByTestId('template-subject')) as HTMLInputElement;
		await waitFor(() => expect(subject.value).toBe('Hello'));
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		try {
			await fireEvent.input(subject, { target: { value: 'Hello, from the train' } });
			vi.advanceTimersByTime(1000);
			// Still typing: nothing kept yet.
			expect(backend.callsOf('keep_template_draft')).toHaveLength(0);
			vi.advanceTimersByTime(600);
		} finally {
			vi.useRealTimers();
		}
		await waitFor(() => expect(backend.callsOf('keep_template_draft')).toHaveLength(1));
		expect(backend.callsOf('keep_template_draft')[0]).toMatchObject({ workspace_id: ws.id, template_id: intro.id, subject: 'Hello, from the train' });
		await waitFor(() => expect(screen.getByTestId('template-kept').textContent).toBe('Not saved yet; kept in case the app stops'));
		expect(screen.queryByTestId('toast')).toBeNull();

		// The app dies with nothing saved; opened again, the edit is back and says so.
		first.unmount();
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		await waitFor(() => expect((screen.getByTestId('template-subject') as HTMLInputElement).value).toBe('Hello, from the train'));
		expect(screen.getByTestId('template-restored').textContent).toContain('Restored what you were writing on');
		expect(backend.callsOf('save_template')).toEqual([]);
		// Leaving now asks: it is not saved.
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		await fireEvent.click(await screen.findByTestId('unsaved-stay'));

		// Saved: the kept copy is forgotten, and nothing comes back.
		await fireEvent.click(screen.getByTestId('template-save'));
		await waitFor(() => expect(screen.queryByTestId('template-restored')).toBeNull());
		expect(await backend.call('template_draft', { workspace_id: ws.id, template_id: intro.id })).toBeNull();
		expect(backend.callsOf('save_template')).toMatchObject([{ id: intro.id, subject: 'Hello, from the train' }]);
	});

	it('forgets a kept edit once it is given up, on leaving or from the notice', async () => {
		const { backend, ws } = mockWithWorkspace(0);
		const body = 'Hi {{ first_name }},\n\n{{ privacy_notice }}\n{{ opt_out }}';
		const intro = backend.sending.seedTemplate(ws.id, 'Intro', 'Hello', body);
		await backend.call('keep_template_draft', { workspace_id: ws.id, template_id: intro.id, name: 'Intro', subject: 'Half a thought', body });
		await backend.call('keep_template_draft', { workspace_id: ws.id, template_id: null, name: 'Nudge', subject: 'Again?', body });
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('nav-templates'));
		const subject = () => (screen.getByTestId('template-subject') as HTMLInputElement).value;
		await waitFor(() => expect(subject()).toBe('Half a thought'));

		// "Discard it": back to the template as saved, and nothing kept.
		await fireEvent.click(screen.getByTestId('template-restored-drop'));
		expect(subject()).toBe('Hello');
		await waitFor(() => expect(screen.queryByTestId('template-restored')).toBeNull());
		await waitFor(() => expect(backend.callsOf('discard_template_draft')).toMatchObject([{ workspace_id: ws.id, template_id: intro.id }]));
		expect(await backend.call('template_draft', { workspace_id: ws.id, template_id: intro.id })).toBeNull();

		// The new template's edit comes back too; leaving it, given up, forgets it.
		await fireEvent.click(screen.getByTestId('template-new'));
		await waitFor(() => expect(subject()).toBe('Again?'));
		expect((screen.getByTestId('template-name') as HTMLInputElement).value).toBe('Nudge');
		await fireEvent.click(screen.getByTestId('nav-campaigns'));
		expect(screen.getByTestId('unsaved-what').textContent).toContain('the new template');
		await fireEvent.click(screen.getByTestId('unsaved-discard'));
		await waitFor(() => expect(screen.getByTestId('nav-campaigns').getAttribute('aria-current')).toBe('page'));
		expect(await backend.call('template_draft', { workspace_id: ws.id, template_id: null })).toBeNull();
		expect(backend.callsOf('save_template')).toEqual([]);
	});
});
