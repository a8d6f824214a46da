import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go into an encoded payload instead of plain fields of the
 * history, so the payload codec seals them like every other payload (a CRM's error text or a stack
 * can carry details nobody should read from the Temporal database). Loaded by path — by clients,
 * and inside the workflow sandbox by the worker and the bundler — hence its own module.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
