import { Body, Controller, Get, Header, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { submitApiTokenUpdate, oauthCallbackSignal } from '../../../workflows/definitions';
import { hashState } from '../../../libs/crypto/oauth-attempt';
import { ERROR_MESSAGES } from '../../../libs/domain/reauthorization';
import type { Reauthorization } from '../../../libs/db/entities';
import { Public } from '../auth/public.decorator';
import { ApiError } from '../common/api-error';
import { ReauthorizationsService } from '../reauthorizations/reauthorizations.service';
import { ConnectService } from './connect.service';
import { setPageHeaders } from '../console/static-files';
import { connectPage, messagePage, type PageResult } from './pages';

const NO_STORE = 'no-store';

/**
 * Pages for the person who re-authorizes (often the end customer, through the magic link), and the
 * OAuth redirect target. Public by design: the link token or the OAuth `state` is the credential,
 * and both are checked by hash against an open reauthorization.
 */
@ApiExcludeController()
@Public()
@Controller()
export class ConnectController {
  constructor(
    private readonly connect: ConnectService,
    private readonly reauths: ReauthorizationsService,
  ) {}

  private send(res: Response, status: number, html: string): void {
    setPageHeaders(res);
    res.status(status).setHeader('Cache-Control', NO_STORE).type('html').send(html);
  }

  /** The final result of a reauthorization, as the result page reports it to an opener. */
  private result(row: Reauthorization): PageResult {
    const ids = { reauthorizationId: row.id, integrationId: row.integrationId };
    if (row.outcome === 'succeeded') return { type: 'success', ...ids };
    const code = row.outcome === 'expired' || row.outcome === 'cancelled' ? row.outcome : (row.errorCode ?? 'failed');
    return { type: 'error', ...ids, error: { code, message: row.errorMessage ?? (row.outcome === 'expired' ? ERROR_MESSAGES.expired : 'The connection could not be completed.') } };
  }

  private static notFound(message = 'This link is not valid. Check that you copied all of it, or ask for a new one.'): string {
    return messagePage({
      title: 'Link not found',
      message,
      kind: 'error',
      result: { type: 'error', error: { code: 'link_not_found', message: 'This link is not valid.' } },
    });
  }

  private expiredPage(row: Reauthorization, provider: string): string {
    return messagePage({
      title: 'This link has expired',
      message: 'This link expired before the connection was renewed. Nothing was changed. Ask the person who sent it for a new link.',
      kind: 'error',
      provider,
      result: { type: 'error', reauthorizationId: row.id, integrationId: row.integrationId, error: { code: 'expired', message: ERROR_MESSAGES.expired } },
    });
  }

  private closedPage(row: Reauthorization, provider: string): { status: number; html: string } {
    switch (row.outcome) {
      case 'succeeded':
        return {
          status: 200,
          html: messagePage({ title: 'Connection successful', message: `${provider} is connected. You can close this tab.`, kind: 'ok', provider, result: this.result(row) }),
        };
      case 'expired':
        return { status: 410, html: this.expiredPage(row, provider) };
      case 'cancelled':
        return {
          status: 410,
          html: messagePage({ title: 'This link was cancelled', message: 'The reconnection was cancelled. Ask the person who sent it for a new link.', kind: 'error', provider, result: this.result(row) }),
        };
      default:
        return {
          status: 410,
          html: messagePage({
            title: 'The connection could not be completed',
            message: `${row.errorMessage ?? 'Something went wrong.'} Nothing was changed. Ask the person who sent this link for a new one.`,
            kind: 'error',
            provider,
            result: this.result(row),
          }),
        };
    }
  }

  /** The magic link: what will happen, then "Continue to <CRM>" (OAuth) or a token form (API token). */
  @Get('connect/:linkToken')
  async connectPage(@Param('linkToken') linkToken: string, @Res() res: Response): Promise<void> {
    const found = await this.connect.byLinkToken(linkToken);
    if (!found) return this.send(res, 404, ConnectController.notFound());
    const { row, integration, providerName } = found;
    if (row.outcome !== null) {
      const closed = this.closedPage(row, providerName);
      return this.send(res, closed.status, closed.html);
    }
    if (row.expiresAt.getTime() <= Date.now()) return this.send(res, 410, this.expiredPage(row, providerName));
    this.send(res, 200, this.renderConnect(linkToken, row, integration.displayName, providerName));
  }

  private renderConnect(linkToken: string, row: Reauthorization, displayName: string, providerName: string, inlineError?: string): string {
    const error = inlineError ?? (row.errorMessage && row.phase === 'awaiting_user' ? row.errorMessage : undefined);
    return connectPage({
      linkToken,
      authType: row.authType,
      displayName,
      providerName,
      fullResync: row.fullResync,
      expiresAt: row.expiresAt,
      integrationId: row.integrationId,
      error,
    });
  }

  /** "Continue to <CRM>": redirect to the consent URL of the current attempt (fresh state each attempt). */
  @Get('connect/:linkToken/authorize')
  async authorize(@Param('linkToken') linkToken: string, @Res() res: Response): Promise<void> {
    const found = await this.connect.byLinkToken(linkToken);
    if (!found || found.row.authType !== 'oauth2') return this.send(res, 404, ConnectController.notFound('This link is not valid.'));
    if (found.row.outcome !== null || found.row.expiresAt.getTime() <= Date.now()) {
      const closed = found.row.outcome ? this.closedPage(found.row, found.providerName) : { status: 410, html: this.expiredPage(found.row, found.providerName) };
      return this.send(res, closed.status, closed.html);
    }
    const url = this.reauths.authorizeUrl(found.row);
    if (!url) return this.send(res, 409, messagePage({ title: 'Please wait', message: 'The sign-in is being prepared. Reload this page in a moment.', kind: 'warn', refreshSeconds: 2 }));
    res.setHeader('Cache-Control', NO_STORE);
    res.redirect(302, url);
  }

  /** API-token form of the connect page: the same Update the admin API uses. */
  @Post('connect/:linkToken')
  async submitToken(@Param('linkToken') linkToken: string, @Body() body: { apiToken?: unknown }, @Res() res: Response): Promise<void> {
    const found = await this.connect.byLinkToken(linkToken);
    if (!found || found.row.authType !== 'api_token') return this.send(res, 404, ConnectController.notFound('This link is not valid.'));
    const { row, integration, providerName } = found;
    if (row.outcome !== null) {
      const closed = this.closedPage(row, providerName);
      return this.send(res, closed.status, closed.html);
    }
    const apiToken = typeof body?.apiToken === 'string' ? body.apiToken.trim() : '';
    if (!apiToken) return this.send(res, 400, this.renderConnect(linkToken, row, integration.displayName, providerName, 'Paste the API token first.'));
    try {
      await this.reauths.runUpdate(() => this.reauths.handle(row).executeUpdate(submitApiTokenUpdate, { args: [{ apiToken }] }));
    } catch (err) {
      if (err instanceof ApiError) {
        const r = err.getResponse() as { error: { message: string } };
        const fresh = await this.connect.reload(row.id);
        if (fresh.outcome !== null) {
          const closed = this.closedPage(fresh, providerName);
          return this.send(res, closed.status, closed.html);
        }
        return this.send(res, err.getStatus(), this.renderConnect(linkToken, fresh, integration.displayName, providerName, r.error.message));
      }
      throw err;
    }
    this.send(
      res,
      200,
      messagePage({
        title: 'Connection successful',
        message: `${providerName} is reconnected. You can close this tab.`,
        kind: 'ok',
        provider: providerName,
        result: { type: 'success', reauthorizationId: row.id, integrationId: row.integrationId },
      }),
    );
  }

  /**
   * The OAuth redirect URI. `state` must be the current attempt's of an open reauthorization;
   * anything else (forged, reused, superseded) is refused without touching any workflow. The code
   * goes to the workflow as the `oauthCallback` signal; this page then waits briefly for the result.
   */
  @Get('oauth/callback')
  @Header('Cache-Control', NO_STORE)
  async callback(@Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const q = Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    const found = q.state ? await this.connect.byState(q.state) : null;
    if (!found || found.row.outcome !== null) {
      return this.send(
        res,
        400,
        messagePage({
          title: 'This sign-in cannot be used',
          message: 'The sign-in response is not valid, or it was already used. Nothing was changed. Open your reconnect link again to start over.',
          kind: 'error',
          result: { type: 'error', error: { code: 'invalid_callback', message: 'The sign-in response is not valid, or it was already used.' } },
        }),
      );
    }
    const { row, providerName } = found;
    const stateHash = hashState(q.state);
    const params: Record<string, string> = {};
    for (const k of ['location', 'accounts-server', 'iss']) if (q[k]) params[k] = q[k];
    await this.reauths.handle(row).signal(oauthCallbackSignal, {
      stateHash,
      code: q.code,
      error: q.error ?? (q.code ? undefined : 'invalid_request'),
      errorDescription: q.error_description,
      params,
    });

    // Wait for this attempt to be decided: finished, or a new attempt issued after a failure.
    const deadline = Date.now() + 25_000;
    let fresh = row;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150));
      fresh = await this.connect.reload(row.id);
      if (fresh.outcome !== null || (fresh.stateHash !== stateHash && fresh.phase === 'awaiting_user')) break;
    }
    const retry = { href: this.reauths.linkUrl(fresh), label: 'Try again' };
    if (fresh.outcome !== null) {
      const closed = this.closedPage(fresh, providerName);
      return this.send(res, closed.status, closed.html);
    }
    if (fresh.stateHash !== stateHash) {
      return this.send(
        res,
        fresh.errorCode === 'access_denied' ? 403 : 422,
        messagePage({
          title: 'The connection was not completed',
          message: `${fresh.errorMessage ?? 'Something went wrong.'} Nothing was changed.`,
          kind: 'error',
          provider: providerName,
          action: retry,
          integrationId: fresh.integrationId,
        }),
      );
    }
    this.send(
      res,
      202,
      messagePage({
        title: 'Almost done',
        message: `We are still checking the new ${providerName} connection. This page refreshes by itself.`,
        kind: 'warn',
        provider: providerName,
        action: { href: this.reauths.linkUrl(fresh), label: 'Check status' },
        integrationId: fresh.integrationId,
        // The link page shows the result once it is decided (this callback URL cannot be used twice).
        refreshSeconds: 3,
        refreshUrl: this.reauths.linkUrl(fresh),
      }),
    );
  }
}
