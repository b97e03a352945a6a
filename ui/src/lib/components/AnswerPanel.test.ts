import { describe, expect, it, vi } from 'vitest';
import { fireEvent, mockWithWorkspace, renderApp, screen, waitFor } from '../../../tests/helpers';

/** A workspace whose sender account received a question and an interested reply. */
function withAnswerable() {
	const { backend, ws } = mockWithWorkspace();
	const account = backend.sending.seedAccount(ws.id, 'Main');
	const [lena, marco] = backend.seedProspects(ws.id, 2, (i) => ({
		first_name: ['Lena', 'Marco'][i],
		last_name: 'Example',
		email: ['lena@brightlane.example', 'marco@brightlane.example'][i],
		status: 'contacted',
		lawful_basis: 'legitimate_interest'
	}));
	const question = backend.inbox.seedReply({ prospect_id: lena.id, account_id: account.id, text: 'How much do you pay per sale?' });
	const thanks = backend.inbox.seedReply({ prospect_id: marco.id, account_id: account.id, text: 'Thanks, noted.', intent: 'other' });
	return { backend, ws, account, lena, marco, question, thanks };
}

/** Opens Lena's question, answers it and sends the answer; returns what shows it and its draft. */
async function answerQuestion(backend: ReturnType<typeof withAnswerable>['backend'], questionId: number) {
	renderApp(backend);
	await openReply(questionId);
	const body = (await screen.findByTestId('answer-body')) as HTMLTextAreaElement;
	await fireEvent.input(body, { target: { value: 'Hi Lena,\n\nwe pay 20% per sale.' } });
	await fireEvent.click(screen.getByTestId('answer-send'));
	const sent = await screen.findByTestId('answer-sent');
	return { sent, draftId: backend.callsOf('send_answer')[0].draft_id };
}

async function openReply(id: number) {
	await fireEvent.click(await screen.findByTestId('nav-inbox'));
	const item = await waitFor(() => {
		const el = screen.getAllByTestId('reply-item').find((x) => x.dataset.replyId === String(id));
		if (!el) throw new Error('not listed yet');
		return el;
	});
	await fireEvent.click(item);
	return screen.findByTestId('answer-panel');
}

