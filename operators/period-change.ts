/**
 * Change between a window and its previous period ("Diferença de quantidade entre
 * períodos"): absolute, and percent of the previous value. With a previous value of 0 the
 * percent change is undefined (null): growth from nothing has no meaningful percentage.
 */
export interface PeriodChange {
  change: number;
  changePct: number | null;
}

export function periodChange(current: number, previous: number): PeriodChange {
  return { change: current - previous, changePct: changePercent(current, previous) };
}

/** The percent alone, allocating nothing (the rules stage's hot path). */
export function changePercent(current: number, previous: number): number | null {
  // Multiplying first keeps integer percentages exact (50, not 50.00000000000001).
  return previous === 0 ? null : ((current - previous) * 100) / previous;
}
