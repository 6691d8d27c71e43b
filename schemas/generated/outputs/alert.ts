/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A playbook fired for a client: the values, thresholds and windows that made it fire, and the actions taken.
 */
export interface AlertBody {
  /**
   * Deterministic: kind/playbook/client/period[/action]. Also the Nats-Msg-Id.
   */
  id: string;
  playbook: {
    id: string;
    title: string;
    category: string;
  };
  clientId: string;
  /**
   * The period the run covered: 2026-11-22, 2026-W47, 2026-10.
   */
  period: string;
  /**
   * Evaluation time: the local midnight the windows end at.
   */
  at: string;
  schedule: 'daily' | 'weekly' | 'monthly' | 'continuous';
  conditions: {
    met: boolean;
    type: 'count' | 'activeUsers' | 'change' | 'ratio' | 'inactivity' | 'metric' | 'health';
    description: string;
    observed: {
      [k: string]: number | string | null | undefined;
    };
    threshold?: {
      op: string;
      value: number | string;
    };
    window?: {
      from: string;
      to: string;
    };
  }[];
  actions: {
    kind: 'health' | 'task' | 'tag' | 'notify' | 'email' | 'webhook';
    id: string;
    [k: string]: unknown | undefined;
  }[];
}
