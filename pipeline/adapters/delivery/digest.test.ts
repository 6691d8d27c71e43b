import { describe, expect, it } from 'vitest';
import { digestBody, digestsOf, digestWindow, type DigestRows } from './digest.js';

const T = { green: 80, yellow: 60 };
const END = Date.parse('2026-10-08T00:00:00Z');

const rows = (): DigestRows => ({
  clients: [
    { client_id: 'a', csm: 'carla', name: 'A Ltda' },
    { client_id: 'b', csm: 'carla', name: null },
    { client_id: 'c', csm: 'bruno', name: 'C SA' },
    { client_id: 'd', csm: 'bruno', name: 'D' },
    { client_id: 'e', csm: null, name: 'E' },
  ],
  health: [
    { client_id: 'a', score: 75, band: 'yellow', before: 85 }, // green → yellow
    { client_id: 'a', score: 55, band: 'red', before: 75 }, // then → red, the same night
    { client_id: 'b', score: 50, band: 'red', before: 52 }, // red already: not "turned"
    { client_id: 'c', score: 61, band: 'yellow', before: null }, // first score, yellow
    { client_id: 'd', score: 90, band: 'green', before: 70 }, // got better
    { client_id: 'e', score: 10, band: 'red', before: 90 }, // no CSM: in no digest
  ],
  alerts: [
    { client_id: 'b', playbook: 'sem-login-5-dias', title: 'Sem login', period: '2026-10-07' },
    { client_id: 'a', playbook: 'sem-login-5-dias', title: 'Sem login', period: '2026-10-07' },
  ],
  tasks: [
    {
      task_id: 't1',
      client_id: 'a',
      owner: 'carla',
      title: 'Ligar',
      due_at: '2026-10-05T00:00:00Z',
      closed: false,
    },
    {
      task_id: 't2',
      client_id: 'b',
      owner: 'carla',
      title: 'Treinar',
      due_at: '2026-10-09T00:00:00Z',
      closed: false,
    },
    {
      task_id: 't3',
      client_id: 'b',
      owner: 'carla',
      title: 'Feito',
      due_at: '2026-10-01T00:00:00Z',
      closed: true,
    },
    {
      task_id: 't4',
      client_id: 'c',
      owner: 'bruno',
      title: 'Exato',
      due_at: '2026-10-08T00:00:00Z',
      closed: false,
    },
  ],
});

describe('daily digests', () => {
  it('per CSM: clients that turned yellow or red, their alerts, open and overdue tasks', () => {
    const [bruno, carla, ...rest] = digestsOf(rows(), '2026-10-08', END, T);
    expect(rest).toEqual([]);
    expect(carla).toEqual({
      csm: 'carla',
      day: '2026-10-08',
      // a fell from green to red overnight; b was red already.
      turned: [{ clientId: 'a', name: 'A Ltda', band: 'red', score: 55, from: 'green' }],
      alerts: [
        { clientId: 'a', playbook: 'sem-login-5-dias', title: 'Sem login', period: '2026-10-07' },
        { clientId: 'b', playbook: 'sem-login-5-dias', title: 'Sem login', period: '2026-10-07' },
      ],
      // t3 is closed; t1 is past due at the day's end, t2 is not.
      tasks: {
        open: 2,
        overdue: 1,
        late: [{ taskId: 't1', clientId: 'a', title: 'Ligar', dueAt: '2026-10-05T00:00:00.000Z' }],
      },
    });
    // c's first score is yellow; d got better; a task due exactly at the end is not late.
    expect(bruno!.turned).toEqual([
      { clientId: 'c', name: 'C SA', band: 'yellow', score: 61, from: null },
    ]);
    expect(bruno!.tasks).toEqual({ open: 1, overdue: 0, late: [] });
  });

  it('a CSM with nothing to say gets no digest', () => {
    expect(
      digestsOf({ ...rows(), health: [], alerts: [], tasks: [] }, '2026-10-08', END, T),
    ).toEqual([]);
  });

  it("covers the runs after the previous local midnight, up to the day's own", () => {
    expect(digestWindow('2026-10-08', 'America/Sao_Paulo')).toEqual({
      from: Date.parse('2026-10-07T03:00:00Z'),
      to: Date.parse('2026-10-08T03:00:00Z'),
    });
    expect(() => digestWindow('08/10/2026', 'UTC')).toThrow('is not a day');
  });

  it("each tool's shape: Slack blocks, a Teams Adaptive Card, the digest as JSON", () => {
    const [, carla] = digestsOf(rows(), '2026-10-08', END, T);
    const slack = digestBody('slack', carla!, 'https://g.example/d') as {
      text: string;
      blocks: { type: string }[];
    };
    expect(slack.text).toBe(
      'Pulso digest for carla — 2026-10-08: 1 turned yellow or red, 2 new alerts, 2 open tasks (1 overdue)',
    );
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    const teams = digestBody('teams', carla!, 'https://g.example/d') as {
      attachments: { contentType: string; content: { type: string } }[];
    };
    expect(teams.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(teams.attachments[0]!.content.type).toBe('AdaptiveCard');
    expect(digestBody('json', carla!, 'https://g.example/d')).toEqual({
      type: 'digest',
      digest: carla,
      link: 'https://g.example/d',
    });
  });
});
