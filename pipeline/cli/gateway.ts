/** `pulso gateway` (the HTTP gateway) and `pulso gateway keys …` (its write keys). */
import type { Command } from 'commander';
import { startGateway } from '../adapters/http/gateway.js';
import { createKey, keysFileOf, listKeys, revokeKey } from '../adapters/http/write-keys.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';

export function gatewayCommands(
  program: Command,
  setup: () => { config: Config; log: Logger },
  untilSignal: (onStop: () => Promise<void>) => AbortSignal,
): void {
  const gateway = program
    .command('gateway')
    .description('the HTTP gateway: Segment, CustomerX and Pulso tracking APIs in front of NATS')
    .action(async () => {
      const { config, log } = setup();
      const g = await startGateway(config, keysFileOf(config), log.child({ stage: 'gateway' }));
      await new Promise<void>((done) => untilSignal(() => g.close().then(done)));
    });
  const keys = gateway.command('keys').description('write keys, stored hashed');
  keys
    .command('create')
    .description('create a write key for SOURCE and print it (the only time it is shown)')
    .argument('<source>', 'the source its events come from (letters, digits, _ or -)')
    .option('--origin <origin...>', 'browser origins allowed to use it (e.g. https://app.acme.com)')
    .action((source: string, opts: { origin?: string[] }) => {
      const { config } = setup();
      const { key, entry } = createKey(keysFileOf(config), source, opts.origin ?? []);
      console.log(JSON.stringify({ key, id: entry.id, source, origins: entry.origins }));
    });
  keys
    .command('revoke')
    .description('revoke the key with this id')
    .argument('<id>')
    .action((id: string) => {
      const { config } = setup();
      if (!revokeKey(keysFileOf(config), id)) {
        console.error(`pulso: no write key with id ${id}`);
        process.exitCode = 1;
      }
    });
  keys
    .command('list')
    .description('the keys in force (ids, sources, origins; never the keys)')
    .action(() => {
      const { config } = setup();
      for (const k of listKeys(keysFileOf(config))) console.log(JSON.stringify(k));
    });
}
