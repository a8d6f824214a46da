import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { AccountsStore } from '../accounts/accounts.store';
import { CrmRecord, parseEntityType } from '../accounts/crm-model';
import { RecordsStore } from '../accounts/records.store';
import { ApiCaller, BearerTokenGuard, Caller } from './bearer-token.guard';
import { decodeCursor, encodeCursor, parseLimit } from './pagination';

export interface RecordListResponse {
  data: CrmRecord[];
  next_cursor: string | null;
}

/** The token-authenticated CRM REST API that integrations (the engine under test) call. */
@Controller('api/v1')
@UseGuards(BearerTokenGuard)
export class CrmApiController {
  constructor(
    private readonly accounts: AccountsStore,
    private readonly records: RecordsStore,
  ) {}

  /** Who-am-I: the cheapest way for a client to check a token still works, and for whom. */
  @Get('me')
  me(@Caller() caller: ApiCaller) {
    return {
      account: { id: caller.account.id, name: caller.account.name },
      user: { id: caller.user.id, email: caller.user.email, name: caller.user.name },
      scopes: [...caller.apiToken.scopes],
      ...(caller.oauth ? { oauth: caller.oauth } : {}),
    };
  }

  @Get('users')
  users(@Caller() caller: ApiCaller) {
    const users = this.accounts.listUsers(caller.account.id, { includeRemoved: false });
    return { data: users.map(({ id, email, name }) => ({ id, email, name })) };
  }

  // Declared after the fixed routes above so `me`/`users` are never read as entity names.
  @Get(':entity')
  list(
    @Caller() caller: ApiCaller,
    @Param('entity') entityName: string,
    @Query('limit') rawLimit: unknown,
    @Query('cursor') rawCursor: unknown,
  ): RecordListResponse {
    const entity = parseEntityType(entityName);
    const limit = parseLimit(rawLimit);
    const afterId = decodeCursor(entity, rawCursor);
    const page = this.records.page(caller.account.id, entity, { limit, afterId });
    return { data: page.records, next_cursor: page.lastIdIfMore === null ? null : encodeCursor(page.lastIdIfMore) };
  }
}
