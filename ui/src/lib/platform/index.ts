import type { Backend } from './backend';
import { MockBackend } from './mock';
import { TauriBackend } from './tauri';

export type { Backend } from './backend';
export { isApiError, toApiError } from './backend';

let current: Backend | null = null;

/** Whether the page runs inside the Tauri webview. */
export function inTauri(): boolean {
	return typeof window !== 'undefined' && window.__TAURI_INTERNALS__ !== undefined;
}

/** The backend in use: Tauri inside the app, the in-memory mock in a plain browser. */
export function getBackend(): Backend {
	if (!current) current = inTauri() ? new TauriBackend() : MockBackend.withSampleFiles();
	return current;
}

/** Replace the backend (tests). */
export function setBackend(backend: Backend | null): void {
	current = backend;
}
