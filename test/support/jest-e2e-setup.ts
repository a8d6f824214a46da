/**
 * Setup of jest's e2e group: these tests start a Temporal dev server, Postgres databases and the apps,
 * and some wait for workflows that run for minutes, so each test and hook gets 300 s by default.
 */
jest.setTimeout(300_000);
