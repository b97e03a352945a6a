import { getContext, setContext, untrack } from 'svelte';
import type {
	ApiError,
	ApiEvent,
	ChangedEntity,
	EngineStatus,
	ErrorCode,
	ImportPhase,
	ProspectFilter,
	ReplyNotice,
	Workspace
} from '$lib/generated/commands';
import { INTENT_LABELS } from '$lib/labels';
import { isFatal, isInline, toApiError, type Backend } from '$lib/platform/backend';

export type View = 'prospects' | 'campaigns' | 'inbox' | 'templates' | 'accounts' | 'audit' | 'settings';

/** Something to start in a view, asked for from elsewhere (the command palette). */
export type Start = 'import' | 'new-template' | 'new-campaign' | 'new-account';

/**
 * What the view being opened should do on arrival (set by a toast, the palette or another
 * view); the view takes it with `AppState.take` and it is gone.
 */
export type ViewRequest =
	| { kind: 'open-reply'; id: number }
	| { kind: 'open-prospect'; id: number }
	| { kind: 'open-campaign'; id: number }
	| { kind: 'open-template'; id: number }
	| { kind: 'start'; what: Start }
	| { kind: 'apply-filter'; filter: ProspectFilter };

/** The views of a workspace, in the sidebar's order, with their names. */
export const VIEWS: readonly { view: View; label: string }[] = [
	{ view: 'prospects', label: 'Prospects' },
	{ view: 'campaigns', label: 'Campaigns' },
	{ view: 'inbox', label: 'Inbox' },
	{ view: 'templates', label: 'Templates' },
	{ view: 'accounts', label: 'Sender accounts' },
	{ view: 'audit', label: 'Audit log' },
	{ view: 'settings', label: 'Settings' }
];

export const LAST_WORKSPACE_KEY = 'outreach-desk.last-workspace';

export interface Toast {
	id: number;
	message: string;
	action: { label: string; testid: string; run: () => void | Promise<void> } | null;
}

export interface Progress {
	workspace_id: number;
	phase: ImportPhase;
	done: number;
	total: number;
}

/** How far a campaign's pre-send check is, in enrolled prospects. */
export interface CheckProgress {
	campaign_id: number;
	done: number;
	total: number;
}

/** How far a workspace's deletion is, in prospects erased. */
export interface DeletionProgress {
	workspace_id: number;
	done: number;
	total: number;
}

/** How far a download of the reply model is. */
export interface ModelProgress {
	done: number;
	/** Null when the server did not say. */
	total: number | null;
}

/** A move away from unsaved work, waiting for the user to keep editing or discard it. */
export interface Leaving {
	/** What would be lost, as a phrase: "your changes to the template “Intro”". */
	what: string;
	go: () => void;
	/** Whether going is quitting the app. */
	quitting: boolean;
	/** Forgets what the editors given up kept of their work as it was typed, before going. */
	forget: () => Promise<unknown>;
}

/** An editor's account of its unsaved work; see `AppState.guardUnsaved`. */
interface UnsavedGuard {
	describe: () => string | null;
	forget?: () => Promise<unknown>;
}

export interface AppOptions {
	/** How long a toast stays, in milliseconds. */
	toastMs?: number;
}

/** Toasts on screen at once. */
const MAX_TOASTS = 3;

/** The state the whole UI shares: one per mounted app. */
export class AppState {
	readonly backend: Backend;
	readonly toastMs: number;

	workspaces = $state<Workspace[]>([]);
	currentId = $state<number | null>(null);
	view = $state<View>('prospects');
	loaded = $state(false);
	/** An error that blocks the whole app (the data cannot be opened). */
	fatal = $state<ApiError | null>(null);
	/** The latest error that belongs to no form. */
	banner = $state<ApiError | null>(null);
	/** Bumped whenever the backend says an entity of the current workspace changed. */
	versions = $state<Record<ChangedEntity, number>>({ workspaces: 0, prospects: 0, audit: 0, campaigns: 0, replies: 0, filters: 0 });
	/** Replies people wrote in the current workspace that nobody opened yet. */
	unread = $state(0);
	/** The person the audit log is narrowed to (set from their details), until cleared. */
	auditProspect = $state<{ id: number; name: string } | null>(null);
	/** What the view on screen should do on arrival; see `take`. */
	request = $state<ViewRequest | null>(null);
	/** Whether the command palette (Ctrl/Cmd+K) is open. */
	paletteOpen = $state(false);
	/** The reply model's download, while one runs. */
	modelProgress = $state<ModelProgress | null>(null);
	/** What the sending engine reports; null until the first answer. */
	engine = $state<EngineStatus | null>(null);
	progress = $state<Progress | null>(null);
	/** The latest pre-send check's progress (a large campaign takes seconds). */
	checkProgress = $state<CheckProgress | null>(null);
	/** The latest workspace deletion's progress (a large workspace takes a while). */
	deletionProgress = $state<DeletionProgress | null>(null);
	toasts = $state<Toast[]>([]);
	newWorkspaceOpen = $state(false);
	/** Set while the user is asked whether to discard unsaved work. */
	leaving = $state<Leaving | null>(null);

