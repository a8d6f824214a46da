import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import hbs from 'hbs';
import { Account, DataCenterRegion, User } from '../accounts/crm-model';
import { fromProjectRoot } from '../../../libs/config/project-root';
import { OAuthClient, PendingAuthorization } from './oauth-model';
import { OAuthShape } from './oauth-shapes';

/*
 * The consent and error pages a person sees in the browser during an authorization. Plain HTML
 * with inline CSS: no scripts, no external assets, form controls with real labels. The markup
 * is in the .hbs files next to this one; Handlebars HTML-escapes every `{{value}}`.
 */

/** Read from the source tree, also when running from dist/ (tsc does not copy .hbs files). */
const TEMPLATE_DIR = fromProjectRoot('apps/sandbox-crm/oauth');

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

export interface ErrorPageInput {
  providerName: string;
  error: string;
  description: string;
}

/** What consent-page.hbs shows; every string is escaped by the template. */
interface ConsentView {
  title: string;
  providerName: string;
  clientName: string;
  redirectOrigin: string;
  consentPath: string;
  requestId: string;
  accounts: Array<{ label: string; users: Array<{ id: string; name: string; email: string }> }>;
  scopes: string[];
}

interface ErrorView extends ErrorPageInput {
  title: string;
}

/** Renders the authorization pages; the templates are read and compiled once, when the app starts. */
@Injectable()
export class ConsentPageRenderer {
  private readonly consentTemplate: HandlebarsTemplateDelegate<ConsentView>;
  private readonly errorTemplate: HandlebarsTemplateDelegate<ErrorView>;

  constructor() {
    // An environment of our own, so helpers or partials registered elsewhere in the process can't leak in.
    const handlebars = hbs.create().handlebars;
    handlebars.registerPartial('page-layout', readTemplate('page-layout.hbs'));
    // strict: a misspelt field in a template fails loudly instead of rendering as nothing.
    const options: CompileOptions = { strict: true };
    this.consentTemplate = handlebars.compile<ConsentView>(readTemplate('consent-page.hbs'), options);
    this.errorTemplate = handlebars.compile<ErrorView>(readTemplate('error-page.hbs'), options);
  }

  consentPage(input: ConsentPageInput): string {
    const { shape, client, request } = input;
    return this.consentTemplate({
      title: `Authorize ${client.name} – ${shape.displayName} sandbox`,
      providerName: shape.displayName,
      clientName: client.name,
      redirectOrigin: redirectOrigin(request.redirectUri),
      consentPath: input.consentPath,
      requestId: request.id,
      accounts: input.choices.map(({ account, users }) => ({
        // Zoho users pick their data center along with the account; the other shapes have one.
        label: shape.regionBound ? `${account.name} (${REGION_LABEL[account.region]})` : account.name,
        users: users.map((user) => ({ id: user.id, name: user.name, email: user.email })),
      })),
      scopes: request.scopes,
    });
  }

  errorPage(input: ErrorPageInput): string {
    return this.errorTemplate({ title: 'Authorization error', ...input });
  }
}

function readTemplate(name: string): string {
  return readFileSync(join(TEMPLATE_DIR, name), 'utf8');
}

function redirectOrigin(uri: string): string {
  try {
    const url = new URL(uri);
    return url.origin === 'null' ? `${url.protocol}${url.pathname}` : url.origin;
  } catch {
    return uri;
  }
}
