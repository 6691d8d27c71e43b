/**
 * The hand encoders against QuestDB's own client: for random symbols and strings (spaces,
 * commas, `=`, quotes, backslashes, `\r`, `\n`, non-ASCII), the same bytes.
 */
import { createBuffer, SenderOptions, type SenderBuffer } from '@questdb/nodejs-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientRow } from '../../contract/client-directory.js';
import type { TrackingEvent } from '../../../schemas/types.js';
import { usageLine } from './figure-lines.js';
import { clientLine, eventLine } from './row-lines.js';
import { CLIENT_ATTRIBUTES_TABLE, EVENTS_TABLE, USAGE_DAILY_TABLE } from './tables.js';

const RUNS = Number(process.env.PULSO_FUZZ_RUNS ?? 400);
const SEED = Number(process.env.PULSO_FUZZ_SEED ?? 20261201);

/** Our line as the bytes sent (a lone surrogate becomes U+FFFD, as in the client's buffer). */
const bytes = (line: string) => Buffer.from(line, 'utf8').toString('hex');

/** Text made mostly of the characters line protocol must escape. */
const nasty = fc.string({
  unit: fc.oneof(
    fc.constantFrom(' ', ',', '=', '"', '\\', '\r', '\n', 'ç', 'ã', '€', '😀', '\t', "'"),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  minLength: 1,
  maxLength: 20,
});
const ms = fc.integer({ min: 0, max: 4_102_444_800_000 });

/** The client's own buffer, as its Sender fills it (text protocol, version 1). */
const options = new SenderOptions('http::addr=127.0.0.1:1;protocol_version=1;');

async function official(build: (s: SenderBuffer) => unknown): Promise<string> {
  const s = createBuffer(options);
  await build(s);
  return s.toBufferView().toString('hex');
}

describe('line protocol encoders', () => {
  it('raw events encode as the official client encodes them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          clientId: nasty,
          kind: fc.constantFrom('login', 'screen', 'action', 'metric'),
          name: nasty,
          subject: nasty,
          eventId: nasty,
          userId: fc.option(nasty),
          value: fc.double({ noNaN: true, noDefaultInfinity: true }),
          properties: fc.option(nasty),
          ts: ms,
          receivedAt: ms,
          streamSeq: fc.integer({ min: 1, max: 2 ** 40 }),
        }),
        async (r) => {
          const e = r as unknown as TrackingEvent;
          const expected = await official(async (s) => {
            s.table(EVENTS_TABLE)
              .symbol('client_id', e.clientId)
              .symbol('kind', e.kind)
              .symbol('name', e.name)
              .symbol('subject', e.subject)
              .stringColumn('event_id', e.eventId);
            if (e.userId !== null) s.stringColumn('user_id', e.userId);
            s.floatColumn('value', e.value);
            if (e.properties !== null) s.stringColumn('properties', e.properties);
            s.timestampColumn('received_at', e.receivedAt, 'ms').intColumn(
              'stream_seq',
              e.streamSeq,
            );
            await s.at(e.ts, 'ms');
          });
          expect(bytes(eventLine(e))).toBe(expected);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('client attribute rows encode as the official client encodes them', async () => {
    const opt = fc.option(nasty);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          clientId: nasty,
          status: opt,
          plan: opt,
          segment: opt,
          csm: opt,
          updateId: nasty,
          name: opt,
          mrr: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
          attributes: nasty,
          stamps: nasty,
          ts: ms,
        }),
        async (r: ClientRow) => {
          const expected = await official(async (s) => {
            s.table(CLIENT_ATTRIBUTES_TABLE).symbol('client_id', r.clientId);
            if (r.status !== null) s.symbol('status', r.status);
            if (r.plan !== null) s.symbol('plan', r.plan);
            if (r.segment !== null) s.symbol('segment', r.segment);
            if (r.csm !== null) s.symbol('csm', r.csm);
            s.stringColumn('update_id', r.updateId);
            if (r.name !== null) s.stringColumn('name', r.name);
            if (r.mrr !== null) s.floatColumn('mrr', r.mrr);
            s.stringColumn('attributes', r.attributes).stringColumn('stamps', r.stamps);
            await s.at(r.ts, 'ms');
          });
          expect(bytes(clientLine(r))).toBe(expected);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('figure rows with hostile client and event names encode as the official client does', async () => {
    await fc.assert(
      fc.asyncProperty(
        nasty,
        nasty,
        fc.nat(),
        fc.nat(),
        ms,
        ms,
        async (clientId, name, events, users, ts, lastTs) => {
          const row = {
            clientId,
            kind: 'action' as const,
            name,
            events,
            users,
            valueSum: events / 3,
            lastTs,
            ts,
          };
          const expected = await official(async (s) => {
            s.table(USAGE_DAILY_TABLE)
              .symbol('client_id', clientId)
              .symbol('kind', 'action')
              .symbol('name', name)
              .intColumn('events', events)
              .intColumn('users', users)
              .floatColumn('value_sum', row.valueSum)
              .timestampColumn('last_ts', lastTs, 'ms');
            await s.at(ts, 'ms');
          });
          expect(bytes(usageLine(row as never))).toBe(expected);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
