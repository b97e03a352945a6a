import { describe, expect, it } from 'vitest';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, setValue, waitFor, waitForRows } from './helpers';

const CSV = [
	'Contact,Mail,Org,Followers,Remarks',
	'Ada Lovelace,ada@engine.example,Analytical,12k,first',
	'Bad Mail,not-an-email,Nowhere,10,second',
	'Grace Hopper,grace@navy.example,Navy,lots,third',
	'Alan Turing,alan@bletchley.example,Bletchley,2k,fourth'
].join('\n');

describe('import dialog', () => {
	it('previews, lets the mapping change, runs with progress and reports counts and errors', async () => {
		const { backend, ws } = mockWithWorkspace(0, { importStepMs: 15 });
		backend.registerFile('leads.csv', CSV);
		backend.pickSaveResult = 'errors-out.csv';
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('import-open'));
		expect(screen.getByRole('dialog')).toBeTruthy();

		await setValue(screen.getByTestId('import-path'), 'leads.csv');
		await fireEvent.click(screen.getByTestId('import-preview'));
		await screen.findByTestId('import-mapping');
		expect(screen.getByTestId('import-source-type').textContent).toBe('CSV');
		expect(screen.getByTestId('import-delimiter').textContent).toContain('comma');
		expect(screen.getAllByTestId('import-column')[1].textContent).toContain('ada@engine.example');
		// Detected: Contact -> full_name, Mail -> email, Followers; Org and Remarks are kept as
		// custom fields for templates unless remapped or skipped.
		expect((screen.getByTestId('map-0') as HTMLSelectElement).value).toBe('full_name');
		expect((screen.getByTestId('map-2') as HTMLSelectElement).value).toBe('custom');
		const options = [...(screen.getByTestId('map-2') as HTMLSelectElement).options].map((o) => o.value);
		expect(options[0]).toBe('');
		expect(options).toContain('company');
		expect(options).toContain('custom');
		expect(options).toContain('time_zone');
		expect(options).toHaveLength(17);

		await choose(screen.getByTestId('map-2'), 'company');
		await choose(screen.getByTestId('map-4'), 'notes');
		await fireEvent.click(screen.getByTestId('import-run'));

		const progress = await screen.findByTestId('import-progress');
		expect(progress.querySelector('progress')).toBeTruthy();
		await waitFor(() => expect(screen.getByTestId('import-phase').textContent).toMatch(/Reading|Saving/));
		expect((screen.getByTestId('import-close') as HTMLButtonElement).disabled).toBe(true);

		const report = await screen.findByTestId('import-report', {}, { timeout: 3000 });
		expect(report).toBeTruthy();
		expect(screen.getByTestId('import-created').textContent).toBe('2');
		expect(screen.getByTestId('import-merged').textContent).toBe('0');
		expect(screen.getByTestId('import-invalid').textContent).toBe('2');
		const errorRows = screen.getAllByTestId('import-error-row');
		expect(errorRows).toHaveLength(2);
		expect(errorRows[0].textContent).toContain('3');
		expect(errorRows[0].textContent).toContain('Mail');
		expect(errorRows[0].textContent).toContain('not-an-email');
		expect(errorRows[1].textContent).toContain('lots');

		const call = backend.callsOf('import_csv')[0];
		expect(call.workspace_id).toBe(ws.id);
		expect(call.path).toBe('leads.csv');
		expect(call.columns?.map((c) => c.field)).toEqual(['full_name', 'email', 'company', 'followers', 'notes']);

		await fireEvent.click(screen.getByTestId('import-export-errors'));
		await waitFor(() => expect(screen.getByTestId('toast-message').textContent).toContain('Wrote 2 errors'));
		// The first import of this backend has id 1.
		expect(backend.callsOf('export_import_errors')).toEqual([{ import_id: 1, path: 'errors-out.csv' }]);
		expect(backend.files.get('errors-out.csv')).toContain('not-an-email');

		await fireEvent.click(screen.getByTestId('import-close'));
		await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
		await waitForRows();
		await waitFor(() => expect(screen.getByTestId('prospect-total').textContent).toContain('2'));
		const names = screen.getAllByTestId('cell-name').map((c) => c.textContent);
		expect(names).toEqual(expect.arrayContaining(['Ada Lovelace', 'Alan Turing']));
		expect(backend.peekProspect(1)?.company).toBe('Analytical');
	});

	it('uses the file picker and shows csv_invalid and missing files inline', async () => {
		const { backend } = mockWithWorkspace(0);
		backend.registerFile('empty.csv', '');
		backend.pickCsvResult = 'empty.csv';
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('import-open'));
		await fireEvent.click(screen.getByTestId('import-browse'));
		await waitFor(() => expect((screen.getByTestId('import-path') as HTMLInputElement).value).toBe('empty.csv'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('no header row');
		expect(screen.queryByTestId('error-banner')).toBeNull();

		await setValue(screen.getByTestId('import-path'), 'missing.csv');
		await fireEvent.click(screen.getByTestId('import-preview'));
		await waitFor(() => expect(screen.getByTestId('form-error').textContent).toContain('missing.csv'));
	});

	it('shows the mapping problem and the backend refusal of a bad mapping inline', async () => {
		const { backend } = mockWithWorkspace(0);
		backend.registerFile('odd.csv', 'foo,bar\n1,2\n');
		renderApp(backend);
		await fireEvent.click(await screen.findByTestId('import-open'));
		await setValue(screen.getByTestId('import-path'), 'odd.csv');
		await fireEvent.click(screen.getByTestId('import-preview'));
		expect((await screen.findByTestId('mapping-problem')).textContent).toContain('map at least one');
		await fireEvent.click(screen.getByTestId('import-run'));
		expect((await screen.findByTestId('form-error')).textContent).toContain('map at least one');
		expect(screen.queryByTestId('import-report')).toBeNull();
	});
});
