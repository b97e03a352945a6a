import { describe, expect, it } from 'vitest';
import { MockBackend } from '$lib/platform/mock';
import { buildPatch, draftOf, isEmptyPatch, prospectName } from './patch';

describe('buildPatch', () => {
	const backend = new MockBackend();
	const ws = backend.seedWorkspace('W');
	const [p] = backend.seedProspects(ws.id, 1, () => ({ followers: 1200, title: null, notes: 'hi' }));

	it('is empty when nothing changed', () => {
		expect(isEmptyPatch(buildPatch(p, draftOf(p)))).toBe(true);
	});

	it('holds only the changed fields; clearing a field sends an empty string', () => {
		const d = draftOf(p);
		d.title = 'CEO';
		d.notes = '';
		d.followers = '1200';
		d.status = 'replied';
		const patch = buildPatch(p, d);
		expect(patch).toEqual({
			first_name: null,
			last_name: null,
			email: null,
			website: null,
			x_handle: null,
			linkedin_url: null,
			company: null,
			title: 'CEO',
			country: null,
			time_zone: null,
			followers: null,
			notes: '',
			status: 'replied'
		});
	});

	it('names prospects by name, then e-mail, then id', () => {
		expect(prospectName({ id: 7, first_name: 'A', last_name: 'B', email: null })).toBe('A B');
		expect(prospectName({ id: 7, first_name: null, last_name: null, email: 'x@y.z' })).toBe('x@y.z');
		expect(prospectName({ id: 7, first_name: ' ', last_name: null, email: null })).toBe('Prospect #7');
	});
});
