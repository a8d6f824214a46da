import { Module } from '@nestjs/common';
import { IntegrationsModule } from '../integrations/integrations.module';
import { LinkTokensController, ReauthorizationsController } from './reauthorizations.controller';
import { ReauthorizationsService } from './reauthorizations.service';

@Module({
  imports: [IntegrationsModule],
  controllers: [ReauthorizationsController, LinkTokensController],
  providers: [ReauthorizationsService],
  exports: [ReauthorizationsService],
})
export class ReauthorizationsModule {}
