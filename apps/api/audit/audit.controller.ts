import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { TenantId } from '../auth/tenant.decorator';
import { ListAuditEventsQuery } from './audit.dto';
import { AuditService } from './audit.service';

/** The tenant's audit trail: who did what to which integration, when, and how it ended. Never a secret. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(@TenantId() tenantId: string, @Query() query: ListAuditEventsQuery) {
    return this.audit.list(tenantId, query);
  }
}
