import { describe, expect, it } from 'vitest';
import { NO_FILTER, describeFilter, isEmptyFilter, sameFilter } from './filters';

describe('prospect filters', () => {
	it('compare as the store reads them', () => {
		const a = { ...NO_FILTER, statuses: ['qualified', 'contacted'] as const, country: 'DE', search: ' garden ' };
		expect(sameFilter({ ...a, statuses: [...a.statuses] }, { ...a, statuses: ['contacted', 'qualified'], country: 'de', search: 'garden' })).toBe(true);
		expect(sameFilter({ ...a, statuses: [...a.statuses] }, { ...a, statuses: ['contacted'], country: 'de', search: 'garden' })).toBe(false);
		expect(sameFilter({ ...NO_FILTER, min_score: 0 }, NO_FILTER)).toBe(false);
		expect(isEmptyFilter({ ...NO_FILTER, search: '  ', country: '' })).toBe(true);
		expect(isEmptyFilter({ ...NO_FILTER, max_score: 40 })).toBe(false);
	});

	it('say what they select', () => {
		expect(describeFilter(NO_FILTER)).toBe('every prospect');
		expect(
			describeFilter({ search: 'garden', statuses: ['qualified', 'contacted'], source_type: 'linkedin_export', country: 'DE', min_score: 80, max_score: null })
		).toBe('Qualified or Contacted, score 80 or more, in DE, from LinkedIn export, matching “garden”');
		expect(describeFilter({ ...NO_FILTER, min_score: 20, max_score: 60 })).toBe('score 20 to 60');
		expect(describeFilter({ ...NO_FILTER, max_score: 60 })).toBe('score 60 or less');
	});
});