	current = $derived(this.workspaces.find((w) => w.id === this.currentId) ?? null);

	private toastSeq = 0;
	// Timer handles, never rendered: deliberately not reactive.
	// eslint-disable-next-line svelte/prefer-svelte-reactivity
	private timers = new Map<number, ReturnType<typeof setTimeout>>();
	private unlisten: (() => void) | null = null;
	private unlistenQuit: (() => void) | null = null;
	/** Each open editor's account of its unsaved work (null when none). Not rendered. */
	// eslint-disable-next-line svelte/prefer-svelte-reactivity
	private unsaved = new Set<UnsavedGuard>();

	constructor(backend: Backend, opts: AppOptions = {}) {
		this.backend = backend;
		this.toastMs = opts.toastMs ?? 8000;
	}

	/** Subscribe to events and load the workspaces. */
	async start(): Promise<void> {
		this.unlisten?.();
		this.unlisten = this.backend.onEvent((e) => this.handleEvent(e));
		this.unlistenQuit?.();
		this.unlistenQuit = this.backend.onQuitRequest(() => this.quitRequested());
		await Promise.all([this.loadWorkspaces(), this.loadEngineStatus()]);
	}

	async loadEngineStatus(): Promise<void> {
		try {
			this.engine = await this.backend.call('engine_status', {});
		} catch (e) {
			this.report(e);
		}
	}

	stop(): void {
		this.unlisten?.();
		this.unlisten = null;
		this.unlistenQuit?.();
		this.unlistenQuit = null;
		for (const t of this.timers.values()) clearTimeout(t);
		this.timers.clear();
	}

	/** Retry after a fatal error. */
	async retry(): Promise<void> {
		this.fatal = null;
		await this.loadWorkspaces();
	}

	async loadWorkspaces(prefer: number | null = null): Promise<void> {
		try {
			const list = await this.backend.call('list_workspaces', {});
			this.workspaces = list;
			const remembered = readRemembered();
			const pick =
				[prefer, this.currentId, remembered].find((id) => id !== null && list.some((w) => w.id === id)) ??
				list[0]?.id ??
				null;
			this.select(pick);
		} catch (e) {
			this.report(e);
		} finally {
			this.loaded = true;
		}
	}

	select(id: number | null): void {
		if (id === this.currentId) return;
		this.currentId = id;
		this.unread = 0;
		this.auditProspect = null;
		void this.loadUnread();
		if (id !== null) {
			try {
				localStorage.setItem(LAST_WORKSPACE_KEY, String(id));
			} catch {
				// storage may be unavailable; remembering is a convenience
			}
		}
	}

	/** Ask for the current workspace's unread count; an answer for a workspace left meanwhile is dropped. */
	async loadUnread(): Promise<void> {
		const wsId = this.currentId;
		if (wsId === null) {
			this.unread = 0;
			return;
		}
		try {
			const n = await this.backend.call('unread_replies', { workspace_id: wsId });
			if (this.currentId === wsId) this.unread = n;
		} catch (e) {
			this.report(e);
		}
	}

	/**
	 * Registers an editor's unsaved work: `describe` names it ("your changes to …") or returns
	 * null when everything is saved. An editor that keeps a copy of its work as it is typed
	 * (so that a crash loses nothing) gives `forget`, which removes the copy once the user
	 * gives the work up. Return the result from an `$effect` so it ends with the editor.
	 */
	guardUnsaved(describe: () => string | null, forget?: () => Promise<unknown>): () => void {
		const guard = { describe, forget };
		this.unsaved.add(guard);
		return () => this.unsaved.delete(guard);
	}

