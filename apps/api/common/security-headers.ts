import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

type CspDirectives = Record<string, string[]>;

/**
 * The pages' policy (console, connect pages, SDK example): no inline script or style, nothing from
 * other origins, never framed, no base-URL tricks. JSON answers get it too: harmless there, and a
 * response rendered as HTML by mistake is then still inert.
 */
export const PAGE_CSP: CspDirectives = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/** Swagger UI (/docs) writes inline styles; its scripts are served from /docs itself. */
const DOCS_CSP: CspDirectives = { ...PAGE_CSP, 'style-src': ["'self'", "'unsafe-inline'"] };

function options(directives: CspDirectives, opener: { keepOpener: boolean } = { keepOpener: false }): HelmetOptions {
  return {
    // Exactly these directives: helmet's defaults would add upgrade-insecure-requests, which breaks
    // the plain-http local setup, and allow styles and fonts from anywhere.
    contentSecurityPolicy: { useDefaults: false, directives },
    xFrameOptions: { action: 'deny' },
    // Page URLs hold link tokens and OAuth codes: never sent on to another site.
    referrerPolicy: { policy: 'no-referrer' },
    // Helmet's default is `same-origin`; `false` sends none (the browser's `unsafe-none`).
    crossOriginOpenerPolicy: opener.keepOpener ? false : { policy: 'same-origin' },
  };
}

/** Console, assets, JSON API: helmet's isolation headers as they come (COOP and CORP same-origin). */
const standard = helmet(options(PAGE_CSP));

/**
 * Pages that live in the link SDK's popup: the connect pages and the OAuth result pages, opened by a
 * product's page on another origin, and the SDK's example page that opens them. They report back
 * through `window.opener.postMessage`; a Cross-Origin-Opener-Policy other than `unsafe-none` on
 * either side would cut the popup off from its opener (the SDK would see it as closed at once).
 */
const popup = helmet(options(PAGE_CSP, { keepOpener: true }));

const docs = helmet(options(DOCS_CSP));

// Case-insensitive, as the routes are.
const POPUP_PAGES = /^\/(connect\/|oauth\/callback(\/|$)|sdk\/)/i;
const DOCS_PAGES = /^\/docs(\/|$)/i;

/**
 * Security headers on every answer of the API (helmet), with the policy the path needs. The SDK
 * script itself (`/sdk/reauth-link.js`, loaded cross-origin by design) also gets
 * `Cross-Origin-Resource-Policy: cross-origin` where it is served (apps/api/sdk/sdk.module.ts).
 */
export function securityHeaders(): RequestHandler {
  return (req, res, next) => {
    const headers = DOCS_PAGES.test(req.path) ? docs : POPUP_PAGES.test(req.path) ? popup : standard;
    headers(req, res, next);
  };
}
