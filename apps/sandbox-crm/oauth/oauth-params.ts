/** Request parameters as parsed from a query string or form body: repeated fields become arrays. */
export type RawParams = Record<string, unknown>;

/** A single string parameter; undefined when absent or repeated (callers check repeats first). */
export function single(params: RawParams, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

/** Names of the parameters that were given more than once, in request order. */
export function repeatedParams(params: RawParams): string[] {
  return Object.keys(params).filter((name) => Array.isArray(params[name]));
}
