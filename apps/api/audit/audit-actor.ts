import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { ApiKey } from '../../../libs/db/entities';
import type { AuditActor } from '../../../libs/domain/audit';
import { hashApiKey } from '../auth/api-keys.service';

/**
 * The console says who it is with this header on every call (apps/api/console/public/api.js). It
 * only labels the API key's action in the audit trail; it grants nothing.
 */
export const CLIENT_HEADER = 'x-reauth-client';

/** Who made an API request, for the audit trail: the API key's id (never the key), and whether the console sent it. */
@Injectable()
export class AuditActorResolver {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async resolve(req: Request): Promise<AuditActor> {
    const kind = req.headers[CLIENT_HEADER] === 'console' ? 'console' : 'api_key';
    const keyHash = (req as Request & { apiKeyHash?: string }).apiKeyHash ?? bearerKeyHash(req);
    const key = keyHash ? await this.ds.getRepository(ApiKey).findOne({ select: { id: true }, where: { keyHash } }) : null;
    return key ? { kind, id: key.id } : { kind };
  }
}

/** The hash the API key guard checked (the guard has already refused a request without a valid key). */
function bearerKeyHash(req: Request): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match ? hashApiKey(match[1]) : null;
}
