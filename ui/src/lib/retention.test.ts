import { describe, expect, it } from 'vitest';
import { retentionEnds } from './retention';

describe('retentionEnds', () => {
	it('counts from the last reply, or from the addition when that is later or there is none', () => {
		const added = '2026-12-06T10:00:00.000Z';
		expect(retentionEnds({ created_at: added, last_inbound_at: null }, 36)).toBe('2029-12-06T10:00:00.000Z');
		expect(retentionEnds({ created_at: added, last_inbound_at: '2027-03-01T08:30:00.000Z' }, 24)).toBe('2029-03-01T08:30:00.000Z');
		// A reply read from the mailbox can be older than the import that matched it.
		expect(retentionEnds({ created_at: added, last_inbound_at: '2026-11-25T10:00:00Z' }, 1)).toBe('2027-01-06T10:00:00.000Z');
	});
});
