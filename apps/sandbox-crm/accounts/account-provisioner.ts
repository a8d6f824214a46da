import { Injectable } from '@nestjs/common';
import { DataCenterRegion, ENTITY_TYPES, RecordCounts } from './crm-model';
import { AccountsStore } from './accounts.store';
import { RecordsStore } from './records.store';

export const DEFAULT_RECORDS_PER_ENTITY = 5;
/** Large enough for pagination/benchmark runs, small enough to seed in well under a second. */
export const MAX_RECORDS_PER_ENTITY = 20_000;

export interface ProvisionAccountRequest {
  name?: string;
  records?: Partial<RecordCounts>;
  /** Zoho data center serving the account; default `us`. */
  region?: DataCenterRegion;
}

/**
 * Creates a ready-to-use tenant: account, first admin user, an API token for that user and
 * seeded records. Kept apart from the admin controller so a future OAuth consent flow can
 * provision accounts the same way.
 */
@Injectable()
export class AccountProvisioner {
  constructor(
    private readonly accounts: AccountsStore,
    private readonly records: RecordsStore,
  ) {}

  provision(request: ProvisionAccountRequest = {}) {
    const account = this.accounts.createAccount(request.name, { region: request.region });
    const user = this.accounts.addUser(account.id);
    const apiToken = this.accounts.issueToken(account.id, { userId: user.id });
    const counts = Object.fromEntries(
      ENTITY_TYPES.map((entity) => [entity, request.records?.[entity] ?? DEFAULT_RECORDS_PER_ENTITY]),
    ) as RecordCounts;
    this.records.seed(account.id, counts);
    return { account, user, apiToken };
  }
}
