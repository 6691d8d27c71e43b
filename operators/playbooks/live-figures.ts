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
  private client = '';
  private clientIndex = -1;
  private readonly subjects = new WeakMap<Subject, number>();
  private seenClient = '';
  private seenIndex = -1;
  private readonly seenSubjects = new WeakMap<Subject, number>();

  constructor(
    private readonly usage: UsageState,
    private readonly attributes: (clientId: string, name: string) => AttributeValue | undefined,
    private readonly known: (clientId: string) => number | undefined,
  ) {}

  count(clientId: string, of: Subject, n: number, period: 'current' | 'previous'): number {
    const to = period === 'current' ? this.day : this.day - n;
    const rolling = this.usage.rolling;
    if (clientId !== this.client) {
      this.client = clientId;
      this.clientIndex = rolling.clientIndex(clientId);
    }
    // Subjects are the playbooks' own objects: resolved once. A subject first seen later
    // (a new event name) is looked up again until it exists.
    let subject = this.subjects.get(of);
    if (subject === undefined || subject < 0) {
      const k = subjectKey(of);
      subject = rolling.subjectIndex(k.scope === 'client' ? 'all' : k.scope, k.name);
      this.subjects.set(of, subject);
    }
    return rolling.countAt(this.clientIndex, subject, to - n, to);
  }

  /** Before each midnight: clients and subjects may have been added or evicted since. */
  reset(day: number): void {
    this.day = day;
    this.client = '';
    this.seenClient = '';
  }

  activeUsers(clientId: string, n: number, period: 'current' | 'previous'): number {
    const to = period === 'current' ? this.day : this.day - n;
    return this.usage.users.activeOf(clientId, to - n, to);
  }

  lastSeen(clientId: string, of: Subject): number | undefined {
    const seen = this.usage.lastSeen;
    if (clientId !== this.seenClient) {
      this.seenClient = clientId;
      this.seenIndex = seen.clientIndex(clientId);
    }
    let subject = this.seenSubjects.get(of);
    if (subject === undefined || subject < 0) {
      const k = subjectKey(of);
      subject = seen.subjectIndex(k.scope, k.name);
      this.seenSubjects.set(of, subject);
    }
    return seen.beforeBoundaryAt(this.seenIndex, subject);
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
