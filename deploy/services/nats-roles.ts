/**
 * The roles on Pulso's NATS, what each may publish and subscribe, and their credentials.
 *
 * Each role is one nkey user with an allow-list (NATS denies whatever a list does not
 * name). The seeds are generated on the first `services up` into the data dir, owner-only;
 * the server's configuration holds only the public keys. A role's connection uses its own
 * inbox prefix, so no other role can subscribe to the replies it gets (fetched messages
 * come as replies).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from 'nats';

export const ROLES = ['pipeline', 'publisher', 'reader', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The streams the permissions name (from the configuration). */
export interface StreamNames {
  tracking: string;
  deadLetters: string;
  outputs: string;
  /** The partition state's bucket prefix (nats.state.bucket): its KV and Object Store. */
  state: string;
}

/** The names, as the configuration's `nats` section gives them. */
export function streamNamesOf(n: {
  trackingStream: { name: string };
  deadLetterStream: { name: string };
  outputStream: { name: string };
  state: { bucket: string };
}): StreamNames {
  return {
    tracking: n.trackingStream.name,
    deadLetters: n.deadLetterStream.name,
    outputs: n.outputStream.name,
    state: n.state.bucket,
  };
}

export interface Permissions {
  publish: string[];
  subscribe: string[];
  /** Subjects denied although an allow entry covers them. */
  denyPublish?: string[];
}

/** The inbox prefix a role's connection must use (its replies come there only). */
export function inboxPrefixOf(role: Role): string {
  // Publishers keep the standard prefix so that any NATS client works unchanged; what
  // they receive there is only their own publish acknowledgements.
  return role === 'publisher' ? '_INBOX' : `_INBOX_${role}`;
}

export function permissionsOf(role: Role, s: StreamNames): Permissions {
  const inbox = `${inboxPrefixOf(role)}.>`;
  const api = '$JS.API';
  const consumerApi = (stream: string) => [
    `${api}.STREAM.INFO.${stream}`,
    `${api}.CONSUMER.CREATE.${stream}`,
    `${api}.CONSUMER.CREATE.${stream}.>`,
    `${api}.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `${api}.CONSUMER.INFO.${stream}.>`,
    `${api}.CONSUMER.MSG.NEXT.${stream}.>`,
    `${api}.CONSUMER.DELETE.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
  switch (role) {
    case 'pipeline':
      return {
        publish: [
          `${api}.INFO`,
          // Names only: the KV and Object Store clients look their streams up by name.
          `${api}.STREAM.NAMES`,
          // Its own streams: created when missing (never updated, purged or deleted here).
          ...[s.tracking, s.deadLetters, s.outputs].flatMap((n) => [
            `${api}.STREAM.CREATE.${n}`,
            `${api}.STREAM.MSG.GET.${n}`,
            ...consumerApi(n),
          ]),
          // The partition state: a KV bucket and an Object Store (partition-store.ts).
          ...[
            `KV_${s.state}_partitions`,
            `OBJ_${s.state}_checkpoints`,
            // What the e-mail sender has sent (delivery/email.ts).
            `KV_${s.state}_deliveries`,
          ].flatMap((n) => [
            `${api}.STREAM.CREATE.${n}`,
            `${api}.STREAM.MSG.GET.${n}`,
            `${api}.DIRECT.GET.${n}`,
            `${api}.DIRECT.GET.${n}.>`,
            ...consumerApi(n),
          ]),
          `${api}.STREAM.PURGE.OBJ_${s.state}_checkpoints`,
          `$KV.${s.state}_partitions.>`,
          `$KV.${s.state}_deliveries.>`,
          `$O.${s.state}_checkpoints.>`,
          'tracking.clock',
          'cs.>',
          'pulso.dlq.>',
        ],
        subscribe: [inbox],
      };
    case 'publisher':
      return {
        publish: [
          'tracking.events',
          'tracking.events.>',
          'tracking.clients',
          'tracking.clients.>',
          'tracking.users',
          'tracking.users.>',
        ],
        subscribe: [inbox],
      };
    case 'reader':
      return {
        // A CS tool reads the outputs, and says which of the tasks are done (tracking.tasks).
        publish: [`${api}.INFO`, ...consumerApi(s.outputs), 'tracking.tasks', 'tracking.tasks.>'],
        subscribe: ['cs.>', inbox],
      };
    case 'admin':
      return {
        publish: [`${api}.>`],
        subscribe: [inbox],
      };
  }
}

/** Where the role's nkey seed is kept in the data dir. */
export function seedFileOf(natsDir: string, role: Role): string {
  return join(natsDir, 'credentials', `${role}.nk`);
}

/** Creates the seeds that do not exist yet (owner-only); returns each role's public key. */
export function ensureCredentials(natsDir: string): Record<Role, string> {
  const dir = join(natsDir, 'credentials');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) {
    const file = seedFileOf(natsDir, role);
    if (!existsSync(file)) {
      const user = nkeys.createUser();
      writeFileSync(file, new TextDecoder().decode(user.getSeed()) + '\n', { mode: 0o600 });
    }
    chmodSync(file, 0o600);
    const seed = readFileSync(file, 'utf8').trim();
    keys[role] = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  }
  return keys;
}

/** nats-server's `authorization` block: one nkey user per role, with its allow-list. */
export function authorizationBlock(keys: Record<Role, string>, s: StreamNames): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const users = ROLES.map((role) => {
    const p = permissionsOf(role, s);
    const deny = p.denyPublish ? `, deny: ${list(p.denyPublish)}` : '';
    return `    # ${role}
    { nkey: ${JSON.stringify(keys[role])}, permissions: {
        publish: { allow: ${list(p.publish)}${deny} },
        subscribe: { allow: ${list(p.subscribe)} } } }`;
  });
  return `authorization {\n  users: [\n${users.join(',\n')}\n  ]\n}\n`;
}

/** The environment variable holding a role's password in a password-based deployment. */
export const passwordEnvOf = (role: Role) => `PULSO_NATS_${role.toUpperCase()}_PASSWORD`;

/**
 * The same roles with passwords instead of nkeys, each taken from an environment variable
 * of the server (`$PULSO_NATS_<ROLE>_PASSWORD`): for deployments (docker-compose) that hand
 * secrets to containers as environment. Generated into deploy/compose/nats-auth.conf.
 */
export function passwordAuthorizationBlock(s: StreamNames): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const users = ROLES.map((role) => {
    const p = permissionsOf(role, s);
    const deny = p.denyPublish ? `, deny: ${list(p.denyPublish)}` : '';
    return `    # ${role}
    { user: ${JSON.stringify(role)}, password: $${passwordEnvOf(role)}, permissions: {
        publish: { allow: ${list(p.publish)}${deny} },
        subscribe: { allow: ${list(p.subscribe)} } } }`;
  });
  return `# Generated by \`pulso services nats-auth\` from deploy/services/nats-roles.ts: do not edit.
authorization {
  users: [
${users.join(',\n')}
  ]
}
`;
}
