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
  return {
    change: current - previous,
    changePct: previous === 0 ? null : ((current - previous) / previous) * 100,
  };
}
