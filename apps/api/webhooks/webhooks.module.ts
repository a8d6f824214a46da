import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({ imports: [AuditModule], controllers: [WebhooksController, EventsController], providers: [WebhooksService, EventsService] })
export class WebhooksModule {}
