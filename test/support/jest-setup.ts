/**
 * Setup of every jest test file (both groups), run inside the file's own realm.
 *
 * jest runs each test file in a separate V8 context, but `fetch` is Node's own, from the outer
 * context: `Response.json()` would build its objects with the outer realm's Object.prototype, and
 * node:assert's deepStrictEqual then rejects them against object literals of the test ("Compared
 * values have no visual difference"). Responses of this realm's `fetch` parse their JSON here.
 */
const nodeFetch = globalThis.fetch;

globalThis.fetch = async function fetchParsingJsonInTestRealm(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
  const response = await nodeFetch(input, init);
  Object.defineProperty(response, 'json', { configurable: true, value: async () => JSON.parse(await response.text()) });
  return response;
};
