/**
 * The figures as the live pipeline holds them: the operators' state, read just before a
 * boundary is applied (see `UsageState.apply`), so every window ends exactly there.
 */
import type { UsageState } from '../usage-figures.js';
import type { AttributeValue, FigureView, WindowPart } from './figure-view.js';
import { activityKey } from './figure-view.js';
import type { Activity } from './playbook.js';

/**
 * An operator's names resolved to its indexes: the client once per client (the rules
 * stage asks many figures of one client in a row), each subject once — subjects are the
 * playbooks' own objects. A subject not seen yet (a new event name) is asked again.
 */
class Indexes {
  private client = '';
  private clientIndex = -1;
  private readonly subjects = new WeakMap<Activity, number>();

  constructor(
    private readonly findClient: (clientId: string) => number,
    private readonly findActivity: (of: Activity) => number,
  ) {}

  clientOf(clientId: string): number {
    if (clientId !== this.client) {
      this.client = clientId;
      this.clientIndex = this.findClient(clientId);
    }
    return this.clientIndex;
  }

  activityIndex(of: Activity): number {
    let s = this.subjects.get(of);
    if (s === undefined || s < 0) this.subjects.set(of, (s = this.findActivity(of)));
    return s;
  }

  reset(): void {
    this.client = '';
  }
}

export class LiveFigures implements FigureView {
  /** The evaluation day: windows end at its start. Set before each evaluation. */
  day = 0;
  private readonly rolling: Indexes;
  private readonly seen: Indexes;

  constructor(
    private readonly usage: UsageState,
    private readonly attributes: (clientId: string, name: string) => AttributeValue | undefined,
    private readonly known: (clientId: string) => number | undefined,
  ) {
    this.rolling = new Indexes(
      (c) => usage.rolling.clientIndex(c),
      (of) => {
        const k = activityKey(of);
        return usage.rolling.subjectIndex(k.scope === 'client' ? 'all' : k.scope, k.name);
      },
    );
    this.seen = new Indexes(
      (c) => usage.lastSeen.clientIndex(c),
      (of) => {
        const k = activityKey(of);
        return usage.lastSeen.subjectIndex(k.scope, k.name);
      },
    );
  }

  count(clientId: string, of: Activity, n: number, which: WindowPart): number {
    const to = which === 'current' ? this.day : this.day - n;
    const i = this.rolling;
    return this.usage.rolling.countAt(i.clientOf(clientId), i.activityIndex(of), to - n, to);
  }

  /** Before each midnight: clients may have been added or evicted since. */
  reset(day: number): void {
    this.day = day;
    this.rolling.reset();
    this.seen.reset();
  }

  activeUsers(clientId: string, n: number, which: WindowPart): number {
    const to = which === 'current' ? this.day : this.day - n;
    return this.usage.users.activeOf(clientId, to - n, to);
  }

  lastSeen(clientId: string, of: Activity): number | undefined {
    const i = this.seen;
    return this.usage.lastSeen.beforeBoundaryAt(i.clientOf(clientId), i.activityIndex(of));
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
