import { Module } from '@nestjs/common';
import { AuditActorResolver } from './audit-actor';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

@Module({ controllers: [AuditController], providers: [AuditService, AuditActorResolver], exports: [AuditActorResolver] })
export class AuditModule {}
