import { afterEach, describe, expect, it } from 'vitest';
import { COLUMNS_KEY, DEFAULT_COLUMNS, gridTemplate, loadColumns, saveColumns, validColumns } from './columns';

describe('prospect table columns', () => {
	afterEach(() => localStorage.clear());

	it('keep table order and the name, and drop unknown keys', () => {
		expect(validColumns(['score', 'bogus', 'email'])).toEqual(['name', 'email', 'score']);
	});

	it('are remembered, and damaged storage gives the defaults', () => {
		expect(loadColumns()).toEqual(DEFAULT_COLUMNS);
		saveColumns(['name', 'title', 'followers']);
		expect(loadColumns()).toEqual(['name', 'title', 'followers']);
		localStorage.setItem(COLUMNS_KEY, '{not json');
		expect(loadColumns()).toEqual(DEFAULT_COLUMNS);
		localStorage.setItem(COLUMNS_KEY, '[1, 2]');
		expect(loadColumns()).toEqual(DEFAULT_COLUMNS);
	});

	it('share the width, keeping the core ones when narrow', () => {
		expect(gridTemplate(['name', 'email', 'source'], false)).toBe('32px 1.7fr 2fr 1.1fr');
		expect(gridTemplate(['name', 'email', 'source'], true)).toBe('32px 1.7fr 2fr');
		// A date keeps the width it needs whatever the share.
		expect(gridTemplate(['name', 'created'], false)).toBe('32px 1.7fr minmax(100px, 1fr)');
	});
});
