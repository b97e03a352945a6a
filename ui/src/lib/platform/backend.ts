import type { ApiError, ApiEvent, Commands, ErrorCode } from '$lib/generated/commands';

/** Everything the UI may ask of the application core. UI code talks only to this. */
export interface Backend {
	/** Run one command; rejects with an {@link ApiError}. */
	call<K extends keyof Commands>(cmd: K, args: Commands[K]['args']): Promise<Commands[K]['result']>;
	/** Subscribe to backend events; returns the unsubscribe function. */
	onEvent(cb: (e: ApiEvent) => void): () => void;
	/** Ask the user for a CSV file to open; `null` when cancelled. */
	pickCsvFile(): Promise<string | null>;
	/** Ask the user where to save a file; `null` when cancelled. */
	pickSaveFile(defaultName: string): Promise<string | null>;
	/** Subscribe to the user's requests to quit the app (the tray's "Quit"); returns the unsubscribe function. */
	onQuitRequest(cb: () => void): () => void;
	/**
	 * Answer a request to quit: `hold` it while the user decides about unsaved work (the app
	 * quits by itself when it hears nothing), or let the app end.
	 */
	answerQuit(hold: boolean): Promise<void>;
}

// A record, not a list, so that a code added to the bindings fails the type check until it is here.
const ERROR_CODE_SET: Record<ErrorCode, true> = {
	not_found: true,
	invalid_input: true,
	conflict: true,
	keychain_unavailable: true,
	key_file: true,
	wrong_key: true,
	io: true,
	csv_invalid: true,
	pre_send_check: true,
	compliance_refused: true,
	engine_running: true,
	storage: true,
	internal: true
};
const ERROR_CODES = Object.keys(ERROR_CODE_SET) as readonly ErrorCode[];

/** Whether a thrown value is an {@link ApiError} from the backend. */
export function isApiError(e: unknown): e is ApiError {
	if (typeof e !== 'object' || e === null) return false;
	const o = e as Record<string, unknown>;
	return (
		typeof o.code === 'string' &&
		(ERROR_CODES as readonly string[]).includes(o.code) &&
		typeof o.message === 'string'
	);
}

/** Turn anything thrown into an {@link ApiError} (`internal` when it is not one already). */
export function toApiError(e: unknown): ApiError {
	if (isApiError(e)) return { code: e.code, message: e.message };
	if (typeof e === 'string') return { code: 'internal', message: e };
	if (e instanceof Error) return { code: 'internal', message: e.message || String(e) };
	try {
		return { code: 'internal', message: JSON.stringify(e) ?? String(e) };
	} catch {
		return { code: 'internal', message: String(e) };
	}
}

/** Error codes that mean the data cannot be opened at all. */
export const FATAL_CODES: readonly ErrorCode[] = ['keychain_unavailable', 'wrong_key', 'key_file'];

/** Error codes that belong next to the form that caused them. */
export const INLINE_CODES: readonly ErrorCode[] = ['invalid_input', 'conflict', 'csv_invalid'];

export function isFatal(e: ApiError): boolean {
	return FATAL_CODES.includes(e.code);
}

export function isInline(e: ApiError): boolean {
	return INLINE_CODES.includes(e.code);
}
