import type { Payload } from '@temporalio/common';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { EncryptionCodec } from '../../../libs/temporal/encryption-codec';
import { ApiError } from '../common/api-error';
import { redactPayloads } from './redaction';

/**
 * Temporal's remote codec protocol: `POST …/encode` and `POST …/decode` with a `Payloads` message in
 * protobuf's JSON form, `{"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}`.
 * Protobuf JSON leaves out empty fields, so an empty list arrives as `{}` (the Temporal CLI sends
 * that for every event without payloads) and a payload without data has no `data`.
 */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface JsonPayloads {
  payloads: JsonPayload[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const invalid = (message: string) => ApiError.badRequest('validation_error', message);

function payloadFromJson(p: unknown, index: number): Payload {
  if (!isPlainObject(p)) throw invalid(`payloads[${index}] must be an object`);
  const { metadata, data } = p;
  if (metadata !== undefined && metadata !== null && !isPlainObject(metadata)) throw invalid(`payloads[${index}].metadata must be an object`);
  const entries = Object.entries(metadata ?? {});
  for (const [k, v] of entries) if (typeof v !== 'string') throw invalid(`payloads[${index}].metadata.${k} must be a base64 string`);
  if (data !== undefined && data !== null && typeof data !== 'string') throw invalid(`payloads[${index}].data must be a base64 string`);
  return {
    metadata: Object.fromEntries(entries.map(([k, v]) => [k, Buffer.from(v as string, 'base64')])),
    data: typeof data === 'string' ? Buffer.from(data, 'base64') : undefined,
  };
}

/** The payloads of a request body; a body without `payloads` is the empty list (see above). */
export function payloadsFromBody(body: unknown): Payload[] {
  if (!isPlainObject(body)) throw invalid('body must be {"payloads":[…]}');
  const list = body.payloads;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalid('body must be {"payloads":[…]}');
  return list.map(payloadFromJson);
}

export function payloadsToBody(payloads: readonly Payload[]): JsonPayloads {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      ...(p.data && p.data.length > 0 ? { data: Buffer.from(p.data).toString('base64') } : {}),
    })),
  };
}

/**
 * The codec as operators get it: encode seals like the engine does; decode opens the payloads and
 * then redacts them (redaction.ts), so that no credential ever leaves through this door.
 */
export class OperatorCodec {
  private readonly codec: EncryptionCodec;

  constructor(ring: KeyRing) {
    this.codec = new EncryptionCodec(ring);
  }

  async encode(body: unknown): Promise<JsonPayloads> {
    return payloadsToBody(await this.codec.encode(payloadsFromBody(body)));
  }

  async decode(body: unknown): Promise<JsonPayloads> {
    const payloads = payloadsFromBody(body);
    let decoded: Payload[];
    try {
      decoded = await this.codec.decode(payloads);
    } catch {
      throw ApiError.badRequest('undecodable_payload', 'payload could not be decrypted with the configured keys');
    }
    return payloadsToBody(redactPayloads(decoded));
  }
}
