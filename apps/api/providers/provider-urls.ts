import { EgressRefused, type EgressPolicy } from '../../../libs/http/egress-policy';
import { ApiError } from '../common/api-error';
import type { PutProviderDto } from './providers.dto';

/** The URL fields of a custom provider, in the order they are checked (and named in a refusal). */
export const PROVIDER_URL_FIELDS = ['authorizationUrl', 'tokenUrl', 'userInfoUrl', 'validationUrl'] as const;

/**
 * PUT /v1/providers/:key: refuses with 422 url_not_allowed a custom provider URL that the egress
 * policy already knows it will refuse (a loopback, private or metadata address in any spelling, a
 * name that resolves there, http where https is required), before anything is stored. The worker
 * checks again at every request; this only refuses early. The message names the field and why,
 * never whether anything listens there: nothing is connected to.
 */
export async function assertProviderUrlsAllowed(policy: EgressPolicy, dto: PutProviderDto): Promise<void> {
  for (const field of PROVIDER_URL_FIELDS) {
    const url = dto[field];
    if (url === undefined) continue;
    try {
      await policy.check(url);
    } catch (err) {
      if (err instanceof EgressRefused) throw ApiError.unprocessable('url_not_allowed', `${field}: ${err.message}`);
      throw err;
    }
  }
}
