import { Module } from '@nestjs/common';
import { ResyncStarter } from '../../../libs/resync/resync-starter';
import { IntegrationsModule } from '../integrations/integrations.module';
import { ResyncsController } from './resyncs.controller';
import { ResyncsService } from './resyncs.service';

@Module({
  imports: [IntegrationsModule],
  controllers: [ResyncsController],
  providers: [ResyncsService, ResyncStarter],
  exports: [ResyncsService],
})
export class ResyncsModule {}
