/**
 * The worker's workflow interceptor modules (log ids of every workflow and its activities). They
 * are compiled into the workflow bundle (scripts/bundle-workflows.ts), passed to the worker when it
 * bundles at start (apps/worker/main.ts), and replayed with (test/replay).
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [require.resolve('../../workflows/interceptors')];
