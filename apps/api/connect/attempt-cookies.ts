import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AppConfig } from '../../../libs/config/config';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import {
  ATTEMPT_COOKIE_PATH,
  attemptCookieName,
  type AttemptBinding,
  reauthorizationIdOfCookie,
  signAttemptBinding,
  verifyAttemptBinding,
} from '../../../libs/crypto/oauth-attempt';
import { APP_CONFIG, CREDENTIALS_KEY_RING } from '../../../libs/nest/tokens';

/** A consent page left open this long still comes back to a working callback (the link may expire sooner). */
const MAX_COOKIE_AGE_MS = 24 * 60 * 60 * 1000;
/** A browser in the middle of this many sign-ins at once is not a person; the rest are not checked. */
const MAX_COOKIES_CHECKED = 50;

/**
 * The attempt cookies (libs/crypto/oauth-attempt.ts): issued where a browser begins an OAuth
 * attempt, read by the callback and the pages under it. HttpOnly (no script reads it), SameSite=Lax
 * (sent on the CRM's top-level redirect back, not on cross-site subrequests), Secure when the API is
 * served over https, and sent only under `/oauth/callback`.
 */
@Injectable()
export class AttemptCookies {
  constructor(
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
  ) {}

  /** Binds the current attempt of a reauthorization to this browser (replacing its earlier attempt's cookie). */
  issue(req: Request, res: Response, binding: AttemptBinding, linkExpiresAt: Date): void {
    const maxAge = Math.max(1000, Math.min(MAX_COOKIE_AGE_MS, linkExpiresAt.getTime() - Date.now()));
    res.cookie(attemptCookieName(binding.reauthorizationId), signAttemptBinding(this.ring, binding), {
      httpOnly: true,
      sameSite: 'lax',
      // The callback is at PUBLIC_URL; behind a TLS-terminating proxy the request itself may look like http.
      secure: this.cfg.publicUrl.startsWith('https:') || req.secure,
      path: ATTEMPT_COOKIE_PATH,
      maxAge,
    });
  }

  /** The binding this browser holds for the attempt whose state hashes to `stateHash`, if any. */
  forState(req: Request, stateHash: string): AttemptBinding | undefined {
    return this.all(req).find((b) => b.stateHash === stateHash);
  }

  /** The binding this browser holds for some attempt of this reauthorization (its latest), if any. */
  forReauthorization(req: Request, reauthorizationId: string): AttemptBinding | undefined {
    return this.all(req).find((b) => b.reauthorizationId === reauthorizationId);
  }

  /** Every attempt cookie of the request whose MAC is ours; anything else is ignored. */
  private all(req: Request): AttemptBinding[] {
    const header = req.headers.cookie;
    if (!header) return [];
    const found: AttemptBinding[] = [];
    let checked = 0;
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      const id = eq > 0 ? reauthorizationIdOfCookie(pair.slice(0, eq).trim()) : undefined;
      if (!id) continue;
      if (++checked > MAX_COOKIES_CHECKED) break;
      const binding = verifyAttemptBinding(this.ring, id, pair.slice(eq + 1).trim());
      if (binding) found.push(binding);
    }
    return found;
  }
}
