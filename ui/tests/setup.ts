import { afterEach, beforeEach } from 'vitest';
import { cleanup } from '@testing-library/svelte';
import { setBackend } from '$lib/platform';

// jsdom has no layout and no ResizeObserver (used by bind:clientHeight): a no-op stand-in.
if (typeof globalThis.ResizeObserver === 'undefined') {
	globalThis.ResizeObserver = class {
		observe() {}
		unobserve() {}
		disconnect() {}
	};
}

beforeEach(() => {
	localStorage.clear();
});

afterEach(() => {
	cleanup();
	setBackend(null);
});
