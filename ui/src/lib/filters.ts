import type { ProspectFilter, ProspectQuery } from '$lib/generated/commands';
import { SOURCE_LABELS, STATUS_LABELS } from '$lib/labels';

/** No criteria: every prospect. */
export const NO_FILTER: ProspectFilter = {
	search: null,
	statuses: [],
	source_type: null,
	country: null,
	min_score: null,
	max_score: null
};

/** Whether `f` selects every prospect. */
export function isEmptyFilter(f: ProspectFilter): boolean {
	return sameFilter(f, NO_FILTER);
}

/**
 * Whether two filters select the same prospects as the store reads them: blanks are no
 * criterion, statuses are a set, the country is compared ignoring case.
 */
export function sameFilter(a: ProspectFilter, b: ProspectFilter): boolean {
	const text = (v: string | null) => (v ?? '').trim();
	const statuses = (f: ProspectFilter) => [...new Set(f.statuses)].sort().join(',');
	return (
		text(a.search) === text(b.search) &&
		statuses(a) === statuses(b) &&
		a.source_type === b.source_type &&
		text(a.country).toLowerCase() === text(b.country).toLowerCase() &&
		a.min_score === b.min_score &&
		a.max_score === b.max_score
	);
}

/** The criteria in words: “Qualified or Contacted, score 80 or more, in DE, matching “garden””. */
export function describeFilter(f: ProspectFilter): string {
	const parts: string[] = [];
	if (f.statuses.length > 0) parts.push(f.statuses.map((s) => STATUS_LABELS[s] ?? s).join(' or '));
	if (f.min_score !== null && f.max_score !== null) parts.push(`score ${f.min_score} to ${f.max_score}`);
	else if (f.min_score !== null) parts.push(`score ${f.min_score} or more`);
	else if (f.max_score !== null) parts.push(`score ${f.max_score} or less`);
	if (f.country?.trim()) parts.push(`in ${f.country.trim()}`);
	if (f.source_type) parts.push(`from ${SOURCE_LABELS[f.source_type] ?? f.source_type}`);
	if (f.search?.trim()) parts.push(`matching “${f.search.trim()}”`);
	return parts.length === 0 ? 'every prospect' : parts.join(', ');
}

/**
 * A query for a workspace's live prospects, in the order they were added, the first 1000:
 * every one of them, or what `over` narrows it to.
 */
export function queryOf(workspaceId: number, over: Partial<ProspectQuery> = {}): ProspectQuery {
	return {
		...NO_FILTER,
		workspace_id: workspaceId,
		sort: 'created_at',
		descending: false,
		deleted: false,
		offset: 0,
		limit: 1000,
		...over
	};
}

/** The first `limit` live prospects of a workspace, by name, that `search` finds (all when empty). */
export function byName(workspaceId: number, search: string, limit: number): ProspectQuery {
	const text = search.trim();
	return queryOf(workspaceId, { search: text === '' ? null : text, sort: 'name', limit });
}
