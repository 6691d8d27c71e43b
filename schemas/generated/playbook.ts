/* Generated from the JSON Schemas by schemas/generate.ts (`npm run schemas`). Do not edit. */

export interface PlaybookFile {
  playbooks: {
    /**
     * Stable id: part of every output id and subject.
     */
    id: string;
    title: string;
    category: string;
    description: string;
    enabled: boolean;
    /**
     * daily, weekly (Monday midnight) or monthly (the 1st) in windows.timeZone; continuous runs every midnight and then rests cooldownDays.
     */
    schedule: {
      every: 'daily' | 'weekly' | 'monthly' | 'continuous';
      cooldownDays?: number;
    };
    filters: {
      attribute: string;
      op: '=' | '!=' | '>' | '>=' | '<' | '<=' | 'in' | 'not in' | 'exists' | 'missing';
      value?: string | number | boolean | (string | number)[];
    }[];
    when:
      | {
          /**
           * @minItems 1
           *
           * Items: One condition: exactly one of the fields.
           */
          all: (
            | {
                /**
                 * Events of one name, one kind or all activity in the last windowDays days, compared with value. Give exactly one of event, kind, all.
                 */
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
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * Distinct active users in the last windowDays days.
                 */
                activeUsers: {
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * Change between the last windowDays days and the windowDays before them.
                 */
                change: {
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
                  mode: 'absolute' | 'percent';
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                  /**
                   * A percent change from 0 is undefined: skip (default) or fire when the current count is above 0.
                   */
                  whenPreviousZero: 'skip' | 'fire';
                };
              }
            | {
                /**
                 * Comparison between two events (Comparativo entre indicadores).
                 */
                ratio: {
                  a: string;
                  b: string;
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  /**
                   * Percent: A used value% more than B means (A − B) / B × 100 op value.
                   */
                  value: number;
                  scope: 'client' | 'anyUser' | 'shareOfUsers';
                  /**
                   * For shareOfUsers: percent of users that must hold.
                   */
                  share?: number;
                  /**
                   * A + B below this is noise and never fires.
                   */
                  minVolume?: number;
                  /**
                   * For per-user scopes: the id of a pair in windows.ratios with perUser true (default <a>_vs_<b>).
                   */
                  pair?: string;
                };
              }
            | {
                /**
                 * No event of a name, kind or any for more than moreThanDays × 24 h before the evaluation.
                 */
                inactivity: {
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
                  moreThanDays: number;
                };
              }
            | {
                /**
                 * An aggregate of a business metric's values in the window.
                 */
                metric: {
                  name: string;
                  aggregate: 'sum' | 'avg' | 'last' | 'count' | 'nps' | 'csat';
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * The client's health score, band, a drop within some days, or its change over some days (trend).
                 */
                health:
                  | {
                      score: {
                        /**
                         * Comparison operator.
                         */
                        op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                        value: number;
                      };
                    }
                  | {
                      band: 'green' | 'yellow' | 'red';
                    }
                  | {
                      drop: {
                        points: number;
                        withinDays: number;
                      };
                    }
                  | {
                      /**
                       * The score's change over the last days: the score now minus the score at the midnight that many days before (a rise is positive). Not met while the client has no score that old.
                       */
                      trend: {
                        days: number;
                        /**
                         * Comparison operator.
                         */
                        op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                        value: number;
                      };
                    };
              }
          )[];
        }
      | {
          /**
           * @minItems 1
           *
           * Items: One condition: exactly one of the fields.
           */
          any: (
            | {
                /**
                 * Events of one name, one kind or all activity in the last windowDays days, compared with value. Give exactly one of event, kind, all.
                 */
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
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * Distinct active users in the last windowDays days.
                 */
                activeUsers: {
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * Change between the last windowDays days and the windowDays before them.
                 */
                change: {
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
                  mode: 'absolute' | 'percent';
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                  /**
                   * A percent change from 0 is undefined: skip (default) or fire when the current count is above 0.
                   */
                  whenPreviousZero: 'skip' | 'fire';
                };
              }
            | {
                /**
                 * Comparison between two events (Comparativo entre indicadores).
                 */
                ratio: {
                  a: string;
                  b: string;
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  /**
                   * Percent: A used value% more than B means (A − B) / B × 100 op value.
                   */
                  value: number;
                  scope: 'client' | 'anyUser' | 'shareOfUsers';
                  /**
                   * For shareOfUsers: percent of users that must hold.
                   */
                  share?: number;
                  /**
                   * A + B below this is noise and never fires.
                   */
                  minVolume?: number;
                  /**
                   * For per-user scopes: the id of a pair in windows.ratios with perUser true (default <a>_vs_<b>).
                   */
                  pair?: string;
                };
              }
            | {
                /**
                 * No event of a name, kind or any for more than moreThanDays × 24 h before the evaluation.
                 */
                inactivity: {
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
                  moreThanDays: number;
                };
              }
            | {
                /**
                 * An aggregate of a business metric's values in the window.
                 */
                metric: {
                  name: string;
                  aggregate: 'sum' | 'avg' | 'last' | 'count' | 'nps' | 'csat';
                  windowDays: number;
                  /**
                   * Comparison operator.
                   */
                  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                  value: number;
                };
              }
            | {
                /**
                 * The client's health score, band, a drop within some days, or its change over some days (trend).
                 */
                health:
                  | {
                      score: {
                        /**
                         * Comparison operator.
                         */
                        op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                        value: number;
                      };
                    }
                  | {
                      band: 'green' | 'yellow' | 'red';
                    }
                  | {
                      drop: {
                        points: number;
                        withinDays: number;
                      };
                    }
                  | {
                      /**
                       * The score's change over the last days: the score now minus the score at the midnight that many days before (a rise is positive). Not met while the client has no score that old.
                       */
                      trend: {
                        days: number;
                        /**
                         * Comparison operator.
                         */
                        op: '=' | '!=' | '>' | '>=' | '<' | '<=';
                        value: number;
                      };
                    };
              }
          )[];
        };
    /**
     * @minItems 1
     *
     * Items: One action: exactly one of the fields.
     */
    actions: (
      | {
          /**
           * Points added to (or, negative, taken from) the health score.
           */
          health: number;
        }
      | {
          /**
           * A task for the client's CSM.
           */
          task: {
            title: string;
            dueInDays: number;
            description?: string;
          };
        }
      | {
          tag:
            | {
                add: string;
              }
            | {
                remove: string;
              };
        }
      | {
          /**
           * A notification to the client's CSM.
           */
          notifyCsm: {
            message: string;
          };
        }
      | {
          /**
           * An e-mail to the client, left in the outbox (cs.email.>) for a mail sender.
           */
          email: {
            template: string;
            subject: string;
          };
        }
      | {
          /**
           * An HTTP POST of the alert, signed (Standard Webhooks), retried until accepted.
           */
          webhook: {
            url: string;
            /**
             * Environment variable holding the Standard Webhooks signing secret, whsec_<base64> (two, space-separated, while the receiver rotates); not PULSO_…, which are configuration keys.
             */
            secretEnv?: string;
          };
        }
    )[];
    /**
     * When Pulso closes the tasks this playbook opens: twin — when the playbook named in twin fires for the client; recovered — at this playbook's next run, if its conditions no longer hold; never — only a person does.
     */
    closeWhen: 'twin' | 'recovered' | 'never';
    /**
     * The positive twin (a playbook id): with closeWhen twin, its firing closes this playbook's open tasks for the client.
     */
    twin?: string;
  }[];
}
