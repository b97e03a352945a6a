import { describe, expect, it } from 'vitest';
import type { ApiEvent, ProspectQuery } from '$lib/generated/commands';
import { isApiError } from './backend';
import { MockBackend, parseFollowers } from './mock';

function query(workspace_id: number, over: Partial<ProspectQuery> = {}): ProspectQuery {
	return {
		workspace_id,
		search: null,
		statuses: [],
		source_type: null,
		country: null,
		min_score: null,
		max_score: null,
		sort: 'created_at',
		descending: false,
		deleted: false,
		offset: 0,
		limit: 200,
		...over
	};
}

async function rejection(p: Promise<unknown>) {
	try {
		await p;
	} catch (e) {
		return e;
	}
	throw new Error('expected a rejection');
}

describe('MockBackend contract', () => {
	it('creates workspaces and rejects duplicates and empty names with ApiErrors', async () => {
		const b = new MockBackend();
		const ws = await b.call('create_workspace', { name: ' Acme ', postal_address: 'Street 1', legal_notice: '' });
		expect(ws.name).toBe('Acme');
		expect(ws.scoring.weights.map((w) => w.factor)).toEqual(['email_domain', 'website', 'social']);
		const dup = await rejection(b.call('create_workspace', { name: 'acme', postal_address: '', legal_notice: '' }));
		expect(isApiError(dup) && dup.code).toBe('conflict');
		const empty = await rejection(b.call('create_workspace', { name: '  ', postal_address: '', legal_notice: '' }));
		expect(isApiError(empty) && empty.code).toBe('invalid_input');
		expect(await b.call('list_workspaces', {})).toHaveLength(1);
	});

	it('pages, sorts, searches and filters prospects', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		b.seedProspects(ws.id, 450);
		b.seedProspects(ws.id, 1, () => ({
			first_name: 'Zelda',
			last_name: 'Quartz',
			company: 'Hyrule Media',
			country: 'Japan',
			notes: 'met at expo',
			title: 'Royal Archivist',
			x_handle: '@zelda_q',
			custom_fields: { niche: 'lore' }
		}));

		const p0 = await b.call('list_prospects', query(ws.id));
		expect(p0.total).toBe(451);
		expect(p0.rows).toHaveLength(200);
		const p2 = await b.call('list_prospects', query(ws.id, { offset: 400 }));
		expect(p2.rows).toHaveLength(51);
		expect(p2.rows[0].id).toBe(401);

		const found = await b.call('list_prospects', query(ws.id, { search: 'zel hyr' }));
		expect(found.rows.map((r) => r.first_name)).toEqual(['Zelda']);
		expect((await b.call('list_prospects', query(ws.id, { search: 'expo' }))).total).toBe(1);
		expect((await b.call('list_prospects', query(ws.id, { search: 'elda' }))).total).toBe(0);
		// Like the backend: title, handle and custom field values, not custom field names.
		for (const search of ['archiv', 'zelda_q', 'lore']) {
			expect((await b.call('list_prospects', query(ws.id, { search }))).rows.map((r) => r.first_name), search).toEqual(['Zelda']);
		}
		expect((await b.call('list_prospects', query(ws.id, { search: 'niche' }))).total).toBe(0);

		expect((await b.call('list_prospects', query(ws.id, { country: 'japan' }))).total).toBe(1);

		const byName = await b.call('list_prospects', query(ws.id, { sort: 'name', descending: true, limit: 1 }));
		expect(byName.rows[0].first_name).toBe('Zelda');

		const tooMany = await rejection(b.call('list_prospects', query(ws.id, { limit: 5000 })));
		expect(isApiError(tooMany) && tooMany.code).toBe('invalid_input');
	});

	it('lists the ids of a whole filtered list in its order, past any page', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		b.seedProspects(ws.id, 1200);
		const zelda = b.seedProspects(ws.id, 1, () => ({ first_name: 'Zelda', company: 'Hyrule Media' }))[0];

		const all = await b.call('matching_prospect_ids', query(ws.id, { limit: 1 }));
		expect(all.workspace_id).toBe(ws.id);
		expect(all.ids).toHaveLength(1201);
		const page = await b.call('list_prospects', query(ws.id, { sort: 'name', descending: true, limit: 3 }));
		const byName = await b.call('matching_prospect_ids', query(ws.id, { sort: 'name', descending: true }));
		expect(byName.ids.slice(0, 3)).toEqual(page.rows.map((r) => r.id));
		expect((await b.call('matching_prospect_ids', query(ws.id, { search: 'hyr' }))).ids).toEqual([zelda.id]);
		const missing = await rejection(b.call('matching_prospect_ids', query(999)));
		expect(isApiError(missing) && missing.code).toBe('not_found');
	});

	it('scores deterministically, filters by status and score, and explains the score', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		const [good, weak] = b.seedProspects(ws.id, 2, (i) =>
			i === 0
				? { email: 'a@corp.example', website: 'https://corp.example', followers: 20000 }
				: { email: 'b@gmail.com', website: null, followers: 0, x_handle: null }
		);
		const summary = await b.call('score_prospects', { workspace_id: ws.id });
		expect(summary).toEqual({ scored: 2, qualified: 1, newly_qualified: 1, no_longer_qualified: 0, threshold: 60, rewritten: 0 });
		const g = await b.call('get_prospect', { id: good.id });
		expect(g.score).toBe(100);
		expect(g.status).toBe('qualified');
		expect(g.score_breakdown?.factors.find((f) => f.factor === 'email_domain')?.reasons[0]).toContain('corp.example');
		const w = await b.call('get_prospect', { id: weak.id });
		expect(w.score).toBe(12); // (30*40 + 0*30 + 0*30) / 100
		expect(w.score_breakdown?.qualified).toBe(false);

		expect((await b.call('list_prospects', query(ws.id, { statuses: ['qualified'] }))).total).toBe(1);
		expect((await b.call('list_prospects', query(ws.id, { min_score: 50 }))).rows.map((r) => r.id)).toEqual([good.id]);
		const sorted = await b.call('list_prospects', query(ws.id, { sort: 'score', descending: false }));
		expect(sorted.rows.map((r) => r.id)).toEqual([weak.id, good.id]);
	});

	it('soft-deletes and restores, with facets, audit entries and change events', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		const [p] = b.seedProspects(ws.id, 3);
		const events: ApiEvent[] = [];
		b.onEvent((e) => events.push(e));
		expect(await b.call('delete_prospects', { workspace_id: ws.id, ids: [p.id] })).toBe(1);
		expect((await b.call('list_prospects', query(ws.id))).total).toBe(2);
		expect((await b.call('list_prospects', query(ws.id, { deleted: true }))).rows[0].id).toBe(p.id);
		expect(await b.call('prospect_facets', { workspace_id: ws.id })).toMatchObject({ total: 2, deleted: 1 });
		expect(await b.call('restore_prospects', { workspace_id: ws.id, ids: [p.id] })).toBe(1);
		expect((await b.call('list_prospects', query(ws.id))).total).toBe(3);
		await Promise.resolve();
		expect(events).toContainEqual({ kind: 'changed', entity: 'prospects', workspace_id: ws.id, source: 'app' });
		const audit = await b.call('list_audit', { workspace_id: ws.id, limit: 1, before_id: null, prospect_id: null, topic: null, actor: null });
		expect(audit[0].action).toBe('prospects.restore');
		const older = await b.call('list_audit', { workspace_id: ws.id, limit: 10, before_id: audit[0].id, prospect_id: null, topic: null, actor: null });
		expect(older[0].action).toBe('prospects.delete');
	});

	it('updates only the fields given and validates them', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		const [p, q] = b.seedProspects(ws.id, 2);
		const none = { first_name: null, last_name: null, email: null, website: null, x_handle: null, linkedin_url: null, company: null, title: null, country: null, time_zone: null, followers: null, notes: null, status: null };
		const u = await b.call('update_prospect', { id: p.id, patch: { ...none, company: 'New Co', followers: '1.5k' } });
		expect(u.company).toBe('New Co');
		expect(u.followers).toBe(1500);
		expect(u.first_name).toBe(p.first_name);
		const bad = await rejection(b.call('update_prospect', { id: p.id, patch: { ...none, email: 'nope' } }));
		expect(isApiError(bad) && bad.code).toBe('invalid_input');
		const taken = await rejection(b.call('update_prospect', { id: p.id, patch: { ...none, email: q.email } }));
		expect(isApiError(taken) && taken.code).toBe('conflict');
		const missing = await rejection(b.call('get_prospect', { id: 9999 }));
		expect(isApiError(missing) && missing.code).toBe('not_found');
	});

	it('previews and imports registered files, merging duplicates and reporting bad rows', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		b.registerFile('a.csv', 'Name;E-mail;Followers\nAda Lovelace;ada@engine.example;2k\nBad Row;not-mail;x\nAda L;ADA@engine.example;\n');
		const preview = await b.call('preview_import', { path: 'a.csv' });
		expect(preview.csv.delimiter).toBe(';');
		expect(preview.csv.columns.map((c) => c.field)).toEqual(['full_name', 'email', 'followers']);
		expect(preview.csv.mapping_problem).toBeNull();
		const events: ApiEvent[] = [];
		b.onEvent((e) => events.push(e));
		const report = await b.call('import_csv', { workspace_id: ws.id, path: 'a.csv', columns: null });
		expect(report).toMatchObject({ total_rows: 3, created: 1, merged: 1, invalid: 1 });
		expect(report.row_errors[0].row).toBe(3);
		expect(report.row_errors[0].errors.map((e) => e.column)).toEqual(['E-mail', 'Followers']);
		expect(events.some((e) => e.kind === 'import_progress' && e.phase === 'writing')).toBe(true);
		const written = await b.call('export_import_errors', { import_id: report.import_id, path: 'out.csv' });
		expect(written).toBe(2);
		expect(b.files.get('out.csv')).toContain('3,E-mail,not-mail');
		const missing = await rejection(b.call('preview_import', { path: 'nope.csv' }));
		expect(isApiError(missing) && missing.code).toBe('io');
		b.registerFile('empty.csv', '');
		const empty = await rejection(b.call('preview_import', { path: 'empty.csv' }));
		expect(isApiError(empty) && empty.code).toBe('csv_invalid');
	});

	it('rejects bad scoring configs and injected failures', async () => {
		const b = new MockBackend();
		const ws = b.seedWorkspace('W');
		const cfg = (threshold: number, w = 10) => ({
			workspace_id: ws.id,
			config: { threshold, weights: [{ factor: 'email_domain' as const, weight: w }, { factor: 'website' as const, weight: 0 }, { factor: 'social' as const, weight: 0 }] }
		});
		expect((await b.call('set_scoring_config', cfg(70))).scoring.threshold).toBe(70);
		const e1 = await rejection(b.call('set_scoring_config', cfg(170)));
		expect(isApiError(e1) && e1.code).toBe('invalid_input');
		const e2 = await rejection(b.call('set_scoring_config', cfg(50, 0)));
		expect(isApiError(e2) && e2.code).toBe('invalid_input');
		b.failNext('app_info', { code: 'storage', message: 'disk full' });
		expect(await rejection(b.call('app_info', {}))).toEqual({ code: 'storage', message: 'disk full' });
		expect((await b.call('app_info', {})).version).toBeTruthy();
	});

	it('parses follower counts', () => {
		expect(parseFollowers('1.2k')).toBe(1200);
		expect(parseFollowers('3M')).toBe(3_000_000);
		expect(parseFollowers('12,500')).toBe(12500);
		expect(parseFollowers('lots')).toBeNull();
	});
});
