/**
 * Sends the e-mails playbooks ask for (`cs.email.>`) over SMTP (nodemailer), rendered from
 * templates (templates.ts) in the client's language.
 *
 * At most one send per output id, across restarts and redeliveries: before talking to the
 * SMTP server the sender marks the id `sending` in NATS KV (`<state bucket>_deliveries`,
 * created with compare-and-set), and `sent` once the server accepted the message.
 *   - `sent` found: a redelivery; acknowledged, not sent again.
 *   - `sending` found: an earlier send was cut short (the sender died or lost the server
 *     mid-transaction) and may have reached the client: it is not sent again but
 *     dead-lettered as `email_unconfirmed`, for a person to check.
 *   - a send the server refused outright (an SMTP reply code, or no connection at all)
 *     clears the mark: a temporary refusal (4xx, no connection) is tried again after the
 *     backoff, a permanent one (5xx) is dead-lettered as `email_failed`.
 * Messages carry a Message-ID derived from the output id, so a mail system that sees the
 * same e-mail twice can tell.
 */
import { createHash } from 'node:crypto';
import { StorageType, type KV, type NatsConnection } from 'nats';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { IngestMetrics } from '../../metrics.js';
import type { DeadLetterCaps } from '../../contract/dead-letter.js';
import type { EmailBody } from '../../../schemas/generated/outputs/email.js';
import type { OutputSigner } from '../nats/output-signature.js';
import type { StateBucket } from '../nats/partition-store.js';
import { consumeOutputs, type Delivery, type OutputConsumer } from './output-consumer.js';
import type { EmailTemplates } from './templates.js';

export const EMAIL_CONSUMER = 'pulso-email';

type Settings = Config['delivery']['email'];

interface Mark {
  id: string;
  state: 'sending' | 'sent';
  at: number;
  messageId?: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Which output ids were sent, or are being sent: one entry per id, in replicated KV. */
export class SendMarks {
  private constructor(private readonly kv: KV) {}

  /**
   * `keepDays`: how long a mark is kept — the output stream's age, after which its output
   * can no longer be delivered again (a digest's day, older still, is not sent by hand).
   */
  static async open(nc: NatsConnection, s: StateBucket, keepDays: number): Promise<SendMarks> {
    const kv = await nc.jetstream().views.kv(`${s.bucket}_deliveries`, {
      replicas: s.replicas,
      history: 1,
      ttl: keepDays * 86_400_000,
      storage: StorageType.File,
      // Read through the leader: a lagging replica would not show a mark just written.
      allow_direct: false,
    });
    return new SendMarks(kv);
  }

  /** KV keys allow few characters; an output id holds any client id. */
  private key(kind: string, id: string): string {
    return `${kind}.${createHash('sha256').update(id).digest('hex').slice(0, 48)}`;
  }

  async get(kind: string, id: string): Promise<Mark | undefined> {
    const e = await this.kv.get(this.key(kind, id));
    return e && e.operation === 'PUT' ? (JSON.parse(dec.decode(e.value)) as Mark) : undefined;
  }

  /** Marks `id` as being sent; false when a mark exists already (another attempt's). */
  async begin(kind: string, id: string): Promise<boolean> {
    const mark: Mark = { id, state: 'sending', at: Date.now() };
    try {
      await this.kv.create(this.key(kind, id), enc.encode(JSON.stringify(mark)));
      return true;
    } catch {
      return false;
    }
  }

  async sent(kind: string, id: string, messageId: string): Promise<void> {
    const mark: Mark = { id, state: 'sent', at: Date.now(), messageId };
    await this.kv.put(this.key(kind, id), enc.encode(JSON.stringify(mark)));
  }

