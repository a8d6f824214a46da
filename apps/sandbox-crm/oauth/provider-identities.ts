import { Account, User } from '../accounts/crm-model';

/*
 * How each provider shape names sandbox accounts and users. Everything is derived from the
 * account's/user's stable numeric id, so the same account always answers with the same ids in
 * every shape, and the admin API can tell a test which ids to expect.
 */

/** HubSpot `hub_id` (portal id) and Pipedrive `company_id`. */
export function numericAccountId(account: Account): number {
  return account.numericId;
}

/** Zoho org `id` and `zgid` (numeric strings in the real API). */
export function zohoOrgId(account: Account): string {
  return String(account.numericId);
}

/** Zoho user `id` / `zuid`: a long numeric string, like the real ones. */
export function zohoUserId(user: User): string {
  return `${user.numericId}000000${String(user.numericId % 1000).padStart(3, '0')}`;
}

/** Salesforce org id: 18-character, `00D` key prefix. */
export function salesforceOrgId(account: Account): string {
  return salesforceId('00D', account.numericId);
}

/** Salesforce user id: 18-character, `005` key prefix. */
export function salesforceUserId(user: User): string {
  return salesforceId('005', user.numericId);
}

/** A DNS-label-ish slug of the account name, e.g. `acme-corp`, for portal/company domains. */
export function accountSlug(account: Account): string {
  const slug = account.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'sandbox';
}

/** HubSpot `hub_domain`. */
export function hubDomain(account: Account): string {
  return `${accountSlug(account)}-${account.numericId}.sandbox-crm.test`;
}

/** Pipedrive `company_domain` (the company's subdomain in the real API). */
export function pipedriveCompanyDomain(account: Account): string {
  return `${accountSlug(account)}-${account.numericId}`;
}

/** All the ids a provider shape reports for an account; shown by the admin API. */
export function providerAccountIds(account: Account) {
  return {
    hubspot: { hubId: numericAccountId(account), hubDomain: hubDomain(account) },
    salesforce: { organizationId: salesforceOrgId(account) },
    pipedrive: { companyId: numericAccountId(account), companyDomain: pipedriveCompanyDomain(account) },
    zoho: { orgId: zohoOrgId(account), region: account.region },
  };
}

/** All the ids a provider shape reports for a user; shown by the admin API. */
export function providerUserIds(user: User) {
  return {
    hubspot: { userId: user.numericId },
    salesforce: { userId: salesforceUserId(user) },
    pipedrive: { userId: user.numericId },
    zoho: { userId: zohoUserId(user) },
  };
}

export function splitName(name: string): { first: string; last: string } {
  const parts = name.trim().split(/\s+/);
  if (parts.length <= 1) return { first: '', last: parts[0] ?? '' };
  return { first: parts.slice(0, -1).join(' '), last: parts[parts.length - 1] };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/**
 * A Salesforce-style 18-character id: 3-char key prefix, 12 base62 chars, then the real
 * case-insensitivity checksum (one char per 5-char chunk, encoding which chars are upper case).
 */
function salesforceId(keyPrefix: string, n: number): string {
  let body = '';
  let rest = n;
  do {
    body = BASE62[rest % 62] + body;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  const id15 = keyPrefix + '0' + body.padStart(11, '0');
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let flags = 0;
    for (let i = 0; i < 5; i += 1) {
      const c = id15[chunk * 5 + i];
      if (c >= 'A' && c <= 'Z') flags |= 1 << i;
    }
    suffix += CHECKSUM_ALPHABET[flags];
  }
  return id15 + suffix;
}
