import { describe, expect, it } from 'vitest';
import type { MockBackend } from '$lib/platform/mock';
import { REPLY_HTML_CSP } from '$lib/reply-html';
import { choose, fireEvent, mockWithWorkspace, renderApp, screen, waitFor } from '../../../tests/helpers';

/** A workspace with replies of every kind: three written by people (one read), a bounce and an absence. */
function withReplies() {
	const { backend, ws } = mockWithWorkspace();
	const people = backend.seedProspects(ws.id, 5, (i) => ({
		first_name: ['Lena', 'Marco', 'Sara', 'Tom', 'Ines'][i],
		last_name: 'Example',
		company: 'Brightlane',
		status: 'contacted'
	}));
	const seed = backend.inbox;
	const r = {
		interested: seed.seedReply({ prospect_id: people[0].id, text: 'Sounds great!\nTell me more about the commission.' }),
		question: seed.seedReply({ prospect_id: people[1].id, text: 'How much do you pay per sale?' }),
		bounce: seed.seedReply({ prospect_id: people[2].id, text: 'User unknown', kind: 'bounce', bounce_status: '5.1.1' }),
		away: seed.seedReply({ prospect_id: people[3].id, text: 'I am out of the office until Monday.', kind: 'auto_reply', return_date: '2031-04-14' }),
		no: seed.seedReply({ prospect_id: people[4].id, text: 'No thanks, not interested.', read: true })
	};
	return { backend, ws, people, r };
}

async function openInbox() {
	await fireEvent.click(await screen.findByTestId('nav-inbox'));
	return screen.findByTestId('inbox');
}

function items(): HTMLElement[] {
	return screen.queryAllByTestId('reply-item');
}

function item(id: number): HTMLElement {
	return items().find((el) => el.dataset.replyId === String(id)) as HTMLElement;
}

async function waitForItems(n: number) {
	await waitFor(() => expect(items()).toHaveLength(n));
}

function lastListCall(backend: MockBackend) {
	return backend.callsOf('list_replies').at(-1);
}

