import { Module } from '@nestjs/common';
import { IntegrationsModule } from '../integrations/integrations.module';
import { ReauthorizationsController } from './reauthorizations.controller';
import { ReauthorizationsService } from './reauthorizations.service';

@Module({ imports: [IntegrationsModule], controllers: [ReauthorizationsController], providers: [ReauthorizationsService] })
export class ReauthorizationsModule {}
