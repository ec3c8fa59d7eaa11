/**
 * One check in a process of its own, for tests that run it on a wrong clock
 * (`faketime -f "-5h" node runner.js '<json>'`: the clock is the process's, so
 * it cannot be moved inside the test runner). Prints the status as JSON.
 *
 * The argument: `{"serverUrl", "publicKey", "dataDir", "root"}` (`root`: the
 * fake machine's tree). An unreachable `serverUrl` makes it an offline check.
 */

import { Licentia } from "../src";

async function main(): Promise<void> {
  const { serverUrl, publicKey, dataDir, root } = JSON.parse(process.argv[2] ?? "{}");
  const lic = new Licentia({ serverUrl, product: "my-app", publicKey, dataDir, hardware: { root }, timeoutMs: 5000 });
  const status = await lic.check();
  const { allowed, state, reason, daysLeft, online, device } = status;
  process.stdout.write(`${JSON.stringify({ allowed, state, reason, daysLeft, online, device, localTime: new Date().toISOString() })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