describe('inbox', () => {
	it('shows the unread count, toasts a new reply and opens it from the toast', async () => {
		const { backend, ws } = mockWithWorkspace();
		const [p] = backend.seedProspects(ws.id, 1, () => ({ first_name: 'Lena', last_name: 'Schulz', status: 'contacted' }));
		renderApp(backend, { toastMs: 60_000 });
		const nav = await screen.findByTestId('nav-inbox');
		await waitFor(() => expect(backend.callsOf('unread_replies')).toContainEqual({ workspace_id: ws.id }));
		expect(screen.queryByTestId('inbox-unread')).toBeNull();
		// After Campaigns in the sidebar.
		expect(nav.previousElementSibling?.getAttribute('data-testid')).toBe('nav-campaigns');

		const r = backend.inbox.receiveReply({ prospect_id: p.id, text: 'Sounds great, tell me more!' });
		expect((await screen.findByTestId('toast-message')).textContent).toBe('New reply from Lena Schulz: Interested');
		await waitFor(() => expect(screen.getByTestId('inbox-unread').textContent).toBe('1'));

		await fireEvent.click(screen.getByTestId('toast-open-reply'));
		const detail = await screen.findByTestId('reply-detail');
		expect(detail.dataset.replyId).toBe(String(r.id));
		expect(backend.callsOf('get_reply')).toContainEqual({ reply_id: r.id, mark_read: true });
		await waitFor(() => expect(screen.queryByTestId('inbox-unread')).toBeNull());
		expect(screen.getByTestId('nav-inbox').getAttribute('aria-current')).toBe('page');
		await waitFor(() => expect(item(r.id).getAttribute('aria-selected')).toBe('true'));
		expect(item(r.id).dataset.unread).toBe('false');
	});

	it('filters through list_replies, human replies only unless automatic ones are asked for', async () => {
		const { backend, ws, r } = withReplies();
		renderApp(backend);
		await openInbox();
		await waitForItems(3);
		expect(lastListCall(backend)).toEqual({
			workspace_id: ws.id,
			intent: null,
			needs_reply: false,
			unread: false,
			human_only: true,
			prospect_id: null,
			before_id: null,
			limit: 50
		});
		expect(items().map((el) => el.dataset.intent)).toEqual(['not_interested', 'question', 'interested']);
		expect(items().map((el) => el.dataset.unread)).toEqual(['false', 'true', 'true']);
		expect(item(r.interested.id).querySelector('[data-testid="reply-intent"]')?.textContent).toBe('Interested');
		expect(item(r.interested.id).querySelector('[data-testid="reply-item-name"]')?.textContent).toBe('Lena Example');
		// The first line of the new text only.
		expect(item(r.interested.id).querySelector('[data-testid="reply-snippet"]')?.textContent).toBe('Sounds great!');
		expect(screen.getByTestId('inbox-filter-all').getAttribute('aria-pressed')).toBe('true');

		await fireEvent.click(screen.getByTestId('inbox-filter-needs_reply'));
		await waitForItems(2);
		expect(lastListCall(backend)).toMatchObject({ needs_reply: true, intent: null, unread: false });
		await fireEvent.click(screen.getByTestId('inbox-filter-interested'));
		await waitForItems(1);
		expect(lastListCall(backend)).toMatchObject({ intent: 'interested', needs_reply: false });
		await fireEvent.click(screen.getByTestId('inbox-filter-question'));
		await waitFor(() => expect(items().map((el) => el.dataset.intent)).toEqual(['question']));
		await fireEvent.click(screen.getByTestId('inbox-filter-unread'));
		await waitForItems(2);
		expect(lastListCall(backend)).toMatchObject({ unread: true, intent: null });

		await fireEvent.click(screen.getByTestId('inbox-filter-all'));
		await fireEvent.click(screen.getByTestId('inbox-show-auto'));
		await waitForItems(5);
		expect(lastListCall(backend)).toMatchObject({ human_only: false, intent: null });
		expect(item(r.bounce.id).querySelector('[data-testid="reply-kind"]')?.textContent).toBe('Bounce');
	});

	it('opens a reply: marks it read and shows who, what they want and what happened', async () => {
		const { backend, r } = withReplies();
		renderApp(backend);
		await openInbox();
		await waitForItems(3);
		expect(screen.queryByTestId('reply-detail')).toBeNull();

		await fireEvent.click(item(r.interested.id));
		const detail = await screen.findByTestId('reply-detail');
		await waitFor(() => expect(item(r.interested.id).dataset.unread).toBe('false'));
		expect(backend.callsOf('get_reply')).toEqual([{ reply_id: r.interested.id, mark_read: true }]);
		expect(detail.dataset.replyId).toBe(String(r.interested.id));
		expect(screen.getByTestId('reply-prospect').textContent).toBe('Lena Example');
		expect(screen.getByTestId('reply-company').textContent).toBe('Brightlane');
		expect(screen.getByTestId('reply-prospect-status').textContent).toBe('Interested');
		expect(screen.getByTestId('reply-subject').textContent).toBe(r.interested.subject);
		expect(screen.getByTestId('reply-confidence').textContent).toBe('85% sure, rules');
		expect(screen.getByTestId('reply-sentiment').textContent).toMatch(/^Positive/);
		expect(screen.getByTestId('reply-actions').textContent).toBe('status interested; draft ready');
		expect(screen.getByTestId('reply-needs-reply')).toBeTruthy();
		expect(screen.getByTestId('reply-new-text').textContent).toBe('Sounds great!\nTell me more about the commission.');
		expect(screen.queryByTestId('reply-full-text')).toBeNull();

		await fireEvent.click(screen.getByTestId('reply-full-toggle'));
		expect(screen.getByTestId('reply-full-text').textContent).toBe(r.interested.full_text);
		expect(screen.getByTestId('reply-full-toggle').getAttribute('aria-expanded')).toBe('true');
		// No HTML part: no frame.
		expect(screen.queryByTestId('reply-html')).toBeNull();

		// An absence shows when the person is back.
		await fireEvent.click(screen.getByTestId('inbox-show-auto'));
		await waitForItems(5);
		await fireEvent.click(item(r.away.id));
		await waitFor(() => expect(screen.getByTestId('reply-detail').dataset.replyId).toBe(String(r.away.id)));
		expect(screen.getByTestId('reply-return-date').textContent).toBe(new Date(2031, 3, 14).toLocaleDateString());
		expect(screen.getByTestId('reply-kind-detail').textContent).toBe('Automatic reply');
		expect(screen.queryByTestId('reply-full-text')).toBeNull();
		await fireEvent.click(item(r.bounce.id));
		await waitFor(() => expect(screen.getByTestId('reply-bounce-status').textContent).toBe('5.1.1'));
		expect(screen.getByTestId('reply-actions').textContent).toBe('marked bounced');
	});

	it('renders the HTML part in a sandbox without permissions and a policy that loads nothing', async () => {
		const { backend, ws } = mockWithWorkspace();
		const [p] = backend.seedProspects(ws.id, 1);
		// As if the core's sanitiser had missed something.
		const html = '<p>Hello <b>there</b></p><script>parent.alert(1)</script><img src="https://tracker.example/p.gif" onerror="alert(2)">';
		const r = backend.inbox.seedReply({ prospect_id: p.id, text: 'Hello there, sounds good.', html });
		renderApp(backend);
		await openInbox();
		await waitForItems(1);
		await fireEvent.click(item(r.id));
		await fireEvent.click(await screen.findByTestId('reply-full-toggle'));

		const frame = screen.getByTestId('reply-html') as HTMLIFrameElement;
		expect(frame.tagName).toBe('IFRAME');
		expect(frame.getAttribute('sandbox')).toBe('');
		const doc = frame.getAttribute('srcdoc') ?? '';
		expect(REPLY_HTML_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
		expect(doc).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPLY_HTML_CSP}">`);
		// The policy comes before the message.
		expect(doc.indexOf('Content-Security-Policy')).toBeLessThan(doc.indexOf(html));
		// Nothing of it reaches the app's own document.
		expect(document.querySelector('script')).toBeNull();
		expect(document.querySelector('img')).toBeNull();
		expect(document.querySelector('b')).toBeNull();
	});

	it('corrects an intent through relabel_reply with a confirmation', async () => {
		const { backend, r } = withReplies();
		renderApp(backend, { toastMs: 60_000 });
		await openInbox();
		await waitForItems(3);
		await fireEvent.click(item(r.question.id));
		await waitFor(() => expect((screen.getByTestId('reply-relabel') as HTMLSelectElement).value).toBe('question'));
		expect(screen.getByTestId('reply-prospect-status').textContent).toBe('Replied');

		await choose(screen.getByTestId('reply-relabel'), 'interested');
		await waitFor(() => expect(backend.callsOf('relabel_reply')).toEqual([{ reply_id: r.question.id, intent: 'interested' }]));
		expect((await screen.findByTestId('toast-message')).textContent).toBe('Reply from Marco Example marked “Interested”.');
		await waitFor(() => expect(screen.getByTestId('reply-prospect-status').textContent).toBe('Interested'));
		expect(screen.getByTestId('reply-confidence').textContent).toBe('100% sure, set by you');
		await waitFor(() => expect(item(r.question.id).dataset.intent).toBe('interested'));
	});

	it('shows a refused correction next to the select and puts the old intent back', async () => {
		const { backend, r } = withReplies();
		renderApp(backend);
		await openInbox();
		await waitForItems(3);
		await fireEvent.click(item(r.question.id));
		await screen.findByTestId('reply-detail');
		backend.failNext('relabel_reply', { code: 'invalid_input', message: 'That reply cannot be relabelled.' });
		await choose(screen.getByTestId('reply-relabel'), 'other');
		expect((await screen.findByTestId('reply-error')).textContent).toBe('That reply cannot be relabelled.');
		expect((screen.getByTestId('reply-relabel') as HTMLSelectElement).value).toBe('question');
		expect(screen.queryByTestId('error-banner')).toBeNull();
	});

	it('moves the selection with the arrow keys', async () => {
		const { backend, r } = withReplies();
		renderApp(backend);
		await openInbox();
		await waitForItems(3);
		const list = screen.getByTestId('reply-list');
		const selected = () => screen.getByTestId('reply-detail').dataset.replyId;

		await fireEvent.keyDown(list, { key: 'ArrowDown' });
		await waitFor(() => expect(selected()).toBe(String(r.no.id)));
		await fireEvent.keyDown(list, { key: 'ArrowDown' });
		await waitFor(() => expect(selected()).toBe(String(r.question.id)));
		await fireEvent.keyDown(list, { key: 'ArrowDown' });
		await waitFor(() => expect(selected()).toBe(String(r.interested.id)));
		// The end of the list stays the end.
		await fireEvent.keyDown(list, { key: 'ArrowDown' });
		await fireEvent.keyDown(item(r.interested.id), { key: 'ArrowUp' });
		await waitFor(() => expect(selected()).toBe(String(r.question.id)));

		expect(backend.callsOf('get_reply')).toEqual([
			{ reply_id: r.no.id, mark_read: true },
			{ reply_id: r.question.id, mark_read: true },
			{ reply_id: r.interested.id, mark_read: true },
			{ reply_id: r.question.id, mark_read: true }
		]);
		expect(item(r.question.id).getAttribute('aria-selected')).toBe('true');
		expect(list.getAttribute('aria-activedescendant')).toBe(item(r.question.id).id);
	});

	it('keeps a reply opened under “Unread” in the list until the filter changes', async () => {
		const { backend, r } = withReplies();
		renderApp(backend);
		await openInbox();
		await fireEvent.click(screen.getByTestId('inbox-filter-unread'));
		await waitForItems(2);
		const reloads = backend.callsOf('list_replies').length;
		await fireEvent.click(item(r.question.id));
		// Reading it changed the replies: the list was loaded again, and the open one stayed.
		await waitFor(() => expect(backend.callsOf('list_replies').length).toBeGreaterThan(reloads));
		await waitFor(() => expect(item(r.question.id).dataset.unread).toBe('false'));
		expect(items()).toHaveLength(2);
		await fireEvent.click(screen.getByTestId('inbox-filter-needs_reply'));
		await fireEvent.click(screen.getByTestId('inbox-filter-unread'));
		await waitFor(() => expect(items().map((el) => el.dataset.replyId)).toEqual([String(r.interested.id)]));
	});

	it('explains where replies come from when there are none', async () => {
		const { backend } = mockWithWorkspace();
		renderApp(backend);
		await openInbox();
		const empty = await screen.findByTestId('inbox-empty');
		expect(empty.textContent).toContain('Sender accounts → Reply mailbox');
		expect(empty.textContent).toContain('engine runs');
		await fireEvent.click(screen.getByTestId('inbox-go-accounts'));
		expect(await screen.findByTestId('account-name')).toBeTruthy();
	});

	it('counts the unread replies of the workspace in view', async () => {
		const { backend, ws } = mockWithWorkspace();
		const other = backend.seedWorkspace('Brightlane');
		const [p] = backend.seedProspects(ws.id, 1);
		const [q, s] = backend.seedProspects(other.id, 2);
		backend.inbox.seedReply({ prospect_id: p.id, text: 'Interested!' });
		backend.inbox.seedReply({ prospect_id: q.id, text: 'Interested!' });
		backend.inbox.seedReply({ prospect_id: s.id, text: 'What does it pay?' });
		backend.inbox.seedReply({ prospect_id: s.id, text: 'Out of office', kind: 'auto_reply' });
		renderApp(backend);
		await waitFor(() => expect(screen.getByTestId('inbox-unread').textContent).toBe('1'));
		await choose(screen.getByTestId('workspace-select'), String(other.id));
		await waitFor(() => expect(screen.getByTestId('inbox-unread').textContent).toBe('2'));
	});
});
