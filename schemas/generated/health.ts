/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

export interface HealthModel {
  /**
   * Green at or above green, yellow at or above yellow, red below.
   */
  thresholds: {
    green: number;
    yellow: number;
  };
  /**
   * How playbook point changes combine with the computed score.
   */
  adjustments: {
    /**
     * How long a playbook's points stay in the score.
     */
    lastDays: number;
    /**
     * The playbooks' net points are clamped to ±maxPoints.
     */
    maxPoints: number;
  };
  /**
   * @minItems 1
   */
  components: {
    id: string;
    title: string;
    /**
     * Percent of the score; all weights add up to 100.
     */
    weight: number;
    figure:
      | {
          count: {
            /**
             * One event name, e.g. tela:criar_produto.
             */
            event?: string;
            /**
             * One kind of event.
             */
            kind?: 'login' | 'screen' | 'action' | 'metric';
            /**
             * All activity of the client.
             */
            all?: true;
            windowDays: number;
          };
        }
      | {
          activeUsers: {
            windowDays: number;
          };
        }
      | {
          metric: {
            name: string;
            aggregate: 'sum' | 'avg' | 'last' | 'count' | 'nps' | 'csat';
            windowDays: number;
          };
        }
      | {
          /**
           * A numeric client attribute as it stands (days a payment is overdue, MRR change, days to renewal…); a client without it, or with a value that is not a number, scores 0 points.
           */
          attribute: {
            name: string;
          };
        };
    maxPoints: number;
    /**
     * Highest min first: a value gets the points of the first band whose min it reaches.
     *
     * @minItems 1
     */
    bands: {
      min: number;
      points: number;
    }[];
    /**
     * Points when the figure has no value: no survey answer, no ticket to average, no such attribute. Default 0; a neutral middle, or the full points where absence is good news (no payment overdue).
     */
    missingPoints: number;
  }[];
  /**
   * Weights by kind of client (segment, lifecycle stage…): the first profile whose filters all hold gives its weights; a client no profile takes keeps the components' own.
   *
   * @maxItems 50
   */
  profiles: {
    id: string;
    /**
     * Client attribute filters, as a playbook's (all must hold).
     *
     * @minItems 1
     */
    when: {
      attribute: string;
      op: '=' | '!=' | '>' | '>=' | '<' | '<=' | 'in' | 'not in' | 'exists' | 'missing';
      value?: string | number | boolean | (string | number)[];
    }[];
    /**
     * Every component's weight in this profile, by component id; they add up to 100.
     */
    weights: {
      [k: string]: number | undefined;
    };
  }[];
}
