import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { KeyRing } from '../crypto/key-ring';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';

/**
 * Encrypts every payload the client and worker exchange (workflow args, update args, activity
 * inputs and results, query answers), so tokens and codes are never readable in Temporal history
 * or the UI. Same shape as temporalio/samples-typescript `encryption`; keys come from the key ring,
 * so codec keys rotate the same way credential keys do.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = Buffer.from(temporal.api.common.v1.Payload.encode(payload).finish());
      const sealed = this.ring.seal(plain);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
          [KEY_ID]: Buffer.from(sealed.keyId),
        },
        data: Buffer.from(sealed.data, 'base64'),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCODING) return payload;
      const keyId = payload.metadata?.[KEY_ID];
      if (!keyId || !payload.data) throw new ValueError('encrypted payload without key id or data');
      const plain = this.ring.open({ keyId: Buffer.from(keyId).toString(), data: Buffer.from(payload.data).toString('base64') });
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/**
 * The data converter of every process that talks to Temporal (the worker, the API's client, test
 * clients): payloads — failure messages and stack traces included — sealed with the payload-codec
 * key ring, given as a ring or as its key spec.
 */
export function createDataConverter(codecKeys: KeyRing | string): { payloadCodecs: PayloadCodec[]; failureConverterPath: string } {
  const ring = typeof codecKeys === 'string' ? new KeyRing(codecKeys) : codecKeys;
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The failure converter module (messages and stack traces encoded, so the codec seals them too). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');
