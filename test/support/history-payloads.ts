/**
 * Reading Temporal histories the way an operator's tools do: the payloads an event holds, those
 * payloads as the protobuf JSON the Temporal UI and CLI send to a remote codec, the decoded answer
 * as text, and every byte and string of a history for leak checks.
 */
import type { temporal } from '@temporalio/proto';

export type ProtoPayload = temporal.api.common.v1.IPayload;

/** A payload in protobuf JSON: metadata values and data as base64. */
export interface JsonPayload {
  metadata: Record<string, string>;
  data?: string;
}

/** Every payload of a history (or of one event): objects with an `encoding` metadata entry, wherever they sit. */
export function payloadsOf(history: unknown): ProtoPayload[] {
  const found: ProtoPayload[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    if (Array.isArray(v)) return v.forEach(walk);
    const metadata = (v as ProtoPayload).metadata;
    if (metadata && typeof metadata === 'object' && metadata.encoding instanceof Uint8Array) {
      found.push(v as ProtoPayload);
      return;
    }
    Object.values(v).forEach(walk);
  };
  walk(history);
  return found;
}

/** The payload's `encoding` metadata as text (`binary/encrypted`, `json/plain`, …). */
export function encodingOf(p: ProtoPayload): string {
  return Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString();
}

/** A Payloads message in protobuf JSON, as the UI and the CLI send it (bytes as base64). */
export function protoJson(payloads: ProtoPayload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      ...(p.data?.length ? { data: Buffer.from(p.data).toString('base64') } : {}),
    })),
  };
}

/** A decoded payload of a codec answer: its encoding and its data as text. */
export const textOf = (p: JsonPayload) => ({
  encoding: Buffer.from(p.metadata.encoding, 'base64').toString(),
  text: p.data ? Buffer.from(p.data, 'base64').toString() : '',
});

/**
 * Every byte array and string of a history (payload bytes, failure messages, headers, memo, search
 * attributes), concatenated: a secret stored anywhere in it, undecoded, shows up here.
 */
export function historyBytes(history: unknown): Buffer {
  const chunks: Buffer[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) chunks.push(Buffer.from(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') chunks.push(Buffer.from(v));
  };
  walk(history);
  return Buffer.concat(chunks);
}