describe('answering a reply', () => {
	it('starts from the prepared draft, refuses a leftover placeholder, then sends through the outbox', async () => {
		const { backend, question } = withAnswerable();
		renderApp(backend);
		await openReply(question.id);
		// The question came with a draft, shown at once.
		const body = (await screen.findByTestId('answer-body')) as HTMLTextAreaElement;
		expect(body.value).toContain('Thanks for your question.');
		expect(body.value).toContain('> How much do you pay per sale?');
		expect((screen.getByTestId('answer-subject') as HTMLInputElement).value).toBe('Re: Partnering with us?');

		await fireEvent.input(body, { target: { value: 'Hi Lena,\n\nwe pay 20% per sale: [LINK]' } });
		await fireEvent.click(screen.getByTestId('answer-send'));
		expect((await screen.findByTestId('answer-error')).textContent).toBe('Not sent: the text still holds the placeholder [LINK]');
		expect(screen.queryByTestId('answer-sent')).toBeNull();

		await fireEvent.input(body, { target: { value: 'Hi Lena,\n\nwe pay 20% per sale.\n\nAlex' } });
		await fireEvent.click(screen.getByTestId('answer-send'));
		const sent = await screen.findByTestId('answer-sent');
		expect(screen.getByTestId('answer-status').textContent).toBe('Waiting in the outbox');
		// The compliance lines were added below the text.
		expect(screen.getByTestId('answer-sent-body').textContent).toContain('we pay 20% per sale.\n\nAlex\n\n-- \nNot interested?');
		expect(screen.queryByTestId('answer-form')).toBeNull();
		expect(backend.callsOf('send_answer')).toHaveLength(2);
		expect(backend.inbox.peekReply(question.id)?.needs_reply).toBe(false);
		expect(screen.queryByTestId('reply-needs-reply')).toBeNull();

		// The engine sends it: the status follows.
		const draftId = backend.callsOf('send_answer')[1].draft_id;
		backend.inbox.deliverAnswer(draftId);
		await waitFor(() => expect(sent.dataset.status).toBe('sent'));
		expect(screen.getByTestId('answer-open').textContent).toBe('Write another answer');
	});

	it('opens an empty answer on demand, saves it, and asks before discarding text', async () => {
		const { backend, thanks } = withAnswerable();
		renderApp(backend);
		await openReply(thanks.id);
		await fireEvent.click(await screen.findByTestId('answer-open'));
		const body = (await screen.findByTestId('answer-body')) as HTMLTextAreaElement;
		expect(body.value).toBe('');
		await waitFor(() => expect(document.activeElement).toBe(body));
		expect((screen.getByTestId('answer-save') as HTMLButtonElement).disabled).toBe(true);
		await fireEvent.input(body, { target: { value: 'Glad to hear it.' } });
		await fireEvent.click(screen.getByTestId('answer-save'));
		await waitFor(() => expect(backend.callsOf('save_answer')).toHaveLength(1));
		expect(backend.callsOf('save_answer')[0]).toMatchObject({ subject: 'Re: Partnering with us?', body: 'Glad to hear it.' });

		await fireEvent.click(screen.getByTestId('answer-discard'));
		expect(screen.getByTestId('answer-discard-confirm').textContent).toContain('What you wrote is lost');
		await fireEvent.click(screen.getByTestId('answer-discard-no'));
		expect(backend.callsOf('discard_answer')).toHaveLength(0);
		await fireEvent.click(screen.getByTestId('answer-discard'));
		await fireEvent.click(screen.getByTestId('answer-discard-yes'));
		await waitFor(() => expect(screen.queryByTestId('answer-form')).toBeNull());
		expect(backend.callsOf('discard_answer')).toHaveLength(1);
		expect(screen.getByTestId('answer-open').textContent).toBe('Answer');
	});

	it('saves the draft by itself once typing pauses, quietly, and never after a send', async () => {
		const { backend, thanks } = withAnswerable();
		renderApp(backend);
		await openReply(thanks.id);
		await fireEvent.click(await screen.findByTestId('answer-open'));
		const body = (await screen.findByTestId('answer-body')) as HTMLTextAreaElement;
		// Typing, with the page's clock in the test's hands.
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		try {
			await fireEvent.input(body, { target: { value: 'Glad' } });
			vi.advanceTimersByTime(1000);
			await fireEvent.input(body, { target: { value: 'Glad to hear it.' } });
			vi.advanceTimersByTime(1000);
			// Still typing: nothing saved yet.
			expect(backend.callsOf('save_answer')).toHaveLength(0);
			// A pause: the text is saved, quietly, and there is nothing left to lose.
			vi.advanceTimersByTime(600);
		} finally {
			vi.useRealTimers();
		}
		await waitFor(() => expect(screen.getByTestId('answer-autosave').textContent?.trim()).toBe('Draft saved'));
		expect(backend.callsOf('save_answer')).toMatchObject([{ body: 'Glad to hear it.' }]);
		const [stored] = await backend.call('reply_answers', { reply_id: thanks.id, mark_read: false });
		expect(stored).toMatchObject({ state: 'draft', body: 'Glad to hear it.' });
		expect((screen.getByTestId('answer-save') as HTMLButtonElement).disabled).toBe(true);
		expect(screen.queryByTestId('toast')).toBeNull();

		// Sent before the pause ends: the pending save never runs against the sent answer.
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		try {
			await fireEvent.input(body, { target: { value: 'Glad to hear it. Talk soon!' } });
			await fireEvent.click(screen.getByTestId('answer-send'));
			vi.advanceTimersByTime(5000);
		} finally {
			vi.useRealTimers();
		}
		await screen.findByTestId('answer-sent');
		expect(backend.callsOf('save_answer')).toHaveLength(1);
		expect(screen.queryByTestId('answer-error')).toBeNull();
	});

	it('shows the gate refusal for a prospect who opted out, and sends nothing', async () => {
		const { backend, lena, question } = withAnswerable();
		backend.sending.optOut(lena.id, 'asked by phone');
		renderApp(backend);
		await openReply(question.id);
		await screen.findByTestId('answer-body');
		await fireEvent.click(screen.getByTestId('answer-send'));
		expect((await screen.findByTestId('answer-error')).textContent).toBe('Not sent: Opted out.');
		expect(screen.queryByTestId('answer-sent')).toBeNull();
		expect(screen.getByTestId('answer-form')).toBeTruthy();
	});

	it('lets the person settle an answer the app stopped while sending', async () => {
		const { backend, ws, question } = withAnswerable();
		const { sent, draftId } = await answerQuestion(backend, question.id);
		expect(screen.queryByTestId('answer-unconfirmed')).toBeNull();

		backend.inbox.interruptAnswer(draftId);
		await waitFor(() => expect(sent.dataset.status).toBe('unconfirmed'));
		expect(screen.getByTestId('answer-unconfirmed').textContent).toContain('Sent folder');
		await fireEvent.click(screen.getByTestId('answer-resend'));
		await waitFor(() => expect(sent.dataset.status).toBe('queued'));
		const outboxId = backend.callsOf('resolve_unconfirmed')[0].message_ids[0];
		expect(backend.callsOf('resolve_unconfirmed')[0]).toEqual({ workspace_id: ws.id, message_ids: [outboxId], choice: 'resend' });
		expect(screen.queryByTestId('answer-unconfirmed')).toBeNull();
		expect((await screen.findAllByTestId('toast-message')).map((t) => t.textContent).join()).toContain('queued again');

		// Found in the Sent folder after the next interruption: marked sent, nothing goes out again.
		backend.inbox.interruptAnswer(draftId);
		await fireEvent.click(await screen.findByTestId('answer-mark-sent'));
		await waitFor(() => expect(sent.dataset.status).toBe('sent'));
		expect(backend.callsOf('resolve_unconfirmed')[1]).toMatchObject({ message_ids: [outboxId], choice: 'mark_sent' });

		expect(backend.inbox.peekReply(question.id)?.needs_reply).toBe(false);
		expect(screen.queryByTestId('reply-needs-reply')).toBeNull();

		// Cancelled, it answered nobody: the reply needs an answer again.
		backend.inbox.interruptAnswer(draftId);
		await fireEvent.click(await screen.findByTestId('answer-cancel'));
		await waitFor(() => expect(sent.dataset.status).toBe('cancelled'));
		expect(screen.getByTestId('answer-status').textContent).toBe('Cancelled');
		expect(backend.inbox.peekReply(question.id)?.needs_reply).toBe(true);
		await screen.findByTestId('reply-needs-reply');
	});

	it('answers from another account, and asks for one once the reply\'s account was removed', async () => {
		const { backend, ws, account, question } = withAnswerable();
		const second = backend.sending.seedAccount(ws.id, 'Second');
		const main = account.id;
		renderApp(backend);
		await openReply(question.id);
		const from = (await screen.findByTestId('answer-from')) as HTMLSelectElement;
		// At first the account the reply came in through.
		await waitFor(() => expect(from.options).toHaveLength(2));
		expect(Number(from.value)).toBe(main);
		expect(screen.getByTestId('answer-from-hint').textContent).toContain('at first that is the account the reply arrived at');
		await fireEvent.change(from, { target: { value: String(second.id) } });
		await fireEvent.click(screen.getByTestId('answer-save'));
		await waitFor(() => expect(backend.callsOf('save_answer')).toHaveLength(1));
		expect(backend.callsOf('save_answer')[0].account_id).toBe(second.id);

		// The chosen account is removed meanwhile: the form asks for another, and sends once one is chosen.
		await fireEvent.click(await screen.findByTestId('nav-campaigns'));
		await backend.call('delete_account', { account_id: second.id });
		await openReply(question.id);
		const again = (await screen.findByTestId('answer-from')) as HTMLSelectElement;
		await waitFor(() => expect(screen.getByTestId('answer-from-hint').textContent).toContain('was removed; choose the account to answer from'));
		expect(again.selectedOptions[0].textContent).toBe('Choose an account');
		expect((screen.getByTestId('answer-send') as HTMLButtonElement).disabled).toBe(true);
		await fireEvent.change(again, { target: { value: String(main) } });
		expect((screen.getByTestId('answer-send') as HTMLButtonElement).disabled).toBe(false);
		await fireEvent.click(screen.getByTestId('answer-send'));
		await screen.findByTestId('answer-sent');
		expect(backend.callsOf('send_answer')[0].account_id).toBe(main);
	});

	it('marks the reply as needing an answer again when the server refuses the answer', async () => {
		const { backend, question } = withAnswerable();
		const { sent, draftId } = await answerQuestion(backend, question.id);
		expect(screen.queryByTestId('reply-needs-reply')).toBeNull();

		backend.inbox.deliverAnswer(draftId, '554 5.7.1 rejected');
		await waitFor(() => expect(sent.dataset.status).toBe('failed'));
		expect(backend.inbox.peekReply(question.id)?.needs_reply).toBe(true);
		await screen.findByTestId('reply-needs-reply');
	});
});

