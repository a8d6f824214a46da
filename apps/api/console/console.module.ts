import { Module } from '@nestjs/common';
import { SdkController } from '../sdk/sdk.controller';
import { ConsoleController } from './console.controller';

/** Web console (`/console`, `/assets/*`) and the embeddable link SDK (`/sdk/*`). */
@Module({ controllers: [ConsoleController, SdkController] })
export class ConsoleModule {}
