import type { Prospect } from '$lib/generated/commands';

/**
 * When a prospect's retention period ends (ISO 8601): `months` after their last reply, or after
 * they were added if that is later, as the store counts it.
 */
export function retentionEnds(p: Pick<Prospect, 'created_at' | 'last_inbound_at'>, months: number): string {
	const from = p.last_inbound_at !== null && p.last_inbound_at > p.created_at ? p.last_inbound_at : p.created_at;
	const at = new Date(from);
	at.setUTCMonth(at.getUTCMonth() + months);
	return at.toISOString();
}
