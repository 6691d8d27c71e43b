import { describe, expect, it } from 'vitest';
import { chatBody } from './notify.js';
import type { NotifyBody } from '../../../schemas/generated/outputs/notify.js';

const n = (clientId: string): NotifyBody => ({
  id: `notify/p/${clientId}/2026-10-07/2`,
  alertId: `alert/p/${clientId}/2026-10-07`,
  playbook: 'p',
  clientId,
  period: '2026-10-07',
  at: '2026-10-08T00:00:00.000Z',
  csm: 'carla@pulso.example',
  title: 'Sem login <5 dias>',
  message: 'O cliente não faz login & sumiu.',
  summary: [{ description: 'login in the last 5 days = 0', observed: { count: 0 } }],
});

describe('chat payloads', () => {
  it("Slack: a producer's client id cannot mention a whole channel or forge a link", () => {
    const body = chatBody('slack', n('<!channel>'), 'https://g.example/d?var-client=x') as {
      text: string;
      blocks: { text?: { text: string } }[];
    };
    expect(body.text).toBe(
      'Sem login &lt;5 dias&gt; — &lt;!channel&gt;: O cliente não faz login &amp; sumiu.',
    );
    expect(body.blocks[1]!.text!.text).toContain('*&lt;!channel&gt;*');
    expect(JSON.stringify(body)).not.toContain('<!channel>');
  });
});