	/**
	 * Runs `go` (which leaves the view, the workspace or the item being edited) now, or, when
	 * an editor holds unsaved work, once the user chooses to discard it.
	 */
	leave(go: () => void): void {
		const what = this.unsavedWork();
		if (what === null) go();
		else this.leaving = { what, go, quitting: false, forget: () => this.forgetUnsaved() };
	}

	/**
	 * Runs `go` now when `what` (one dialog's unsaved work, as `guardUnsaved` names it) is
	 * null, or once the user chooses to discard it. Closing a dialog loses only its own work,
	 * not the view's behind it.
	 */
	confirmDiscard(what: string | null, go: () => void): void {
		if (what === null) go();
		else this.leaving = { what, go, quitting: false, forget: () => Promise.resolve() };
	}

	/** The first editor's unsaved work, or null when everything is saved. */
	private unsavedWork(): string | null {
		for (const { describe } of this.unsaved) {
			const what = describe();
			if (what !== null) return what;
		}
		return null;
	}

	/** Forgets the copies kept of every editor's unsaved work (a failure loses nothing more). */
	private forgetUnsaved(): Promise<unknown> {
		const given = [...this.unsaved].filter((g) => g.describe() !== null);
		return Promise.allSettled(given.map((g) => g.forget?.()));
	}

	/** The user asked to quit: the app ends now, or once they give up unsaved work. */
	private quitRequested(): void {
		const what = this.unsavedWork();
		if (what === null) {
			void this.backend.answerQuit(false);
			return;
		}
		void this.backend.answerQuit(true);
		this.leaving = { what, go: () => void this.backend.answerQuit(false), quitting: true, forget: () => this.forgetUnsaved() };
	}

	/** The user chose to discard the unsaved work: go where they were going. */
	async discardAndLeave(): Promise<void> {
		const l = this.leaving;
		this.leaving = null;
		if (!l) return;
		await l.forget();
		l.go();
	}

	/** Another view of the current workspace, once unsaved work is saved or given up. */
	go(view: View): void {
		this.leave(() => (this.view = view));
	}

	/** Show a reply in the inbox (switching to its workspace if needed). */
	openReply(workspaceId: number, replyId: number): void {
		this.leave(() => {
			if (this.workspaces.some((w) => w.id === workspaceId)) this.select(workspaceId);
			this.request = { kind: 'open-reply', id: replyId };
			this.view = 'inbox';
		});
	}

	/** Go to `view` of the current workspace and have it do `request` there. */
	openIn(view: View, request: ViewRequest): void {
		this.leave(() => {
			this.request = request;
			this.view = view;
		});
	}

	/** Go to `view` and start `what` there (a new template, an import…). */
	begin(what: Start, view: View): void {
		this.openIn(view, { kind: 'start', what });
	}

	/** Show a prospect of the current workspace in the prospect view, with their details open. */
	showProspect(id: number): void {
		this.openIn('prospects', { kind: 'open-prospect', id });
	}

	/** Show the prospects a saved filter selects. */
	showFiltered(filter: ProspectFilter): void {
		this.openIn('prospects', { kind: 'apply-filter', filter });
	}

	/**
	 * The request of this kind waiting for the view, taken (it is gone once read). Call it in
	 * an `$effect`: the effect runs again when a request arrives.
	 */
	take<K extends ViewRequest['kind']>(
		kind: K,
		wanted: (r: Extract<ViewRequest, { kind: K }>) => boolean = () => true
	): Extract<ViewRequest, { kind: K }> | null {
		const r = this.request;
		if (r?.kind !== kind || !wanted(r as Extract<ViewRequest, { kind: K }>)) return null;
		untrack(() => (this.request = null));
		return r as Extract<ViewRequest, { kind: K }>;
	}

	/** Show the audit log narrowed to one person: everything done with their data. */
	showAuditOf(prospect: { id: number; name: string }): void {
		this.leave(() => {
			this.auditProspect = prospect;
			this.view = 'audit';
		});
	}

	/** Put a workspace the backend returned into the list and select it. */
	upsertWorkspace(ws: Workspace, select = true): void {
		const i = this.workspaces.findIndex((w) => w.id === ws.id);
		if (i >= 0) this.workspaces[i] = ws;
		else this.workspaces = [...this.workspaces, ws].sort((a, b) => a.name.localeCompare(b.name));
		if (select) this.select(ws.id);
	}

