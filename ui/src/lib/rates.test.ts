import { describe, expect, it } from 'vitest';
import type { AccountFields } from '$lib/generated/commands';
import { MAX_RATE, parseCount, rateDraftOf, rateErrors, withRates, type RateDraft } from './rates';

function draft(over: Partial<RateDraft> = {}): RateDraft {
	return { per_minute_cap: '', hourly_cap: '', daily_cap: '', ramp_start: '', ramp_increase: '', ...over };
}

describe('rate fields', () => {
	it('reads counts: empty is none, only whole numbers from 1 are counts', () => {
		expect(parseCount('')).toBeNull();
		expect(parseCount('  ')).toBeNull();
		expect(parseCount(' 40 ')).toBe(40);
		expect(parseCount(String(MAX_RATE))).toBe(MAX_RATE);
		for (const bad of ['0', '-3', '2.5', '1e3', 'abc', '12 a', String(MAX_RATE + 1)]) expect(parseCount(bad)).toBeUndefined();
	});

	it('says what is wrong with each field', () => {
		expect(rateErrors(draft())).toEqual({});
		expect(rateErrors(draft({ per_minute_cap: '5', hourly_cap: '100', daily_cap: '400', ramp_start: '20', ramp_increase: '10' }))).toEqual({});
		const errors = rateErrors(draft({ per_minute_cap: '0', hourly_cap: 'lots', daily_cap: '99999999999', ramp_start: '-1' }));
		expect(errors.per_minute_cap).toBe('Per minute: write a whole number of at least 1, or leave it empty.');
		expect(errors.hourly_cap).toBe('Per hour: write a whole number of at least 1, or leave it empty.');
		expect(errors.daily_cap).toBe(`Per day: at most ${MAX_RATE}.`);
		expect(errors.ramp_start).toContain('First day');
		expect(errors.ramp_increase).toBeUndefined();
		// The engine ignores an increase without a first-day amount: say so.
		expect(rateErrors(draft({ ramp_increase: '10' })).ramp_increase).toContain('needs a first-day amount');
	});

	it('round-trips the account fields', () => {
		const f = { per_minute_cap: null, hourly_cap: 60, daily_cap: 200, ramp_start: 20, ramp_increase: null } as AccountFields;
		const d = rateDraftOf(f);
		expect(d).toEqual(draft({ hourly_cap: '60', daily_cap: '200', ramp_start: '20' }));
		expect(withRates(f, { ...d, hourly_cap: '', ramp_increase: ' 5 ' })).toMatchObject({
			per_minute_cap: null,
			hourly_cap: null,
			daily_cap: 200,
			ramp_start: 20,
			ramp_increase: 5
		});
	});
});
