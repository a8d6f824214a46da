import { ERROR_MESSAGES } from '../../../libs/domain/reauthorization';

/**
 * What the connect and result pages say about a failed attempt: always our own sentence, chosen by
 * the error code. A reauthorization's recorded message may quote the CRM's redirect back to us
 * (`error_description`, which anyone can put in a URL), so pages never show it; the admin API does.
 */
const OAUTH_ERROR_MESSAGES: Record<string, string> = {
  // RFC 6749 §4.1.2.1: what an authorization server may answer on the redirect.
  invalid_request: 'The CRM could not process the sign-in request. Nothing was changed; start again from your reconnect link.',
  unauthorized_client: 'The CRM does not allow our app to ask for this access. The person who sent this link must check the CRM connection settings.',
  unsupported_response_type: 'The CRM does not allow our app to ask for this access. The person who sent this link must check the CRM connection settings.',
  invalid_scope: 'The CRM did not accept the requested permissions. The person who sent this link must check which permissions are requested.',
  server_error: 'The CRM had a problem with the sign-in. Nothing was changed; try again in a few minutes.',
  temporarily_unavailable: 'The CRM is busy or down for maintenance. Nothing was changed; try again in a few minutes.',
  // Ours, besides ERROR_MESSAGES.
  invalid_state: 'This sign-in was replaced by a newer one. Start again from your reconnect link.',
};

/** Error codes a page may name (result attribute, message to the link SDK's host); any other becomes `failed`. */
const KNOWN_CODES = new Set([...Object.keys(ERROR_MESSAGES), ...Object.keys(OAUTH_ERROR_MESSAGES)]);

export const GENERIC_FAILURE = 'The connection could not be completed.';

/** The code as a page may repeat it: a known one, else `failed`. */
export function pageErrorCode(code: string | null | undefined): string {
  return code && KNOWN_CODES.has(code) ? code : 'failed';
}

/** Our sentence for a failure code; a generic one for a code we do not know. */
export function pageErrorMessage(code: string | null | undefined): string {
  if (!code) return GENERIC_FAILURE;
  if (Object.hasOwn(OAUTH_ERROR_MESSAGES, code)) return OAUTH_ERROR_MESSAGES[code];
  if (Object.hasOwn(ERROR_MESSAGES, code)) return ERROR_MESSAGES[code];
  return 'The CRM did not complete the sign-in.';
}
