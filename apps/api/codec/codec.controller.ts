import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Payload } from '@temporalio/common';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { CODEC_KEY_RING } from '../../../libs/nest/tokens';
import { EncryptionCodec } from '../../../libs/temporal/encryption-codec';
import { ApiError } from '../common/api-error';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: p.data !== undefined ? Buffer.from(p.data, 'base64') : undefined,
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
  };
}

/**
 * Remote codec endpoint (Temporal's JSON protocol) so the Temporal UI and CLI can show decrypted
 * payloads to an operator holding an API key. Nothing is decrypted for anyone else.
 */
@ApiTags('operations')
@ApiBearerAuth()
@Controller('codec')
export class CodecController {
  private readonly codec: EncryptionCodec;

  constructor(@Inject(CODEC_KEY_RING) ring: KeyRing) {
    this.codec = new EncryptionCodec(ring);
  }

  private payloads(body: unknown): JsonPayload[] {
    const list = (body as { payloads?: unknown })?.payloads;
    if (!Array.isArray(list)) throw ApiError.badRequest('validation_error', 'body must be {"payloads":[…]}');
    return list as JsonPayload[];
  }

  @Post('encode')
  @HttpCode(200)
  async encode(@Body() body: unknown) {
    return { payloads: (await this.codec.encode(this.payloads(body).map(fromJson))).map(toJson) };
  }

  @Post('decode')
  @HttpCode(200)
  async decode(@Body() body: unknown) {
    try {
      return { payloads: (await this.codec.decode(this.payloads(body).map(fromJson))).map(toJson) };
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw ApiError.badRequest('undecodable_payload', 'payload could not be decrypted with the configured keys');
    }
  }
}
