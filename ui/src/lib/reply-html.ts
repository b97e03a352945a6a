/**
 * A reply's HTML part as a document for a sandboxed `<iframe srcdoc>`. The core has already
 * sanitised it (no scripts, no remote images); this is the second wall: the frame gets no
 * permissions at all (`sandbox=""`, so no script runs and nothing is same-origin) and a
 * policy that loads nothing from anywhere.
 */

/** What the framed document may load: inline styles and `data:` images, nothing else. */
export const REPLY_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The whole document for `srcdoc`: the policy first, then the message. */
export function replyDocument(html: string): string {
	return (
		'<!doctype html><html><head><meta charset="utf-8">' +
		`<meta http-equiv="Content-Security-Policy" content="${REPLY_HTML_CSP}">` +
		'<meta name="referrer" content="no-referrer">' +
		'<style>html{color-scheme:light}body{margin:8px;font:14px/1.4 system-ui,sans-serif;color:#1b1f24;background:#fff;overflow-wrap:anywhere}img{max-width:100%}</style>' +
		`</head><body>${html}</body></html>`
	);
}
