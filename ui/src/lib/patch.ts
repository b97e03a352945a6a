import type { Prospect, ProspectPatch, ProspectStatus } from '$lib/generated/commands';

/** The text fields of a prospect the detail panel edits. */
export const EDIT_FIELDS = [
	'first_name',
	'last_name',
	'email',
	'website',
	'x_handle',
	'linkedin_url',
	'company',
	'title',
	'country',
	'time_zone',
	'followers',
	'notes'
] as const;

export type EditField = (typeof EDIT_FIELDS)[number];

/** The detail form's values: every field as text, plus the status. */
export type Draft = Record<EditField, string> & { status: ProspectStatus };

/** The form values for a prospect. */
export function draftOf(p: Prospect): Draft {
	const d = { status: p.status } as Draft;
	for (const f of EDIT_FIELDS) {
		const v = p[f];
		d[f] = v === null || v === undefined ? '' : String(v);
	}
	return d;
}

/** A patch with only the fields that differ from the prospect (others `null`). */
export function buildPatch(original: Prospect, draft: Draft): ProspectPatch {
	const before = draftOf(original);
	const patch: ProspectPatch = {
		first_name: null,
		last_name: null,
		email: null,
		website: null,
		x_handle: null,
		linkedin_url: null,
		company: null,
		title: null,
		country: null,
		time_zone: null,
		followers: null,
		notes: null,
		status: null
	};
	for (const f of EDIT_FIELDS) {
		if (draft[f] !== before[f]) patch[f] = draft[f];
	}
	if (draft.status !== before.status) patch.status = draft.status;
	return patch;
}

/** Whether a patch changes anything. */
export function isEmptyPatch(patch: ProspectPatch): boolean {
	return Object.values(patch).every((v) => v === null);
}

/** The name to show for a prospect. */
export function prospectName(p: Pick<Prospect, 'first_name' | 'last_name' | 'email' | 'id'>): string {
	const name = [p.first_name, p.last_name].filter((s) => s && s.trim() !== '').join(' ');
	return name || p.email || `Prospect #${p.id}`;
}
