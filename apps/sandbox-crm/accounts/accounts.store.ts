import { Injectable } from '@nestjs/common';
import { conflict, notFound } from '../common/sandbox-error';
import { Account, ApiToken, DataCenterRegion, DEFAULT_REGION, DEFAULT_TOKEN_SCOPES, User } from './crm-model';
import { newApiToken, randomId, UniqueNumberSource } from './random-ids';

/**
 * In-memory accounts, users and API tokens. Everything lives for the lifetime of the process
 * (or until `reset()`), which is exactly what tests and benchmarks want from an emulator.
 */
@Injectable()
export class AccountsStore {
  private readonly accounts = new Map<string, Account>();
  private readonly users = new Map<string, User>();
  private readonly tokens = new Map<string, ApiToken>();
  /** Numbers default account names so several unnamed accounts stay distinguishable. */
  private accountsCreated = 0;
  /**
   * Numeric ids are never reused, not even across `reset()`, so a credential an engine kept from
   * before a reset can never appear to belong to a new account.
   */
  private readonly accountNumbers = new UniqueNumberSource();
  private readonly userNumbers = new UniqueNumberSource();

  createAccount(name?: string, options: { region?: DataCenterRegion } = {}): Account {
    this.accountsCreated += 1;
    const account: Account = {
      id: randomId('acct_'),
      numericId: this.accountNumbers.next(),
      name: name ?? `Sandbox Account ${this.accountsCreated}`,
      region: options.region ?? DEFAULT_REGION,
      createdAt: new Date().toISOString(),
    };
    this.accounts.set(account.id, account);
    return account;
  }

  getAccount(accountId: string): Account {
    const account = this.accounts.get(accountId);
    if (!account) throw notFound('account_not_found', `No account with id "${accountId}"`);
    return account;
  }

  findAccount(accountId: string): Account | undefined {
    return this.accounts.get(accountId);
  }

  /** Accounts in creation order. */
  listAccounts(): Account[] {
    return [...this.accounts.values()];
  }

  /** Simulates a data-center move (Zoho): the account is now served by another region. */
  setRegion(accountId: string, region: DataCenterRegion): Account {
    const account = this.getAccount(accountId);
    account.region = region;
    return account;
  }

  addUser(accountId: string, details: { email?: string; name?: string } = {}): User {
    const account = this.getAccount(accountId);
    const ordinal = this.listUsers(account.id, { includeRemoved: true }).length + 1;
    // The id suffix keeps default emails unique across accounts without any bookkeeping.
    const mailbox = ordinal === 1 ? 'admin' : `user${ordinal}`;
    const user: User = {
      id: randomId('usr_'),
      numericId: this.userNumbers.next(),
      accountId: account.id,
      email: details.email ?? `${mailbox}.${account.id.slice('acct_'.length)}@sandbox-crm.test`,
      name: details.name ?? (ordinal === 1 ? 'Sandbox Admin' : `Sandbox User ${ordinal}`),
      removed: false,
    };
    this.users.set(user.id, user);
    return user;
  }

  getUser(userId: string): User {
    const user = this.users.get(userId);
    if (!user) throw notFound('user_not_found', `No user with id "${userId}"`);
    return user;
  }

  findUser(userId: string): User | undefined {
    return this.users.get(userId);
  }

  /** Users in creation order (Map iteration order), so "the first user" is well defined. */
  listUsers(accountId: string, options: { includeRemoved: boolean }): User[] {
    return [...this.users.values()].filter(
      (user) => user.accountId === accountId && (options.includeRemoved || !user.removed),
    );
  }

  /** Idempotent: removing an already-removed user is not an error. */
  removeUser(userId: string): User {
    const user = this.getUser(userId);
    user.removed = true;
    return user;
  }

  /**
   * Issues a token for `userId`, or for the account's first active user when omitted —
   * the common case of "give me a working token for this account".
   */
  issueToken(accountId: string, options: { userId?: string; scopes?: readonly string[] } = {}): ApiToken {
    const account = this.getAccount(accountId);
    const user = options.userId === undefined ? this.firstActiveUser(account.id) : this.getUser(options.userId);
    if (user.accountId !== account.id) {
      throw notFound('user_not_found', `No user with id "${user.id}" in account "${account.id}"`);
    }
    if (user.removed) {
      throw conflict('user_removed', `User "${user.id}" has been removed and cannot be issued tokens`);
    }
    const apiToken: ApiToken = {
      token: newApiToken(),
      accountId: account.id,
      userId: user.id,
      scopes: [...(options.scopes ?? DEFAULT_TOKEN_SCOPES)],
      revoked: false,
      createdAt: new Date().toISOString(),
    };
    this.tokens.set(apiToken.token, apiToken);
    return apiToken;
  }

  findToken(token: string): ApiToken | undefined {
    return this.tokens.get(token);
  }

  /** Idempotent, like `removeUser`. */
  revokeToken(token: string): ApiToken {
    const apiToken = this.tokens.get(token);
    if (!apiToken) throw notFound('token_not_found', 'No such token');
    apiToken.revoked = true;
    return apiToken;
  }

  reset(): void {
    this.accounts.clear();
    this.users.clear();
    this.tokens.clear();
    this.accountsCreated = 0;
  }

  private firstActiveUser(accountId: string): User {
    const [user] = this.listUsers(accountId, { includeRemoved: false });
    if (!user) throw conflict('no_active_user', `Account "${accountId}" has no active user to issue a token for`);
    return user;
  }
}
