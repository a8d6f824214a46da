/**
 * Server-rendered pages for end customers (connect link, OAuth result). Plain HTML styled by the
 * console's shared stylesheet (one look for both), readable by screen readers and usable without
 * JavaScript. The one small script (`/assets/connect.js`) only adds what needs a browser: telling
 * an embedding page the result (link SDK popup, postMessage) and, for an admin who came from the
 * console in this tab, a way back to it. No inline script or style: pages are served with a strict
 * Content-Security-Policy (common/security-headers.ts).
 *
 * The HTML is in Handlebars templates (`views/`: a layout and partials, `{{x}}` escapes every value);
 * this file only turns what the controller knows into the templates' view models.
 */
import { Injectable } from '@nestjs/common';
import hbs from 'hbs';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fromProjectRoot } from '../../../libs/config/project-root';

/** What the result page tells the opener (link SDK) and the console: ids only, never a secret. */
export interface PageResult {
  type: 'success' | 'error';
  reauthorizationId?: string | null;
  integrationId?: string | null;
  error?: { code: string; message: string } | null;
}

export interface MessagePageOptions {
  title: string;
  message: string;
  kind: 'ok' | 'error' | 'warn';
  provider?: string;
  action?: { href: string; label: string };
  refreshSeconds?: number;
  /** Where the refresh goes (default: this page again). */
  refreshUrl?: string;
  /** A final result: reported to the link SDK's host page and the console. */
  result?: PageResult;
  integrationId?: string;
}

export interface ConnectPageOptions {
  linkToken: string;
  authType: string;
  displayName: string;
  providerName: string;
  fullResync: boolean;
  expiresAt: Date;
  integrationId: string;
  error?: string;
}

/** What the layout needs (templates: views/partials/layout.hbs). */
interface PageFrame {
  title: string;
  refresh: { seconds: number; url: string | null } | null;
  attributes: Array<{ name: string; value: string }>;
}

interface ProviderChip {
  initial: string;
  name: string;
}

type Template = (context: object) => string;

/** Templates and partials are read and compiled once, when the API starts (a broken one fails the start). */
const VIEWS = fromProjectRoot('apps/api/connect/views');

function frame(opts: { title: string; refreshSeconds?: number; refreshUrl?: string; result?: PageResult; integrationId?: string | null }): PageFrame {
  const attributes: Array<[string, string | null | undefined]> = [
    ['data-integration-id', opts.result?.integrationId ?? opts.integrationId],
    ['data-result', opts.result?.type],
    ['data-reauthorization-id', opts.result?.reauthorizationId],
    ['data-error-code', opts.result?.error?.code],
    ['data-error-message', opts.result?.error?.message],
  ];
  return {
    title: opts.title,
    refresh: opts.refreshSeconds ? { seconds: opts.refreshSeconds, url: opts.refreshUrl ?? null } : null,
    attributes: attributes.filter((a): a is [string, string] => typeof a[1] === 'string' && a[1] !== '').map(([name, value]) => ({ name, value })),
  };
}

function providerChip(provider: string): ProviderChip {
  return { initial: provider.trim().charAt(0).toUpperCase() || '?', name: provider };
}

@Injectable()
export class ConnectPages {
  private readonly connectTemplate: Template;
  private readonly messageTemplate: Template;

  constructor() {
    // A Handlebars environment of its own: nothing registered here leaks into (or from) another user of hbs.
    const engine = hbs.create().handlebars;
    const partials = path.join(VIEWS, 'partials');
    for (const file of readdirSync(partials).filter((f) => f.endsWith('.hbs'))) {
      engine.registerPartial(path.basename(file, '.hbs'), readFileSync(path.join(partials, file), 'utf8'));
    }
    // `strict`: a name the model lacks is an error, not silently empty text.
    const compile = (name: string): Template => engine.compile(readFileSync(path.join(VIEWS, `${name}.hbs`), 'utf8'), { strict: true, knownHelpersOnly: true });
    this.connectTemplate = compile('connect');
    this.messageTemplate = compile('message');
  }

  /** A result or notice page (success, closed or unknown link, OAuth error, "almost done"). */
  message(opts: MessagePageOptions): string {
    const integrationId = opts.result?.integrationId ?? opts.integrationId;
    return this.messageTemplate({
      page: frame({ ...opts, integrationId }),
      provider: opts.provider ? providerChip(opts.provider) : null,
      kind: opts.kind,
      icon: opts.kind === 'ok' ? '✓' : opts.kind === 'warn' ? '…' : '!',
      title: opts.title,
      role: opts.kind === 'error' ? 'alert' : 'status',
      message: opts.message,
      action: opts.action ?? null,
      consoleReturn: { href: integrationId ? `/console#/integrations/${encodeURIComponent(integrationId)}` : '/console' },
    });
  }

  /** The magic-link page: what will happen, then the continue button (OAuth) or the token form. */
  connect(opts: ConnectPageOptions): string {
    const provider = opts.providerName;
    const oauth = opts.authType === 'oauth2';
    const steps = [
      oauth ? `You sign in to ${provider} and approve access.` : `You paste a new API token from ${provider}.`,
      `We check that the new access works and belongs to the same ${provider} account.`,
      `The integration keeps running the whole time; nothing is re-imported${opts.fullResync ? ' (a full re-sync was requested and starts afterwards)' : ''}.`,
    ];
    return this.connectTemplate({
      page: frame({ title: `Reconnect ${opts.displayName}`, integrationId: opts.integrationId }),
      provider: providerChip(provider),
      displayName: opts.displayName,
      steps: steps.map((text, i) => ({ number: i + 1, text })),
      error: opts.error ?? null,
      oauth,
      linkPath: `/connect/${opts.linkToken}`,
      expiresAt: opts.expiresAt.toUTCString(),
    });
  }
}
