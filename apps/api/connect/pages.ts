/**
 * Server-rendered pages for end customers (connect link, OAuth result). Plain HTML and inline CSS:
 * nothing to build, works without JavaScript, readable by screen readers.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root { color-scheme: light; --fg:#1d2330; --muted:#5b6477; --line:#e3e6ee; --brand:#3454d1; --ok:#137a4b; --bad:#b42318; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:#f5f6fa; }
main { max-width: 34rem; margin: 8vh auto; background:#fff; border:1px solid var(--line); border-radius:14px; padding:2rem 2.25rem; box-shadow:0 8px 30px rgba(20,30,60,.06); }
h1 { font-size:1.45rem; margin:.2rem 0 1rem; }
p, li { color: var(--muted); }
ul { padding-left: 1.2rem; }
.provider { display:inline-block; font-size:.8rem; letter-spacing:.04em; text-transform:uppercase; color:var(--brand); font-weight:600; }
.button { display:inline-block; background:var(--brand); color:#fff; border:0; border-radius:8px; padding:.7rem 1.2rem; font-size:1rem; font-weight:600; text-decoration:none; cursor:pointer; }
.button:focus-visible, input:focus-visible { outline:3px solid #9db1ff; outline-offset:2px; }
.alert { border-radius:8px; padding:.75rem 1rem; margin:1rem 0; border:1px solid; }
.alert.error { color:var(--bad); background:#fef3f2; border-color:#fecdca; }
.alert.ok { color:var(--ok); background:#ecfdf3; border-color:#abefc6; }
.alert.warn { color:var(--warn); background:#fffaeb; border-color:#fedf89; }
label { display:block; font-weight:600; margin:1rem 0 .35rem; }
input[type=password], input[type=text] { width:100%; padding:.65rem .75rem; border:1px solid #c9cedb; border-radius:8px; font-size:1rem; }
.hint { font-size:.875rem; color:var(--muted); margin-top:.35rem; }
.status-icon { font-size:2.25rem; line-height:1; }
footer { margin-top:1.5rem; font-size:.8rem; color:var(--muted); }
`;

export function page(opts: { title: string; body: string; status?: number; refreshSeconds?: number }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${opts.refreshSeconds ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<title>${escapeHtml(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${opts.body}
<footer>Secured connection · your credentials are sent to the CRM and stored encrypted; nobody sees them.</footer>
</main>
</body>
</html>`;
}

export function messagePage(opts: {
  title: string;
  message: string;
  kind: 'ok' | 'error' | 'warn';
  provider?: string;
  action?: { href: string; label: string };
  status?: number;
  refreshSeconds?: number;
}): string {
  const icon = opts.kind === 'ok' ? '✅' : opts.kind === 'warn' ? '⏳' : '⚠️';
  return page({
    title: opts.title,
    refreshSeconds: opts.refreshSeconds,
    body: `${opts.provider ? `<span class="provider">${escapeHtml(opts.provider)}</span>` : ''}
<div class="status-icon" aria-hidden="true">${icon}</div>
<h1>${escapeHtml(opts.title)}</h1>
<div class="alert ${opts.kind}" role="${opts.kind === 'error' ? 'alert' : 'status'}">${escapeHtml(opts.message)}</div>
${opts.action ? `<p><a class="button" href="${escapeHtml(opts.action.href)}">${escapeHtml(opts.action.label)}</a></p>` : ''}`,
  });
}
