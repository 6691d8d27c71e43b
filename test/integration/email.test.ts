/**
 * E-mails of the shipped playbooks, sent by the real pipeline over SMTP to a real SMTP server
 * (smtp-server) and read back as any mail client would (mailparser): recipient, subject and
 * text in the client's language, the deep link — and one e-mail per output id even when
 * the sender is SIGKILLed while it sends.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PipelineProcess, World } from '../support/world.js';
import { clients, publishQuietClients, settledOutputs, until } from '../fixtures/quiet-clients.js';

interface Received {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

describe('e-mail delivery over SMTP', () => {
  const world = new World();
  let server: SMTPServer;
  let port = 0;
  /** Delay before the server answers a message's data: a kill can land mid-send. */
  let answerDelayMs = 0;
  const received: Received[] = [];
  let pipeline: PipelineProcess | undefined;

  const env = () => ({
    PULSO_INGEST__FLUSH_INTERVAL_MS: '50',
    PULSO_CHECKPOINT__INTERVAL_SECONDS: '0.3',
    PULSO_DELIVERY__EMAIL__ENABLED: 'true',
    PULSO_DELIVERY__EMAIL__SMTP__PORT: String(port),
    PULSO_DELIVERY__EMAIL__BACKOFF_SECONDS: '[0.2]',
    // What a killed sender held is handed out again after about this (the ack wait).
    PULSO_DELIVERY__EMAIL__SMTP__TIMEOUT_MS: '3000',
    PULSO_DELIVERY__LINK: 'https://grafana.example/d/pulso-client-360?var-client={client}',
  });

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        void simpleParser(stream).then(async (mail) => {
          await new Promise((r) => setTimeout(r, answerDelayMs));
          received.push({
            id: String(mail.headers.get('x-pulso-output-id')),
            to: Array.isArray(mail.to) ? '' : (mail.to?.value[0]?.address ?? ''),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : '',
          });
          callback();
        }, callback);
      },
    });
    // A sender killed mid-transaction resets its connection: the server says so as an
    // 'error' event, which is the point of that test, not a failure of this process.
    server.on('error', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.server.address() as { port: number }).port;
    await world.open();
  });
  afterEach(async () => {
    await pipeline?.kill('SIGKILL');
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await world.close();
  });

  it("sends each playbook e-mail once, to the client's address, in its language, with its link", async () => {
    received.length = 0;
    answerDelayMs = 0;
    await publishQuietClients(world);
    pipeline = new PipelineProcess().start(env());
    await world.caughtUp(120_000, pipeline);
    const { emails, alerts } = await settledOutputs(world);
    // Every sem-login-5-dias alert asks for one e-mail; one client has no address.
    expect(alerts.length).toBeGreaterThanOrEqual(clients.length);
    expect(emails.map((e) => e.body.alertId).sort()).toEqual(alerts.map((a) => a.id).sort());
    const addressed = emails.filter((e) => e.body.to !== null);
    await until(pipeline, 'every e-mail', async () => received.length >= addressed.length);
    await until(pipeline, 'the dead letters of the client with no address', async () => {
      const dl = await world.deadLetters();
      return (
        dl.filter((d) => (d.body.reason as { code: string }).code === 'email_invalid').length ===
        emails.length - addressed.length
      );
    });
    expect(received.map((r) => r.id).sort()).toEqual(addressed.map((e) => e.id).sort());
    for (const r of received) {
      const e = addressed.find((x) => x.id === r.id)!;
      const c = clients.find((x) => x.client_id === e.body.clientId)!;
      expect(r.to).toBe(c.email);
      const link = `https://grafana.example/d/pulso-client-360?var-client=${c.client_id}`;
      expect(r.text).toContain(link);
      expect(r.html).toContain(`<a href="${link}">`);
      if (c.language === 'en') {
        expect(r.subject).toBe('Need a hand with the platform?');
        expect(r.text).toContain(`Hello, ${c.name}!`);
      } else {
        expect(r.subject).toBe('Precisa de ajuda com a plataforma?');
        expect(r.text).toContain(`Olá, ${c.name}!`);
        // The HTML part escapes what the client's name holds.
        expect(r.html).toContain(`Olá, Empresa ${c.client_id.slice(8)} &amp; Filhos!`);
      }
    }
  });

  it('SIGKILLed while sending and restarted: no e-mail twice; one cut short is dead-lettered, not resent', async () => {
    received.length = 0;
    answerDelayMs = 150;
    await publishQuietClients(world);
    pipeline = new PipelineProcess().start(env());
    await until(pipeline, 'the first e-mails', async () => received.length >= 4);
    await pipeline.kill('SIGKILL');
    pipeline = new PipelineProcess().start(env());
    await world.caughtUp(120_000, pipeline);
    const { emails } = await settledOutputs(world);
    const addressed = emails.filter((e) => e.body.to !== null).map((e) => e.id);
    const unconfirmed = async () =>
      (await world.deadLetters()).filter(
        (d) => (d.body.reason as { code: string }).code === 'email_unconfirmed',
      );
    await until(
      pipeline,
      'every e-mail sent or dead-lettered',
      async () => received.length + (await unconfirmed()).length >= addressed.length,
    );
    // Quiet a moment: nothing more arrives.
    await new Promise((r) => setTimeout(r, 1500));
    const ids = received.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    // At most the one in flight at the kill was cut short (the server may still have taken
    // it: "may have arrived"); every other e-mail reached the server once.
    const cut = (await unconfirmed()).map(
      (d) =>
        (
          JSON.parse(Buffer.from(String(d.body.payload_base64), 'base64').toString()) as {
            id: string;
          }
        ).id,
    );
    expect(cut.length).toBeLessThanOrEqual(1);
    expect(new Set([...ids, ...cut])).toEqual(new Set(addressed));
  });

  it('an e-mail output not signed by the pipeline is dead-lettered, never sent', async () => {
    received.length = 0;
    answerDelayMs = 0;
    await publishQuietClients(world);
    pipeline = new PipelineProcess().start(env());
    await pipeline.untilLog('pipeline running');
    // Valid in shape, addressed to someone, but published by another hand.
    await world.publish('cs.email.sem-login-5-dias.cliente-0', {
      id: 'email/sem-login-5-dias/cliente-0/2026-01-01/1',
      alertId: 'alert/sem-login-5-dias/cliente-0/2026-01-01',
      playbook: 'sem-login-5-dias',
      clientId: 'cliente-0',
      period: '2026-01-01',
      at: '2026-01-01T00:00:00.000Z',
      to: 'victim@elsewhere.example',
      template: 'sentimos-sua-falta',
      subject: 'Forged',
      variables: {},
    });
    await until(pipeline, 'the forged e-mail dead-lettered', async () =>
      (await world.deadLetters()).some(
        (d) => (d.body.reason as { code: string }).code === 'output_forged',
      ),
    );
    await world.caughtUp(120_000, pipeline);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.filter((r) => r.to === 'victim@elsewhere.example')).toEqual([]);
  });
});
