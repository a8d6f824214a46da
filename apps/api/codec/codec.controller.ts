import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { CODEC_KEY_RING } from '../../../libs/nest/tokens';
import { Public } from '../auth/public.decorator';
import { OperatorCodec } from './codec-protocol';
import { OperatorGuard } from './operator.guard';

/**
 * Remote codec endpoint (Temporal's JSON protocol, codec-protocol.ts) for the Temporal UI and CLI of
 * an operator: `--codec-endpoint <api>/codec --codec-auth 'Bearer <operator key>'`. Open to operator
 * credentials only (OperatorGuard; @Public() keeps the tenant API-key guard out of the way), and
 * what it decodes comes back with every credential redacted.
 */
@ApiTags('operations')
@ApiBearerAuth()
@Public()
@UseGuards(OperatorGuard)
@Controller('codec')
export class CodecController {
  private readonly codec: OperatorCodec;

  constructor(@Inject(CODEC_KEY_RING) ring: KeyRing) {
    this.codec = new OperatorCodec(ring);
  }

  @Post('encode')
  @HttpCode(200)
  encode(@Body() body: unknown) {
    return this.codec.encode(body);
  }

  @Post('decode')
  @HttpCode(200)
  decode(@Body() body: unknown) {
    return this.codec.decode(body);
  }
}
