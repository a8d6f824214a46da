import { Module } from '@nestjs/common';
import { ReauthorizationsModule } from '../reauthorizations/reauthorizations.module';
import { AttemptCookies } from './attempt-cookies';
import { ConnectController } from './connect.controller';
import { ConnectService } from './connect.service';
import { ConnectPages } from './pages';

@Module({ imports: [ReauthorizationsModule], controllers: [ConnectController], providers: [ConnectService, ConnectPages, AttemptCookies] })
export class ConnectModule {}
