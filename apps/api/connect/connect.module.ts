import { Module } from '@nestjs/common';
import { ReauthorizationsModule } from '../reauthorizations/reauthorizations.module';
import { ConnectController } from './connect.controller';
import { ConnectService } from './connect.service';

@Module({ imports: [ReauthorizationsModule], controllers: [ConnectController], providers: [ConnectService] })
export class ConnectModule {}
