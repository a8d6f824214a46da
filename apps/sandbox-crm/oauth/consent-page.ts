import { Account, DataCenterRegion, User } from '../accounts/crm-model';
import { OAuthClient, PendingAuthorization } from './oauth-model';
import { OAuthShape } from './oauth-shapes';

/*
 * The consent and error pages a person sees in the browser during an authorization. Plain HTML
 * with inline CSS: no scripts, no external assets, form controls with real labels.
 */

const REGION_LABEL: Readonly<Record<DataCenterRegion, string>> = {
  us: 'US data center',
  eu: 'EU data center',
  in: 'India data center',
  au: 'Australia data center',
  jp: 'Japan data center',
};

export interface ConsentPageInput {
  shape: OAuthShape;
  client: OAuthClient;
  request: PendingAuthorization;
  /** Form action, e.g. `/hubspot/oauth/consent`. */
  consentPath: string;
  choices: Array<{ account: Account; users: User[] }>;
}

export function renderConsentPage(input: ConsentPageInput): string {
  const { shape, client, request, choices } = input;
  const showRegions = shape.regionBound;
  const hasUsers = choices.length > 0;

  const userOptions = choices
    .map(({ account, users }) => {
      const accountLabel = showRegions ? `${account.name} (${REGION_LABEL[account.region]})` : account.name;
      const options = users
        .map((user) => `<option value="${esc(user.id)}">${esc(`${user.name} · ${user.email} — ${accountLabel}`)}</option>`)
        .join('');
      return `<optgroup label="${esc(accountLabel)}">${options}</optgroup>`;
    })
    .join('');

  const scopeItems = request.scopes
    .map(
      (scope, index) =>
        `<li><input type="checkbox" id="scope-${index}" name="scope" value="${esc(scope)}" checked>` +
        `<label for="scope-${index}"><code>${esc(scope)}</code></label></li>`,
    )
    .join('');

  const signIn = hasUsers
    ? `<div class="field">
        <label for="user_id">Sign in as</label>
        <select id="user_id" name="user_id" required>${userOptions}</select>
      </div>`
    : `<p class="notice" role="alert">The sandbox has no active users yet. Create an account with <code>POST /admin/accounts</code>, then reload this page.</p>`;

  const scopes = request.scopes.length
    ? `<fieldset>
        <legend>Permissions requested</legend>
        <p class="hint" id="scope-hint">Untick any permission you do not want to grant.</p>
        <ul class="scopes" aria-describedby="scope-hint">${scopeItems}</ul>
      </fieldset>`
    : `<p class="hint">This app asks for no specific permissions.</p>`;

  const body = `
  <main class="card" aria-labelledby="title">
    <p class="brand">${esc(shape.displayName)} <span>sandbox</span></p>
    <h1 id="title">Allow <strong>${esc(client.name)}</strong> to access your ${esc(shape.displayName)} account?</h1>
    <p class="meta">After you answer you will be sent back to <code>${esc(redirectOrigin(request.redirectUri))}</code>.</p>
    <form method="post" action="${esc(input.consentPath)}">
      <input type="hidden" name="request_id" value="${esc(request.id)}">
      <input type="hidden" name="scopes_presented" value="1">
      ${signIn}
      ${scopes}
      <div class="actions">
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        <button type="submit" name="decision" value="allow" class="primary"${hasUsers ? '' : ' disabled'}>Allow</button>
      </div>
    </form>
  </main>`;
  return page(`Authorize ${client.name} – ${shape.displayName} sandbox`, body);
}

export function renderErrorPage(input: { providerName: string; error: string; description: string }): string {
  const body = `
  <main class="card" aria-labelledby="title">
    <p class="brand">${esc(input.providerName)} <span>sandbox</span></p>
    <h1 id="title">This authorization request can't be completed</h1>
    <p role="alert" class="error">${esc(input.description)}</p>
    <p class="meta">Error code: <code>${esc(input.error)}</code></p>
    <p class="hint">Return to the app that sent you here and start the connection again.</p>
  </main>`;
  return page('Authorization error', body);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  :root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d8dce5; --accent: #2f5bd3; --accent-ink: #fff; --bg: #f3f5f9; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: var(--bg);
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); padding: 24px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 28px 32px; width: 100%; max-width: 520px;
          box-shadow: 0 6px 24px rgba(20, 30, 60, .08); }
  .brand { margin: 0 0 8px; font-weight: 600; color: var(--muted); font-size: 14px; letter-spacing: .02em; }
  .brand span { background: #fff4d6; color: #7a5a00; border-radius: 4px; padding: 1px 6px; margin-left: 4px; font-size: 12px; text-transform: uppercase; }
  h1 { font-size: 20px; line-height: 1.35; margin: 0 0 8px; }
  .meta, .hint { color: var(--muted); font-size: 14px; margin: 0 0 16px; }
  .field { margin: 20px 0; }
  label { font-weight: 500; }
  .field label { display: block; margin-bottom: 6px; }
  select { width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 8px; font: inherit; background: #fff; }
  fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px 4px; margin: 0 0 20px; }
  legend { font-weight: 600; padding: 0 6px; }
  .scopes { list-style: none; margin: 0; padding: 0; }
  .scopes li { display: flex; align-items: center; gap: 10px; padding: 6px 0; border-top: 1px solid #eef0f4; }
  .scopes li:first-child { border-top: 0; }
  input[type=checkbox] { width: 18px; height: 18px; margin: 0; accent-color: var(--accent); }
  code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f7; border-radius: 4px; padding: 1px 5px; word-break: break-all; }
  .actions { display: flex; justify-content: flex-end; gap: 12px; }
  button { font: inherit; font-weight: 600; border-radius: 8px; padding: 9px 20px; cursor: pointer; border: 1px solid var(--line); background: #fff; color: var(--ink); }
  button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
  button:disabled { opacity: .5; cursor: not-allowed; }
  button:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid #9db5f5; outline-offset: 2px; }
  .notice { background: #fff4d6; border-radius: 8px; padding: 10px 12px; }
  .error { background: #fde8e8; color: #8a1c1c; border-radius: 8px; padding: 10px 12px; }
</style>
</head>
<body>${body}
</body>
</html>
`;
}

function redirectOrigin(uri: string): string {
  try {
    const url = new URL(uri);
    return url.origin === 'null' ? `${url.protocol}${url.pathname}` : url.origin;
  } catch {
    return uri;
  }
}

/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
