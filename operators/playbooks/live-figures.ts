/**
 * The figures as the live pipeline holds them: the operators' state, read just before a
 * boundary is applied (see `UsageState.apply`), so every window ends exactly there.
 */
import type { UsageState } from '../usage-figures.js';
import type { AttributeValue, FigureView } from './figure-view.js';
import { subjectKey } from './figure-view.js';
import type { Subject } from './playbook.js';

export class LiveFigures implements FigureView {
  /** The evaluation day: windows end at its start. Set before each evaluation. */
  day = 0;

  constructor(
    private readonly usage: UsageState,
    private readonly attributes: (clientId: string, name: string) => AttributeValue | undefined,
    private readonly known: (clientId: string) => number | undefined,
  ) {}

  count(clientId: string, of: Subject, n: number, period: 'current' | 'previous'): number {
    const to = period === 'current' ? this.day : this.day - n;
    const k = subjectKey(of);
    const figure = k.scope === 'client' ? 'all' : k.scope;
    return this.usage.rolling.countOf(clientId, figure, k.name, to - n, to);
  }

  activeUsers(clientId: string, n: number, period: 'current' | 'previous'): number {
    const to = period === 'current' ? this.day : this.day - n;
    return this.usage.users.activeOf(clientId, to - n, to);
  }

  lastSeen(clientId: string, of: Subject): number | undefined {
    const k = subjectKey(of);
    return this.usage.lastSeen.getBeforeBoundary(clientId, k.scope, k.name);
  }

  metric(clientId: string, name: string, n: number) {
    return this.usage.metrics.aggregateOf(clientId, name, this.day - n, this.day);
  }

  users(clientId: string, pair: string, n: number) {
    return this.usage.ratios.usersOf(clientId, pair, this.day - n, this.day);
  }

  attribute(clientId: string, name: string): AttributeValue | undefined {
    return this.attributes(clientId, name);
  }

  knownSince(clientId: string): number | undefined {
    return this.known(clientId);
  }
}
