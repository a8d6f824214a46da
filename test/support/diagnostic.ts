/**
 * Prints a figure a test measured (durations, throughput, attempts) under the name of the running
 * test, so it shows in the output of every run. Written straight to stdout rather than through
 * `console.log`, which jest buffers and decorates with a stack trace.
 */
export function diagnostic(message: string): void {
  const testName = expect.getState().currentTestName;
  process.stdout.write(`# ${testName ? `${testName}: ` : ''}${message}\n`);
}
