import type { AccountFields } from '$lib/generated/commands';

/** The sending-rate fields of an account: caps and the ramp-up of a new account. */
export const RATE_KEYS = ['per_minute_cap', 'hourly_cap', 'daily_cap', 'ramp_start', 'ramp_increase'] as const;

export type RateKey = (typeof RATE_KEYS)[number];

/** The rate fields as typed: empty means "no limit" (caps) or "no ramp-up". */
export type RateDraft = Record<RateKey, string>;

export const RATE_LABELS: Record<RateKey, string> = {
	per_minute_cap: 'Per minute',
	hourly_cap: 'Per hour',
	daily_cap: 'Per day',
	ramp_start: 'First day',
	ramp_increase: 'Daily increase'
};

/** The largest number the core stores (u32). */
export const MAX_RATE = 4_294_967_295;

export function rateDraftOf(f: AccountFields): RateDraft {
	const d = {} as RateDraft;
	for (const k of RATE_KEYS) d[k] = f[k] === null ? '' : String(f[k]);
	return d;
}

/** A typed count: null when empty, undefined when it is not a whole number from 1 to {@link MAX_RATE}. */
export function parseCount(text: string): number | null | undefined {
	const t = text.trim();
	if (t === '') return null;
	if (!/^\d+$/.test(t)) return undefined;
	const n = Number(t);
	return n >= 1 && n <= MAX_RATE ? n : undefined;
}

/** What is wrong with each rate field, if anything. */
export function rateErrors(d: RateDraft): Partial<Record<RateKey, string>> {
	const errors: Partial<Record<RateKey, string>> = {};
	for (const k of RATE_KEYS) {
		const t = d[k].trim();
		if (parseCount(t) !== undefined) continue;
		errors[k] =
			/^\d+$/.test(t) && Number(t) > MAX_RATE
				? `${RATE_LABELS[k]}: at most ${MAX_RATE}.`
				: `${RATE_LABELS[k]}: write a whole number of at least 1, or leave it empty.`;
	}
	if (!errors.ramp_increase && d.ramp_increase.trim() !== '' && d.ramp_start.trim() === '')
		errors.ramp_increase = 'The daily increase needs a first-day amount: the ramp-up starts from it.';
	return errors;
}

/** The fields with the typed rates; the draft must have no {@link rateErrors}. */
export function withRates(f: AccountFields, d: RateDraft): AccountFields {
	const out = { ...f };
	for (const k of RATE_KEYS) out[k] = parseCount(d[k]) ?? null;
	return out;
}
