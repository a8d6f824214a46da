import { Body, Controller, Get, Header, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { submitApiTokenUpdate, oauthCallbackSignal } from '../../../libs/contracts';
import { ATTEMPT_COOKIE_PATH, hashState } from '../../../libs/crypto/oauth-attempt';
import { ERROR_MESSAGES } from '../../../libs/domain/reauthorization';
import type { Reauthorization } from '../../../libs/db/entities';
import { Public } from '../auth/public.decorator';
import { ApiError } from '../common/api-error';
import { ReauthorizationsService } from '../reauthorizations/reauthorizations.service';
import { AttemptCookies } from './attempt-cookies';
import { ConnectService } from './connect.service';
import { ConnectPages, type PageResult } from './pages';
import { GENERIC_FAILURE, pageErrorCode, pageErrorMessage } from './result-messages';

const NO_STORE = 'no-store';

/** How long the callback page waits for the workflow to decide the attempt before it says "almost done". */
const CALLBACK_WAIT_MS = 25_000;

/**
 * Where the browser that began an attempt sees its result and starts over. Under the callback's
 * path, so the attempt cookie (not the link token, which no result page shows) is what opens them.
 */
const attemptStatusPath = (reauthorizationId: string) => `${ATTEMPT_COOKIE_PATH}/status/${reauthorizationId}`;
const attemptRetryPath = (reauthorizationId: string) => `${ATTEMPT_COOKIE_PATH}/retry/${reauthorizationId}`;

type Found = NonNullable<Awaited<ReturnType<ConnectService['byLinkToken']>>>;

/**
 * Pages for the person who re-authorizes (often the end customer, through the magic link), and the
 * OAuth redirect target. Public by design: the link token is the credential of the connect pages,
 * checked by hash against an open reauthorization. The callback needs more than its `state` (which
 * passes through the CRM and may leak): the attempt cookie that `/connect/:token/authorize` gave
 * the browser that began the attempt (attempt-cookies.ts). Without it nothing reaches a workflow.
 * Result pages say only our own words: nothing from the query string, never the link token.
 */
@ApiExcludeController()
@Public()
@Controller()
export class ConnectController {
  constructor(
    private readonly connect: ConnectService,
    private readonly reauths: ReauthorizationsService,
    private readonly pages: ConnectPages,
    private readonly attemptCookies: AttemptCookies,
  ) {}

  /** Security headers (CSP, nosniff, frame and referrer policy) are helmet's: common/security-headers.ts. */
  private send(res: Response, status: number, html: string): void {
    res.status(status).setHeader('Cache-Control', NO_STORE).type('html').send(html);
  }

  /** The final result of a reauthorization, as the result page reports it to an opener. */
  private result(row: Reauthorization): PageResult {
    const ids = { reauthorizationId: row.id, integrationId: row.integrationId };
    if (row.outcome === 'succeeded') return { type: 'success', ...ids };
    const code = row.outcome === 'expired' || row.outcome === 'cancelled' ? row.outcome : pageErrorCode(row.errorCode);
    return { type: 'error', ...ids, error: { code, message: code === 'failed' ? GENERIC_FAILURE : pageErrorMessage(code) } };
  }

  private notFound(message = 'This link is not valid. Check that you copied all of it, or ask for a new one.'): string {
    return this.pages.message({
      title: 'Link not found',
      message,
      kind: 'error',
      result: { type: 'error', error: { code: 'link_not_found', message: 'This link is not valid.' } },
    });
  }

  private expiredPage(row: Reauthorization, provider: string): string {
    return this.pages.message({
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
          html: this.pages.message({ title: 'Connection successful', message: `${provider} is connected. You can close this tab.`, kind: 'ok', provider, result: this.result(row) }),
        };
      case 'expired':
        return { status: 410, html: this.expiredPage(row, provider) };
      case 'cancelled':
        return {
          status: 410,
          html: this.pages.message({ title: 'This link was cancelled', message: 'The reconnection was cancelled. Ask the person who sent it for a new link.', kind: 'error', provider, result: this.result(row) }),
        };
      default:
        return {
          status: 410,
          html: this.pages.message({
            title: 'The connection could not be completed',
            message: `${pageErrorMessage(row.errorCode)} Nothing was changed. Ask the person who sent this link for a new one.`,
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
    if (!found) return this.send(res, 404, this.notFound());
    const { row, integration, providerName } = found;
    if (row.outcome !== null) {
      const closed = this.closedPage(row, providerName);
      return this.send(res, closed.status, closed.html);
    }
    if (row.expiresAt.getTime() <= Date.now()) return this.send(res, 410, this.expiredPage(row, providerName));
    this.send(res, 200, this.renderConnect(linkToken, row, integration.displayName, providerName));
  }

  private renderConnect(linkToken: string, row: Reauthorization, displayName: string, providerName: string, inlineError?: string): string {
    const error = inlineError ?? (row.errorCode && row.phase === 'awaiting_user' ? pageErrorMessage(row.errorCode) : undefined);
    return this.pages.connect({
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

  /**
   * "Continue to <CRM>" (the connect page, the link SDK's popup and the console all come this way):
   * binds the current attempt to this browser, then redirects to its consent URL.
   */
  @Get('connect/:linkToken/authorize')
  async authorize(@Param('linkToken') linkToken: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const found = await this.connect.byLinkToken(linkToken);
    if (!found || found.row.authType !== 'oauth2') return this.send(res, 404, this.notFound('This link is not valid.'));
    this.continueToCrm(req, res, found);
  }

  /** The current attempt's consent URL, for a browser now bound to it; or why there is none. */
  private continueToCrm(req: Request, res: Response, { row, providerName }: Found): void {
    if (row.outcome !== null || row.expiresAt.getTime() <= Date.now()) {
      const closed = row.outcome ? this.closedPage(row, providerName) : { status: 410, html: this.expiredPage(row, providerName) };
      return this.send(res, closed.status, closed.html);
    }
    const url = this.reauths.authorizeUrl(row);
    // Both are written together with each attempt: the state hash on this row is the URL's.
    if (!url || !row.stateHash) {
      return this.send(res, 409, this.pages.message({ title: 'Please wait', message: 'The sign-in is being prepared. Reload this page in a moment.', kind: 'warn', refreshSeconds: 2 }));
    }
    this.attemptCookies.issue(req, res, { reauthorizationId: row.id, stateHash: row.stateHash }, row.expiresAt);
    res.setHeader('Cache-Control', NO_STORE);
    res.redirect(302, url);
  }

  /** API-token form of the connect page: the same Update the admin API uses. */
  @Post('connect/:linkToken')
  async submitToken(@Param('linkToken') linkToken: string, @Body() body: { apiToken?: unknown }, @Res() res: Response): Promise<void> {
    const found = await this.connect.byLinkToken(linkToken);
    if (!found || found.row.authType !== 'api_token') return this.send(res, 404, this.notFound('This link is not valid.'));
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
      this.pages.message({
        title: 'Connection successful',
        message: `${providerName} is reconnected. You can close this tab.`,
        kind: 'ok',
        provider: providerName,
        result: { type: 'success', reauthorizationId: row.id, integrationId: row.integrationId },
      }),
    );
  }

  /** The callback is not for this browser (no cookie of the attempt): nothing about the attempt, nothing signalled. */
  private notStartedHere(): string {
    return this.pages.message({
      title: 'This sign-in cannot be used here',
      message:
        'This sign-in link was not started in this browser. Nothing was changed. Open your reconnect link in the browser you want to use and continue from there (this site must be allowed to keep cookies).',
      kind: 'error',
      result: { type: 'error', error: { code: 'invalid_callback', message: 'The sign-in was not started in this browser.' } },
    });
  }

  private unusableCallback(): string {
    return this.pages.message({
      title: 'This sign-in cannot be used',
      message: 'The sign-in response is not valid, or it was already used. Nothing was changed. Open your reconnect link again to start over.',
      kind: 'error',
      result: { type: 'error', error: { code: 'invalid_callback', message: 'The sign-in response is not valid, or it was already used.' } },
    });
  }

  /**
   * The OAuth redirect URI. It counts only in the browser that began the attempt, with the attempt's
   * `state`: the attempt cookie must name exactly that state, and the state must be the current
   * attempt's of an open reauthorization. Anything else (forged, leaked, reused, superseded) is
   * refused without touching any workflow; the cookie is checked first, so a refusal does not even
   * tell whether the state was a live one. The code goes to the workflow as the `oauthCallback`
   * signal; this page then waits briefly for the result.
   */
  @Get('oauth/callback')
  @Header('Cache-Control', NO_STORE)
  async callback(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const q = Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    if (!q.state || q.state.length > 500) return this.send(res, 400, this.unusableCallback());
    const stateHash = hashState(q.state);
    const binding = this.attemptCookies.forState(req, stateHash);
    if (!binding) return this.send(res, 400, this.notStartedHere());
    const found = await this.connect.byState(q.state);
    if (!found || found.row.outcome !== null || found.row.id !== binding.reauthorizationId) return this.send(res, 400, this.unusableCallback());
    const { row, providerName } = found;
    const params: Record<string, string> = {};
    for (const k of ['location', 'accounts-server', 'iss']) if (q[k]) params[k] = q[k];
    await this.reauths.handle(row).signal(oauthCallbackSignal, {
      stateHash,
      code: q.code,
      error: q.error ?? (q.code ? undefined : 'invalid_request'),
      // For the admin's record only (the API's `error.message`); no page shows it.
      errorDescription: q.error_description,
      params,
    });

    // Wait for this attempt to be decided: finished, or a new attempt issued after a failure.
    const deadline = Date.now() + CALLBACK_WAIT_MS;
    let fresh = row;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150));
      fresh = await this.connect.reload(row.id);
      if (fresh.outcome !== null || (fresh.stateHash !== stateHash && fresh.phase === 'awaiting_user')) break;
    }
    this.sendAttemptResult(res, fresh, stateHash, providerName);
  }

  /** Where the "almost done" page refreshes to: the attempt's result, for the browser that began it. */
  @Get('oauth/callback/status/:reauthorizationId')
  async attemptStatus(@Param('reauthorizationId') reauthorizationId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const binding = this.attemptCookies.forReauthorization(req, reauthorizationId);
    const found = binding ? await this.connect.byId(binding.reauthorizationId) : null;
    if (!binding || !found) return this.send(res, 400, this.notStartedHere());
    this.sendAttemptResult(res, found.row, binding.stateHash, found.providerName);
  }

  /** "Try again" after a failed attempt: the next attempt's consent page, for the browser that began the last one. */
  @Get('oauth/callback/retry/:reauthorizationId')
  async retryAttempt(@Param('reauthorizationId') reauthorizationId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const binding = this.attemptCookies.forReauthorization(req, reauthorizationId);
    const found = binding ? await this.connect.byId(binding.reauthorizationId) : null;
    if (!binding || !found || found.row.authType !== 'oauth2') return this.send(res, 400, this.notStartedHere());
    this.continueToCrm(req, res, found);
  }

  /**
   * What became of the attempt with `stateHash`: the final result, the failure of this attempt (a
   * new one is open: "Try again"), or still being checked. Our words only: the message is chosen by
   * error code, whatever the CRM's redirect said.
   */
  private sendAttemptResult(res: Response, row: Reauthorization, stateHash: string, providerName: string): void {
    if (row.outcome !== null) {
      const closed = this.closedPage(row, providerName);
      return this.send(res, closed.status, closed.html);
    }
    if (row.stateHash !== stateHash) {
      return this.send(
        res,
        row.errorCode === 'access_denied' ? 403 : 422,
        this.pages.message({
          title: 'The connection was not completed',
          message: `${pageErrorMessage(row.errorCode)} Nothing was changed.`,
          kind: 'error',
          provider: providerName,
          action: { href: attemptRetryPath(row.id), label: 'Try again' },
          integrationId: row.integrationId,
        }),
      );
    }
    const status = attemptStatusPath(row.id);
    this.send(
      res,
      202,
      this.pages.message({
        title: 'Almost done',
        message: `We are still checking the new ${providerName} connection. This page refreshes by itself.`,
        kind: 'warn',
        provider: providerName,
        action: { href: status, label: 'Check status' },
        integrationId: row.integrationId,
        // The callback URL itself cannot be used twice; the status page can.
        refreshSeconds: 3,
        refreshUrl: status,
      }),
    );
  }
}
