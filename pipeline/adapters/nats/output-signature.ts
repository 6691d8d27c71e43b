/**
 * Outputs speak for Pulso only when signed by it. Every output the pipeline publishes
 * carries `Pulso-Output-Signature`: base64url HMAC-SHA256, keyed with a secret only the
 * pipeline holds, over its id, evaluation time, subject and body. The webhook deliverer
 * and the restart tail check act only on outputs whose signature holds: a message anyone
 * else managed to put on `cs.>` is ignored (and counted), never delivered or trusted.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MsgHdrs } from 'nats';
import { ConfigError } from '../../errors.js';

export const SIGNATURE_HEADER = 'Pulso-Output-Signature';

export class OutputSigner {
  constructor(private readonly key: Buffer) {}

  /** The signature of one output, as its header carries it. */
  sign(id: string, at: string, subject: string, body: Uint8Array): string {
    return createHmac('sha256', this.key)
      .update(`${id}\n${at}\n${subject}\n`)
      .update(body)
      .digest('base64url');
  }

  /** Does the message carry a signature of this key over what it holds? */
  verifies(subject: string, headers: MsgHdrs | undefined, body: Uint8Array): boolean {
    const given = headers?.get(SIGNATURE_HEADER) ?? '';
    const id = headers?.get('Nats-Msg-Id') ?? '';
    const at = headers?.get('Pulso-At') ?? '';
    if (!given || !id || !at) return false;
    const want = Buffer.from(this.sign(id, at, subject, body));
    const got = Buffer.from(given);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** The configured key file, or the one generated in the data dir on the first start. */
export function outputSigningKey(
  configured: string | undefined,
  dataDir: string,
  origin: string,
): OutputSigner {
  const file = configured ?? join(dataDir, 'secrets', 'output-signing.key');
  if (!configured && !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (e) {
    throw new ConfigError(
      origin,
      '/nats/outputStream/signingKeyFile',
      'a readable file holding a base64 key',
      `${file}: ${(e as Error).message}`,
    );
  }
  if (key.length < 16)
    throw new ConfigError(
      origin,
      '/nats/outputStream/signingKeyFile',
      'a key of at least 16 bytes, base64',
      `${key.length} bytes in ${file}`,
    );
  return new OutputSigner(key);
}