	/**
	 * Hands what `load` gives to `apply`, and its failure to `failed` (the banner by default),
	 * unless the returned cancel ran first: return it from an `$effect` that loads, so that a result which
	 * arrives after the effect ran again (or its component went away) is dropped.
	 */
	follow<T>(load: Promise<T>, apply: (value: T) => void, failed: (e: unknown) => void = (e) => this.report(e)): () => void {
		let cancelled = false;
		load.then(
			(value) => {
				if (!cancelled) apply(value);
			},
			(e: unknown) => {
				if (!cancelled) failed(e);
			}
		);
		return () => {
			cancelled = true;
		};
	}

	/**
	 * Show an error where it belongs: the blocking screen for key problems, the banner
	 * otherwise. Returns it as an {@link ApiError}.
	 */
	report(e: unknown): ApiError {
		const err = toApiError(e);
		if (isFatal(err)) this.fatal = err;
		else this.banner = err;
		return err;
	}

	/**
	 * For forms: the message to show next to the form when the error is about its input
	 * (`invalid_input`, `conflict`, `csv_invalid`, plus `extra` codes), else report it as
	 * {@link report} does and return null.
	 */
	formError(e: unknown, extra: readonly ErrorCode[] = []): string | null {
		const err = toApiError(e);
		if (isInline(err) || extra.includes(err.code)) return err.message;
		this.report(err);
		return null;
	}

	handleEvent(e: ApiEvent): void {
		if (e.kind === 'import_progress') {
			this.progress = { workspace_id: e.workspace_id, phase: e.phase, done: e.done, total: e.total };
			return;
		}
		if (e.kind === 'deletion_progress') {
			this.deletionProgress = { workspace_id: e.workspace_id, done: e.done, total: e.total };
			return;
		}
		if (e.kind === 'check_progress') {
			this.checkProgress = { campaign_id: e.campaign_id, done: e.done, total: e.total };
			return;
		}
		if (e.kind === 'engine') {
			this.engine = e.status;
			return;
		}
		if (e.kind === 'model_progress') {
			this.modelProgress = { done: e.done, total: e.total };
			return;
		}
		if (e.kind === 'reply') {
			this.replyArrived(e.notice);
			return;
		}
		if (e.entity === 'workspaces') void this.loadWorkspaces();
		if (e.workspace_id === null || e.workspace_id === this.currentId) {
			this.versions[e.entity]++;
			if (e.entity === 'replies') void this.loadUnread();
		}
	}

	/** A person replied: tell the user when it is in the workspace they are looking at. */
	private replyArrived(n: ReplyNotice): void {
		if (n.workspace_id !== this.currentId) return;
		this.toast(`New reply from ${n.prospect_name}: ${INTENT_LABELS[n.intent] ?? n.intent}`, {
			label: 'Open',
			testid: 'toast-open-reply',
			run: () => this.openReply(n.workspace_id, n.reply_id)
		});
		void this.loadUnread();
	}

	toast(message: string, action: Toast['action'] = null): number {
		const id = ++this.toastSeq;
		// A plain notice replaces the one before it: only what can still be acted on (undo, open)
		// stacks, and then at most MAX_TOASTS, so that quick work does not bury the view.
		const next = [...this.toasts.filter((t) => t.action !== null), { id, message, action }];
		const shown = next.slice(-MAX_TOASTS);
		for (const t of this.toasts) if (!shown.some((x) => x.id === t.id)) this.stopTimer(t.id);
		this.toasts = shown;
		this.timers.set(
			id,
			setTimeout(() => this.dismissToast(id), this.toastMs)
		);
		return id;
	}

	private stopTimer(id: number): void {
		const t = this.timers.get(id);
		if (t) clearTimeout(t);
		this.timers.delete(id);
	}

	dismissToast(id: number): void {
		this.stopTimer(id);
		this.toasts = this.toasts.filter((x) => x.id !== id);
	}
}

function readRemembered(): number | null {
	try {
		const v = localStorage.getItem(LAST_WORKSPACE_KEY);
		const n = v === null ? NaN : Number(v);
		return Number.isInteger(n) ? n : null;
	} catch {
		return null;
	}
}

const KEY = Symbol('outreach-app');

export function provideApp(app: AppState): void {
	setContext(KEY, app);
}

export function useApp(): AppState {
	const app = getContext<AppState | undefined>(KEY);
	if (!app) throw new Error('useApp() outside <App>');
	return app;
}