describe('referred contacts', () => {
	it('adds one as a prospect, dismisses another, and refuses an address that opted out', async () => {
		const { backend, ws, lena, marco } = withAnswerable();
		backend.sending.optOut(marco.id, 'asked by phone');
		const r = backend.inbox.seedReply({
			prospect_id: lena.id,
			text: 'Please contact my colleague Jana Novak jana@brightlane.example, or Tom tom@else.example, or marco@brightlane.example.',
			intent: 'referral'
		});
		renderApp(backend);
		await openReply(r.id);
		const rows = await screen.findAllByTestId('referral');
		expect(rows.map((x) => x.textContent?.replace(/\s+/g, ' ').trim().split(' Add')[0])).toEqual([
			'Jana Novak jana@brightlane.example',
			'Tom tom@else.example',
			'marco@brightlane.example'
		]);

		await fireEvent.click(rows[0].querySelector('[data-testid="referral-accept"]') as HTMLElement);
		await waitFor(() => expect(screen.getAllByTestId('referral')[0].dataset.state).toBe('accepted'));
		expect((await screen.findByTestId('toast-message')).textContent).toContain('Jana Novak is now a prospect');
		const jana = backend.callsOf('accept_referral')[0];
		expect(jana).toEqual({ referral_id: expect.any(Number) });
		const added = [...Array(20).keys()].map((i) => backend.peekProspect(i + 1)).find((p) => p?.email === 'jana@brightlane.example');
		expect(added).toMatchObject({ workspace_id: ws.id, first_name: 'Jana', last_name: 'Novak', lawful_basis: 'none' });

		await fireEvent.click(screen.getAllByTestId('referral')[1].querySelector('[data-testid="referral-dismiss"]') as HTMLElement);
		await waitFor(() => expect(screen.getAllByTestId('referral')[1].dataset.state).toBe('dismissed'));

		await fireEvent.click(screen.getAllByTestId('referral')[2].querySelector('[data-testid="referral-accept"]') as HTMLElement);
		expect((await screen.findByTestId('referral-error')).textContent).toContain('asked not to be contacted');
		expect(screen.getAllByTestId('referral')[2].dataset.state).toBe('proposed');
	});
});
