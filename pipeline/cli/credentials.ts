/** `pulso services credentials ROLE`: what a client of one role needs, as JSON. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  inboxPrefixOf,
  permissionsOf,
  ROLES,
  seedFileOf,
  type Role,
  streamNamesOf,
} from '../../deploy/services/nats-roles.js';
import { natsDirOf } from '../../deploy/services/nats.js';
import { originOf } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';

export function credentialsOf(c: Config, role: string): Record<string, unknown> {
  const q = c.questdb;
  if (role === 'questdb')
    return {
      role,
      host: q.host,
      httpPort: q.httpPort,
      pgPort: q.pgPort,
      user: q.user,
      password: q.password,
    };
  if (role === 'analyst') {
    if (!q.readOnlyUser)
      throw new ConfigError(
        originOf(c, '/questdb/readOnlyUser'),
        '/questdb/readOnlyUser',
        'a read-only user: set it, or start the managed QuestDB once (`pulso services up`)',
      );
    return {
      role,
      host: q.host,
      pgPort: q.pgPort,
      database: 'qdb',
      user: q.readOnlyUser,
      password: q.readOnlyPassword,
      // What deploy/grafana/provisioning reads.
      grafanaEnv: {
        PULSO_QUESTDB_HOST: q.host,
        PULSO_QUESTDB_PG_PORT: String(q.pgPort),
        PULSO_QUESTDB_READONLY_USER: q.readOnlyUser,
        PULSO_QUESTDB_READONLY_PASSWORD: q.readOnlyPassword,
      },
    };
  }
  if (!(ROLES as readonly string[]).includes(role))
    throw new ConfigError(
      'the command line',
      '',
      `a role: ${[...ROLES, 'questdb', 'analyst'].join(', ')}`,
      role,
    );
  const r = role as Role;
  const streams = streamNamesOf(c.nats);
  const configured = c.nats.auth[r];
  const seedFile = resolve(seedFileOf(natsDirOf(c.services.dataDir), r));
  let seed: string | undefined;
  if (!configured)
    try {
      seed = readFileSync(seedFile, 'utf8').trim();
    } catch {
      throw new ConfigError(
        originOf(c, `/nats/auth/${r}`),
        `/nats/auth/${r}`,
        `credentials for ${r}: set them, or start the managed NATS once (\`pulso services up\`) to generate ${seedFile}`,
      );
    }
  return {
    role: r,
    url: c.nats.url,
    ...(seed ? { nkeySeed: seed, seedFile } : { configured: Object.keys(configured!) }),
    inboxPrefix: inboxPrefixOf(r),
    permissions: permissionsOf(r, streams),
  };
}
