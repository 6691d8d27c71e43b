/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

/**
 * A client's score moved: by a playbook's points, or by its components at a midnight (source _score).
 */
export interface HealthBody {
  /**
   * Deterministic: kind/playbook/client/period[/action]. Also the Nats-Msg-Id.
   */
  id: string;
  clientId: string;
  /**
   * Evaluation time: the local midnight the windows end at.
   */
  at: string;
  period: string;
  /**
   * null for the first score
   */
  before: number | null;
  after: number;
  change: number | null;
  bandBefore: ('green' | 'yellow' | 'red') | null;
  bandAfter: 'green' | 'yellow' | 'red';
  /**
   * The components' score
   */
  base: number;
  /**
   * Playbook points in force (bounded)
   */
  adjustment: number;
  reason:
    | {
        type: 'playbook';
        playbook: string;
        alertId: string;
        points: number;
        conditions: unknown[];
      }
    | {
        type: 'components';
        components: {
          id: string;
          value: number | null;
          points: number;
          contribution: number;
        }[];
        /**
         * The health profile whose weights scored the client, when one took it.
         */
        profile?: string;
      };
}
