import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { open, save } from '@tauri-apps/plugin-dialog';
import type { ApiEvent, Commands } from '$lib/generated/commands';
import { toApiError, type Backend } from './backend';

/** The Tauri event every backend notification arrives on. */
export const EVENT_NAME = 'outreach://event';
/** The Tauri event a request to quit arrives on. */
export const QUIT_EVENT = 'outreach://quit-requested';

/** The real backend: Tauri IPC to the Rust core. */
export class TauriBackend implements Backend {
	async call<K extends keyof Commands>(
		cmd: K,
		args: Commands[K]['args']
	): Promise<Commands[K]['result']> {
		try {
			// Every Rust command takes a single parameter named `args`.
			return await invoke<Commands[K]['result']>(cmd, { args });
		} catch (e) {
			throw toApiError(e);
		}
	}

	onEvent(cb: (e: ApiEvent) => void): () => void {
		return subscribe<ApiEvent>(EVENT_NAME, cb);
	}

	onQuitRequest(cb: () => void): () => void {
		return subscribe<null>(QUIT_EVENT, () => cb());
	}

	async answerQuit(hold: boolean): Promise<void> {
		// A shell command, not an API one: it takes its parameter as itself.
		await invoke('answer_quit', { hold });
	}

	async pickCsvFile(): Promise<string | null> {
		const picked = await open({
			multiple: false,
			directory: false,
			filters: [{ name: 'CSV', extensions: ['csv', 'txt'] }]
		});
		return typeof picked === 'string' ? picked : null;
	}

	async pickSaveFile(defaultName: string): Promise<string | null> {
		// The file type the default name proposes (CSV for import errors, JSON for a record).
		const ext = defaultName.includes('.') ? (defaultName.split('.').pop() ?? 'csv') : 'csv';
		const picked = await save({
			defaultPath: defaultName,
			filters: [{ name: ext.toUpperCase(), extensions: [ext] }]
		});
		return picked ?? null;
	}
}

/** Listens to a Tauri event until the returned function runs (even before listening began). */
function subscribe<T>(event: string, cb: (payload: T) => void): () => void {
	let unlisten: (() => void) | null = null;
	let stopped = false;
	listen<T>(event, (e) => cb(e.payload))
		.then((fn) => {
			if (stopped) fn();
			else unlisten = fn;
		})
		.catch((e: unknown) => console.error(`cannot listen to ${event}`, e));
	return () => {
		stopped = true;
		unlisten?.();
		unlisten = null;
	};
}
