/**
 * Server-rendered pages for end customers (connect link, OAuth result). Plain HTML styled by the
 * console's shared stylesheet (one look for both), readable by screen readers and usable without
 * JavaScript. The one small script (`/assets/connect.js`) only adds what needs a browser: telling
 * an embedding page the result (link SDK popup, postMessage) and, for an admin who came from the
 * console in this tab, a way back to it. No inline script or style: pages are served with a strict
 * Content-Security-Policy.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** What the result page tells the opener (link SDK) and the console: ids only, never a secret. */
export interface PageResult {
  type: 'success' | 'error';
  reauthorizationId?: string | null;
  integrationId?: string | null;
  error?: { code: string; message: string } | null;
}

function resultAttributes(result: PageResult | undefined, integrationId: string | undefined): string {
  const attrs: Array<[string, string | null | undefined]> = [
    ['data-integration-id', result?.integrationId ?? integrationId],
    ['data-result', result?.type],
    ['data-reauthorization-id', result?.reauthorizationId],
    ['data-error-code', result?.error?.code],
    ['data-error-message', result?.error?.message],
  ];
  return attrs
    .filter(([, v]) => typeof v === 'string' && v !== '')
    .map(([k, v]) => ` ${k}="${escapeHtml(v!)}"`)
    .join('');
}

function providerChip(provider: string): string {
  const initial = provider.trim().charAt(0).toUpperCase() || '?';
  return `<span class="provider-chip"><span class="provider-logo" aria-hidden="true">${escapeHtml(initial)}</span>${escapeHtml(provider)}</span>`;
}

/** A link back to the console; connect.js reveals it only to an admin who came from the console in this tab. */
function consoleReturnLink(integrationId: string | undefined): string {
  const href = integrationId ? `/console#/integrations/${encodeURIComponent(integrationId)}` : '/console';
  return `<a class="button secondary" href="${escapeHtml(href)}" data-console-return hidden>Back to the console</a>`;
}

export function page(opts: {
  title: string;
  body: string;
  refreshSeconds?: number;
  /** Where the refresh goes (default: this page again). */
  refreshUrl?: string;
  result?: PageResult;
  integrationId?: string;
}): string {
  const refresh = opts.refreshSeconds
    ? `<meta http-equiv="refresh" content="${opts.refreshSeconds}${opts.refreshUrl ? `;url=${escapeHtml(opts.refreshUrl)}` : ''}">`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${refresh}
<title>${escapeHtml(opts.title)}</title>
<link rel="stylesheet" href="/assets/theme.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<script src="/assets/connect.js" defer></script>
</head>
<body class="connect-body">
<main class="connect-card" id="main"${resultAttributes(opts.result, opts.integrationId)}>
${opts.body}
</main>
<footer class="connect-footer"><span class="lock">Secure connection</span> · Your credentials go straight to the CRM and are stored encrypted. Nobody sees them.</footer>
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
  refreshUrl?: string;
  /** A final result: reported to the link SDK's host page and the console. */
  result?: PageResult;
  integrationId?: string;
}): string {
  const icon = opts.kind === 'ok' ? '✓' : opts.kind === 'warn' ? '…' : '!';
  const integrationId = opts.result?.integrationId ?? opts.integrationId;
  return page({
    title: opts.title,
    refreshSeconds: opts.refreshSeconds,
    refreshUrl: opts.refreshUrl,
    result: opts.result,
    integrationId,
    body: `${opts.provider ? providerChip(opts.provider) : ''}
<div class="result-icon ${opts.kind}" aria-hidden="true">${icon}</div>
<h1>${escapeHtml(opts.title)}</h1>
<div class="callout ${opts.kind}" role="${opts.kind === 'error' ? 'alert' : 'status'}"><p>${escapeHtml(opts.message)}</p></div>
<div class="actions">
${opts.action ? `<a class="button" href="${escapeHtml(opts.action.href)}">${escapeHtml(opts.action.label)}</a>` : ''}
${consoleReturnLink(integrationId)}
</div>`,
  });
}

/** The magic-link page: what will happen, then the continue button (OAuth) or the token form. */
export function connectPage(opts: {
  linkToken: string;
  authType: string;
  displayName: string;
  providerName: string;
  fullResync: boolean;
  expiresAt: Date;
  integrationId: string;
  error?: string;
}): string {
  const provider = escapeHtml(opts.providerName);
  const link = `/connect/${escapeHtml(opts.linkToken)}`;
  const oauth = opts.authType === 'oauth2';
  const steps = [
    oauth ? `You sign in to ${provider} and approve access.` : `You paste a new API token from ${provider}.`,
    `We check that the new access works and belongs to the same ${provider} account.`,
    `The integration keeps running the whole time; nothing is re-imported${opts.fullResync ? ' (a full re-sync was requested and starts afterwards)' : ''}.`,
  ];
  const intro = `${providerChip(opts.providerName)}
<h1>Reconnect ${escapeHtml(opts.displayName)}</h1>
<p class="lead">The connection to ${provider} needs to be renewed. It takes a minute:</p>
<ol class="steps">${steps.map((s, i) => `<li><span class="num" aria-hidden="true">${i + 1}</span><span>${s}</span></li>`).join('')}</ol>
${opts.error ? `<div class="callout error" role="alert" id="connect-error"><span class="icon" aria-hidden="true">!</span><p>${escapeHtml(opts.error)}</p></div>` : ''}`;
  const expiry = `<p class="hint">This link expires ${escapeHtml(opts.expiresAt.toUTCString())}.</p>`;
  if (oauth) {
    return page({
      title: `Reconnect ${opts.displayName}`,
      integrationId: opts.integrationId,
      body: `${intro}
<div class="actions"><a class="button wide" href="${link}/authorize">Continue to ${provider}</a></div>
${expiry}`,
    });
  }
  return page({
    title: `Reconnect ${opts.displayName}`,
    integrationId: opts.integrationId,
    body: `${intro}
<form method="post" action="${link}" class="token-form">
  <div class="field">
    <label for="apiToken">New ${provider} API token</label>
    <input id="apiToken" name="apiToken" type="password" autocomplete="off" spellcheck="false" required aria-describedby="apiToken-hint${opts.error ? ' connect-error' : ''}"${opts.error ? ' aria-invalid="true"' : ''} autofocus>
    <div id="apiToken-hint" class="hint">Create it in ${provider} under Settings → API, then paste it here.</div>
  </div>
  <div class="actions"><button class="button wide" type="submit">Verify and connect</button></div>
</form>
${expiry}`,
  });
}
