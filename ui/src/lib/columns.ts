import type { SortField } from '$lib/generated/commands';
import { SORT_LABELS } from '$lib/labels';

/** The prospect table's columns. */
export type ColumnKey = 'name' | 'email' | 'company' | 'title' | 'country' | 'status' | 'score' | 'source' | 'website' | 'x_handle' | 'followers' | 'created';

export interface Column {
	key: ColumnKey;
	label: string;
	/** The sort its header applies, if any. */
	sort: SortField | null;
	/** Its share of the width (CSS `fr`). */
	weight: number;
	/** The width (px) below which its values would be cut: for short values of a fixed shape, such as dates. */
	min?: number;
	/** Kept when the table is narrow (the details panel open): the core of a row. */
	core: boolean;
}

/** Every column, in the order they are shown. */
export const COLUMNS: readonly Column[] = [
	{ key: 'name', label: SORT_LABELS.name, sort: 'name', weight: 1.7, core: true },
	{ key: 'email', label: 'E-mail', sort: null, weight: 2, core: true },
	{ key: 'company', label: SORT_LABELS.company, sort: 'company', weight: 1.4, core: true },
	{ key: 'title', label: 'Job title', sort: null, weight: 1.4, core: false },
	{ key: 'country', label: SORT_LABELS.country, sort: 'country', weight: 1, core: true },
	{ key: 'status', label: SORT_LABELS.status, sort: 'status', weight: 1.15, core: true },
	{ key: 'score', label: SORT_LABELS.score, sort: 'score', weight: 0.7, core: true },
	{ key: 'source', label: 'Source', sort: null, weight: 1.1, core: false },
	{ key: 'website', label: 'Website', sort: null, weight: 1.6, core: false },
	{ key: 'x_handle', label: 'X handle', sort: null, weight: 1.1, core: false },
	{ key: 'followers', label: 'Followers', sort: null, weight: 0.9, core: false },
	// "12/31/2026" and the sort arrow in its header stay whole at 1280 pixels wide.
	{ key: 'created', label: SORT_LABELS.created_at, sort: 'created_at', weight: 1, min: 100, core: false }
];

/** The name is how a row is known: it cannot be hidden. */
export const ALWAYS_SHOWN: ColumnKey = 'name';

export const DEFAULT_COLUMNS: readonly ColumnKey[] = ['name', 'email', 'company', 'country', 'status', 'score', 'source', 'created'];

export const COLUMNS_KEY = 'outreach-desk.prospect-columns';

/** `keys` as a valid choice: known keys only, in table order, the name always among them. */
export function validColumns(keys: readonly string[]): ColumnKey[] {
	const wanted = new Set<string>([...keys, ALWAYS_SHOWN]);
	return COLUMNS.filter((c) => wanted.has(c.key)).map((c) => c.key);
}

/** The columns this computer shows (the defaults when none were chosen or storage fails). */
export function loadColumns(): ColumnKey[] {
	try {
		const raw = localStorage.getItem(COLUMNS_KEY);
		const parsed: unknown = raw === null ? null : JSON.parse(raw);
		if (Array.isArray(parsed) && parsed.every((k) => typeof k === 'string')) return validColumns(parsed);
	} catch {
		// damaged or unavailable storage: the defaults
	}
	return [...DEFAULT_COLUMNS];
}

export function saveColumns(keys: readonly ColumnKey[]): void {
	try {
		localStorage.setItem(COLUMNS_KEY, JSON.stringify(keys));
	} catch {
		// storage may be unavailable; the choice lasts this session
	}
}

/** The grid's CSS columns: the tick box, then each shown column's share. */
export function gridTemplate(keys: readonly ColumnKey[], narrow: boolean): string {
	const shares = COLUMNS.filter((c) => keys.includes(c.key) && (!narrow || c.core)).map((c) =>
		c.min === undefined ? `${c.weight}fr` : `minmax(${c.min}px, ${c.weight}fr)`
	);
	return ['32px', ...shares].join(' ');
}
