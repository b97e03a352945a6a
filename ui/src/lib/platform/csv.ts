/** A small CSV reader used by the in-memory backend (quotes, `,` `;` or tab). */

export interface ParsedCsv {
	delimiter: string;
	/** Records; each with the line it starts on (1-based). */
	records: { line: number; cells: string[] }[];
}

/** Guess the delimiter from the first line. */
export function detectDelimiter(text: string): string {
	const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
	const counts = [',', ';', '\t'].map((d) => ({ d, n: firstLine.split(d).length - 1 }));
	counts.sort((a, b) => b.n - a.n);
	return counts[0].n > 0 ? counts[0].d : ',';
}

export function parseCsv(text: string, delimiter = detectDelimiter(text)): ParsedCsv {
	const records: { line: number; cells: string[] }[] = [];
	let cells: string[] = [];
	let cell = '';
	let inQuotes = false;
	let line = 1;
	let recordLine = 1;
	let sawAny = false;
	const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
	for (let i = 0; i < src.length; i++) {
		const ch = src[i];
		if (inQuotes) {
			if (ch === '"') {
				if (src[i + 1] === '"') {
					cell += '"';
					i++;
				} else inQuotes = false;
			} else {
				if (ch === '\n') line++;
				cell += ch;
			}
			continue;
		}
		if (ch === '"' && cell === '') {
			inQuotes = true;
			sawAny = true;
		} else if (ch === delimiter) {
			cells.push(cell);
			cell = '';
			sawAny = true;
		} else if (ch === '\n' || ch === '\r') {
			if (ch === '\r' && src[i + 1] === '\n') i++;
			cells.push(cell);
			if (sawAny || cells.some((c) => c !== '')) records.push({ line: recordLine, cells });
			cells = [];
			cell = '';
			sawAny = false;
			line++;
			recordLine = line;
		} else {
			cell += ch;
			sawAny = true;
		}
	}
	if (sawAny || cell !== '') {
		cells.push(cell);
		records.push({ line: recordLine, cells });
	}
	return { delimiter, records };
}

/** Quote one value for writing CSV. */
export function csvCell(value: string): string {
	return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
