import type { ApiError, ChangedEntity, Commands, ErrorCode, Prospect, ProspectFilter, SavedFilter, Workspace } from '$lib/generated/commands';

/** The commands this module answers. */
export type FilterCommand = 'list_filters' | 'save_filter' | 'delete_filter';

type FilterHandlers = { [K in FilterCommand]: (args: Commands[K]['args']) => Commands[K]['result'] };

/** What the saved-filter mock needs from the rest of the mock. */
export interface FilterHost {
	workspace(id: number): Workspace;
	changed(entity: ChangedEntity, workspaceId: number | null): void;
	log(workspaceId: number, action: string, summary: string): void;
	now(): string;
}

const MAX_NAME_CHARS = 80;
const MAX_SEARCH_CHARS = 200;

function fail(code: ErrorCode, message: string): never {
	const err: ApiError = { code, message };
	throw err;
}

/** The store's rules for a filter: blanks dropped, at least one condition, scores in order. */
function normalised(f: ProspectFilter): ProspectFilter {
	const text = (v: string | null) => (v === null || v.trim() === '' ? null : v.trim());
	const out: ProspectFilter = {
		search: text(f.search),
		statuses: [...new Set(f.statuses)],
		source_type: f.source_type,
		country: text(f.country),
		min_score: f.min_score,
		max_score: f.max_score
	};
	const empty =
		out.search === null && out.statuses.length === 0 && out.source_type === null && out.country === null && out.min_score === null && out.max_score === null;
	if (empty) fail('invalid_input', 'a saved filter needs at least one condition (a search, status, source, country or score)');
	if (out.search !== null && [...out.search].length > MAX_SEARCH_CHARS) fail('invalid_input', `a saved search can have at most ${MAX_SEARCH_CHARS} characters`);
	for (const s of [out.min_score, out.max_score]) if (s !== null && s > 100) fail('invalid_input', `a score is between 0 and 100, not ${s}`);
	if (out.min_score !== null && out.max_score !== null && out.min_score > out.max_score)
		fail('invalid_input', `the lowest score (${out.min_score}) is above the highest (${out.max_score})`);
	return out;
}

/** Words folded as the backend's search index folds them: lower case, no accents. */
function words(text: string): string[] {
	return text
		.normalize('NFD')
		.replace(/\p{M}/gu, '')
		.toLowerCase()
		.split(/[^\p{L}\p{N}]+/u)
		.filter(Boolean);
}

function findsByName(search: string, p: Prospect): boolean {
	const own = [p.first_name, p.last_name, p.email?.split('@')[0], p.x_handle, p.linkedin_url?.replace(/\/+$/, '').split('/').pop()]
		.filter((v): v is string => !!v)
		.flatMap(words);
	return words(search).some((w) => own.some((o) => o.startsWith(w)));
}

/** Saved prospect filters, as the store keeps them: one name per workspace, ignoring case. */
export class MockFilters {
	private filters: SavedFilter[] = [];
	private seq = 0;

	constructor(private host: FilterHost) {}

	/**
	 * The workspace's filters whose search finds one of these people by name, as the store
	 * decides: one of its words starts a word of their names, the part of their address before
	 * the `@`, their X handle or LinkedIn profile's own part. They are erased with them.
	 */
	naming(workspaceId: number, people: Prospect[], finds: (p: Prospect, search: string) => boolean): number[] {
		return this.filters
			.filter((f) => f.workspace_id === workspaceId && f.filter.search !== null)
			.filter((f) => people.some((p) => finds(p, f.filter.search!) && findsByName(f.filter.search!, p)))
			.map((f) => f.id);
	}

	/** Removes these filters (an erasure's). */
	drop(ids: number[]): void {
		this.filters = this.filters.filter((f) => !ids.includes(f.id));
	}

	/** A workspace was erased: its filters go with it. */
	dropWorkspace(workspaceId: number): void {
		this.filters = this.filters.filter((f) => f.workspace_id !== workspaceId);
	}

	readonly handlers: FilterHandlers = {
		list_filters: (args) => {
			this.host.workspace(args.workspace_id);
			return this.filters
				.filter((f) => f.workspace_id === args.workspace_id)
				.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
		},
		save_filter: (args) => {
			const name = args.name.trim();
			if (name === '') fail('invalid_input', 'a saved filter needs a name');
			if ([...name].length > MAX_NAME_CHARS) fail('invalid_input', `a filter's name can have at most ${MAX_NAME_CHARS} characters`);
			const filter = normalised(args.filter);
			this.host.workspace(args.workspace_id);
			const existing = this.filters.find((f) => f.workspace_id === args.workspace_id && f.name.toLowerCase() === name.toLowerCase());
			const updated_at = this.host.now();
			let saved: SavedFilter;
			if (existing) {
				Object.assign(existing, { name, filter, updated_at });
				saved = existing;
				this.host.log(args.workspace_id, 'prospects.filter_changed', `Changed saved filter #${saved.id} “${name}”`);
			} else {
				saved = { id: ++this.seq, workspace_id: args.workspace_id, name, filter, updated_at };
				this.filters.push(saved);
				this.host.log(args.workspace_id, 'prospects.filter_saved', `Saved filter #${saved.id} “${name}”`);
			}
			this.host.changed('filters', args.workspace_id);
			return saved;
		},
		delete_filter: (args) => {
			const found = this.filters.find((f) => f.id === args.id);
			if (!found) fail('not_found', `saved filter #${args.id} not found`);
			this.filters = this.filters.filter((f) => f.id !== args.id);
			this.host.log(found.workspace_id, 'prospects.filter_deleted', `Deleted saved filter #${found.id} “${found.name}”`);
			this.host.changed('filters', found.workspace_id);
			return found;
		}
	};
}
