/**
 * The pipeline's counters, kept in a Prometheus registry (prom-client) and readable in
 * process for the periodic stats log line and the tests.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';

export class IngestMetrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({
    name: 'pulso_events_accepted_total',
    help: 'Valid tracking events written',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly clientUpdates = new Counter({
    name: 'pulso_client_updates_total',
    help: 'Valid client attribute updates applied',
    registers: [this.registry],
  });
  readonly invalid = new Counter({
    name: 'pulso_dead_letters_total',
    help: 'Inputs refused and dead-lettered',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'pulso_messages_total',
    help: 'JetStream messages processed',
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: 'pulso_batches_total',
    help: 'Micro-batches acknowledged',
    registers: [this.registry],
  });
  readonly rowsWritten = new Counter({
    name: 'pulso_questdb_rows_written_total',
    help: 'Rows QuestDB accepted',
    registers: [this.registry],
  });
  readonly writeFailures = new Counter({
    name: 'pulso_questdb_write_failures_total',
    help: 'Failed QuestDB write attempts (retried)',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'pulso_messages_in_flight',
    help: 'Messages received and not yet acknowledged',
    registers: [this.registry],
  });

  /** Plain totals, for logs and tests. */
  async snapshot(): Promise<{
    accepted: number;
    invalid: number;
    clientUpdates: number;
    messages: number;
    byReason: Record<string, number>;
  }> {
    const sum = async (c: Counter) => (await c.get()).values.reduce((a, v) => a + v.value, 0);
    const byReason: Record<string, number> = {};
    for (const v of (await this.invalid.get()).values) byReason[String(v.labels.reason)] = v.value;
    return {
      accepted: await sum(this.accepted),
      invalid: await sum(this.invalid),
      clientUpdates: await sum(this.clientUpdates),
      messages: await sum(this.messages),
      byReason,
    };
  }

  serve(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void this.registry
        .metrics()
        .then((text) =>
          res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text),
        );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }
}
