import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import { AccountProvisioner } from '../accounts/account-provisioner';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, ApiToken, parseEntityType, User } from '../accounts/crm-model';
import { RecordsStore } from '../accounts/records.store';
import { FaultsService } from '../faults/faults.service';
import { OAuthResetService } from '../oauth/oauth-reset.service';
import { providerAccountIds, providerUserIds } from '../oauth/provider-identities';
import { RequestStatsService } from '../stats/request-stats.service';
import { CreateAccountDto, CreateUserDto, IssueTokenDto, UpdateAccountDto } from './admin.dto';

/**
 * Unauthenticated control plane for tests and dev tooling: set up tenants, then simulate the
 * events re-authorization has to cope with (user removed, token revoked, data edited).
 */
@Controller('admin')
export class AdminController {
  constructor(
    private readonly provisioner: AccountProvisioner,
    private readonly accounts: AccountsStore,
    private readonly records: RecordsStore,
    private readonly faults: FaultsService,
    private readonly stats: RequestStatsService,
    private readonly oauth: OAuthResetService,
  ) {}

  @Post('accounts')
  createAccount(@Body() body: CreateAccountDto) {
    const { account, user, apiToken } = this.provisioner.provision({ name: body.name, records: body.records, region: body.region });
    return {
      account: accountView(account),
      user: userView(user),
      token: apiToken.token,
    };
  }

  @Get('accounts/:accountId')
  getAccount(@Param('accountId') accountId: string) {
    const account = this.accounts.getAccount(accountId);
    return {
      account: accountView(account),
      users: this.accounts.listUsers(account.id, { includeRemoved: true }).map(userView),
      records: this.records.counts(account.id),
    };
  }

  @Patch('accounts/:accountId')
  updateAccount(@Param('accountId') accountId: string, @Body() body: UpdateAccountDto) {
    const account = body.region === undefined ? this.accounts.getAccount(accountId) : this.accounts.setRegion(accountId, body.region);
    return accountView(account);
  }

  @Post('accounts/:accountId/users')
  addUser(@Param('accountId') accountId: string, @Body() body: CreateUserDto) {
    return userView(this.accounts.addUser(accountId, { email: body.email, name: body.name }));
  }

  /** Simulates an admin removing the user in the CRM; their tokens start answering 401 `user_removed`. */
  @Delete('users/:userId')
  removeUser(@Param('userId') userId: string) {
    return userView(this.accounts.removeUser(userId));
  }

  @Post('tokens')
  issueToken(@Body() body: IssueTokenDto) {
    return tokenView(this.accounts.issueToken(body.accountId, { userId: body.userId, scopes: body.scopes }));
  }

  /** Simulates the user (or CRM) revoking the integration's access. */
  @Delete('tokens/:token')
  revokeToken(@Param('token') token: string) {
    return tokenView(this.accounts.revokeToken(token));
  }

  /** Simulates an edit made inside the CRM, so re-sync tests can check changed fields are picked up. */
  @Patch('accounts/:accountId/records/:entity/:recordId')
  updateRecord(
    @Param('accountId') accountId: string,
    @Param('entity') entityName: string,
    @Param('recordId') recordId: string,
    @Body() fields: unknown,
  ) {
    const account = this.accounts.getAccount(accountId);
    return this.records.update(account.id, parseEntityType(entityName), recordId, fields);
  }

  /** Back to a blank sandbox: no accounts, OAuth clients or tokens, faults or request counts. */
  @Post('reset')
  @HttpCode(HttpStatus.OK)
  reset() {
    this.accounts.reset();
    this.records.reset();
    this.oauth.reset();
    this.faults.clear();
    this.faults.clearRandom();
    this.stats.reset();
    return { ok: true };
  }
}

function accountView(account: Account) {
  return {
    id: account.id,
    name: account.name,
    region: account.region,
    numericId: account.numericId,
    createdAt: account.createdAt,
    /** The ids each provider shape reports for this account (what an engine stores as the CRM account id). */
    providerIds: providerAccountIds(account),
  };
}

function userView(user: User) {
  return {
    id: user.id,
    accountId: user.accountId,
    email: user.email,
    name: user.name,
    removed: user.removed,
    numericId: user.numericId,
    providerIds: providerUserIds(user),
  };
}

function tokenView(apiToken: ApiToken) {
  return {
    token: apiToken.token,
    accountId: apiToken.accountId,
    userId: apiToken.userId,
    scopes: [...apiToken.scopes],
    revoked: apiToken.revoked,
  };
}
