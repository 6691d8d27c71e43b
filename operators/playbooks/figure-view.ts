/**
 * What the rules stage reads: the figures of one client as of one evaluation time. The
 * live pipeline answers from the operators' state (`liveFigures`); a dry run answers from
 * what QuestDB stored. Conditions see only this interface, so both give the same verdicts.
 */
import type { EventKind } from '../../schemas/types.js';
import type { Activity } from './playbook.js';
import type { MetricFigures } from '../metric-aggregates.js';

export type AttributeValue = string | number | boolean | null;

/** The last N days, or the N days before them (a change compares the two). */
export type WindowPart = 'current' | 'previous';

export interface FigureView {
  /** Events of a subject in the N days before the evaluation day (`previous`: the N before those). */
  count(clientId: string, of: Activity, windowDays: number, which: WindowPart): number;
  activeUsers(clientId: string, windowDays: number, which: WindowPart): number;
  /** The last event of a subject strictly before the evaluation time, epoch ms. */
  lastSeen(clientId: string, of: Activity): number | undefined;
  metric(clientId: string, name: string, windowDays: number): MetricFigures;
  /** Per-user counts of a configured ratio pair over the window. */
  users(
    clientId: string,
    pair: string,
    windowDays: number,
  ): { userId: string; a: number; b: number }[];
  /** A client attribute (status, plan, segment, csm, mrr, name, or a custom one); undefined if never set. */
  attribute(clientId: string, name: string): AttributeValue | undefined;
  /** When the client became known: its first event or attribute update. */
  knownSince(clientId: string): number | undefined;
}

export function activityLabel(of: Activity): string {
  if ('event' in of) return of.event;
  if ('kind' in of) return `${of.kind} events`;
  return 'any event';
}

export function activityKey(of: Activity): { scope: 'event' | 'kind' | 'client'; name: string } {
  if ('event' in of) return { scope: 'event', name: of.event };
  if ('kind' in of) return { scope: 'kind', name: of.kind as EventKind };
  return { scope: 'client', name: '*' };
}
