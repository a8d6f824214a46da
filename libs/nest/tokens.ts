/* DI tokens shared by the API and the worker. */

/** The typed AppConfig (libs/config), provided by CoreModule from the validated ConfigService. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const CREDENTIALS_KEY_RING = Symbol('CREDENTIALS_KEY_RING');
export const CODEC_KEY_RING = Symbol('CODEC_KEY_RING');
/** The process's egress policies (libs/providers/provider-egress.ts), built once from the AppConfig by CoreModule. */
export const EGRESS = Symbol('EGRESS');