  /** The send was refused for sure: another attempt may send it. */
  async clear(kind: string, id: string): Promise<void> {
    await this.kv.delete(this.key(kind, id));
  }
}

export interface EmailSenderOptions {
  settings: Settings;
  templates: EmailTemplates;
  marks: SendMarks;
  signer: OutputSigner;
  env: NodeJS.ProcessEnv;
  log: Logger;
  caps?: DeadLetterCaps;
  metrics?: IngestMetrics;
}

/** The SMTP error says the server refused the message: nothing was delivered. */
interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** Errors that happen before the server could have taken the message. */
const NOT_SENT = new Set(['ECONNECTION', 'EDNS', 'EAUTH', 'ETLS', 'EENVELOPE']);

export async function startEmailSender(
  nc: NatsConnection,
  stream: string,
  o: EmailSenderOptions,
): Promise<OutputConsumer> {
  const c = o.settings;
  const password = c.smtp.passwordEnv ? o.env[c.smtp.passwordEnv] : undefined;
  const transport = nodemailer.createTransport({
    host: c.smtp.host,
    port: c.smtp.port,
    secure: c.smtp.secure,
    ...(c.smtp.user ? { auth: { user: c.smtp.user, pass: password ?? '' } } : {}),
    connectionTimeout: c.smtp.timeoutMs,
    greetingTimeout: c.smtp.timeoutMs,
    socketTimeout: c.smtp.timeoutMs,
  });
  const consumer = await consumeOutputs(
    nc,
    stream,
    {
      kind: 'email',
      durable: EMAIL_CONSUMER,
      ackWaitMs: Math.max(5_000, c.smtp.timeoutMs + 2_000),
      maxDeliveries: c.maxDeliveries,
      backoffSeconds: c.backoffSeconds,
      invalidCode: 'email_invalid',
      failedCode: 'email_failed',
      signer: o.signer,
      caps: o.caps,
      log: o.log,
      counted: (outcome) => o.metrics?.emails.inc({ outcome }),
    },
    (body) => sendOnce(body, o, transport),
  );
  return {
    async stop() {
      await consumer.stop();
      transport.close();
    },
  };
}

async function sendOnce(
  body: EmailBody,
  o: EmailSenderOptions,
  transport: Transporter,
): Promise<Delivery> {
  const { marks, log } = o;
  const had = await marks.get('email', body.id);
  if (had?.state === 'sent') return { outcome: 'delivered' };
  if (had?.state === 'sending') return unconfirmed(body, had.at);
  if (body.to && !isSingleAddress(body.to))
    return {
      outcome: 'give-up',
      reason: {
        code: 'email_invalid',
        message: `client ${JSON.stringify(body.clientId)}'s email attribute is not one address: ${JSON.stringify(body.to.slice(0, 200))}`,
        path: '/to',
        expected:
          'one e-mail address (name@domain): a list would send the e-mail to everyone in it',
      },
    };
  if (!body.to)
    return {
      outcome: 'give-up',
      reason: {
        code: 'email_invalid',
        message: `client ${JSON.stringify(body.clientId)} has no email attribute: no one to send ${JSON.stringify(body.template)} to`,
        path: '/to',
        expected: "the client's email attribute (a client update's attributes.email)",
      },
    };
  const language = o.templates.languageOf(body.variables);
  const mail = o.templates.render(body, language);
  if ('code' in mail) return { outcome: 'give-up', reason: mail };
  if (!(await marks.begin('email', body.id))) {
    const now = await marks.get('email', body.id);
    return now?.state === 'sent' ? { outcome: 'delivered' } : unconfirmed(body, now?.at);
  }
  const messageId = `<${createHash('sha256').update(body.id).digest('hex').slice(0, 32)}@pulso>`;
  try {
    await transport.sendMail({
      from: o.settings.from,
      to: { name: '', address: body.to },
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId,
      headers: { 'X-Pulso-Output-Id': body.id, 'X-Pulso-Playbook': body.playbook },
    });
  } catch (e) {
    const err = e as SmtpError;
    const refused = err.responseCode !== undefined || NOT_SENT.has(err.code ?? '');
    if (!refused) {
      // Cut short mid-transaction: it may have been delivered. The mark stays.
      log.error({ id: body.id, err: err.message }, 'e-mail send interrupted; not sent again');
      return unconfirmed(body, Date.now());
    }
    await marks.clear('email', body.id);
    const why = err.responseCode
      ? `${err.responseCode} ${err.response ?? err.message}`
      : err.message;
    if ((err.responseCode ?? 0) >= 500)
      return {
        outcome: 'give-up',
        reason: {
          code: 'email_failed',
          message: `the SMTP server refused the e-mail to ${body.to} for good: ${why}`,
          expected: 'an SMTP server that accepts it',
        },
      };
    return { outcome: 'retry', err: why };
  }
  await marks.sent('email', body.id, messageId);
  log.info({ id: body.id, to: body.to, template: body.template, language }, 'e-mail sent');
  return { outcome: 'delivered' };
}

/**
 * One plain address: the attribute comes from producers, and a list ("a@x, b@y") or a
 * display name would let one client update send Pulso's e-mails to anyone.
 */
export function isSingleAddress(to: string): boolean {
  return (
    to.length <= 254 &&
    /^[^\s@,;:<>()"'\[\]\\]+@[^\s@,;:<>()"'\[\]\\]+\.[^\s@,;:<>()"'\[\]\\]+$/.test(to)
  );
}

function unconfirmed(body: EmailBody, since: number | undefined): Delivery {
  return {
    outcome: 'give-up',
    reason: {
      code: 'email_unconfirmed',
      message: `a send of this e-mail to ${body.to ?? '(no address)'} was cut short${since ? ` (begun ${new Date(since).toISOString()})` : ''}; it may have been delivered, so it is not sent again`,
      expected: 'a person to check whether the client received it',
    },
  };
}
