import type { EnrolmentState } from '$lib/generated/commands';
import { formatDateTime } from '$lib/labels';

/** What the progress lists and a prospect's campaigns need to say where an enrolment stands. */
export interface Standing {
	state: EnrolmentState;
	next_position: number;
	next_run_at: string | null;
	reason: string | null;
}

/** Where an enrolment stands, in words: the step to come, or why the sequence ended. */
export function standing(e: Standing): string {
	switch (e.state) {
		case 'active':
			return e.next_run_at ? `Step ${e.next_position} due ${formatDateTime(e.next_run_at)}` : `Step ${e.next_position} to be scheduled`;
		case 'waiting':
			return `Step ${e.next_position} in the outbox`;
		case 'completed':
			return 'Every step went out';
		case 'replied':
			return 'Replied';
		default:
			return e.reason ?? e.state;
	}
}
