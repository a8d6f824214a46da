/** DI tokens shared by the API and the worker. */
export const APP_CONFIG = Symbol('APP_CONFIG');
export const CREDENTIALS_KEY_RING = Symbol('CREDENTIALS_KEY_RING');
export const CODEC_KEY_RING = Symbol('CODEC_KEY_RING');
