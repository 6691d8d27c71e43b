/** Playbook filters over client attributes: `status = active`, `plan in [...]`, `mrr >= 1000`. */
import type { FigureView } from './figure-view.js';
import { compare, type Filter, type Playbook } from './playbook.js';

/** Whether a client passes a playbook's filters. */
export function admitted(p: Playbook, clientId: string, view: FigureView): boolean {
  for (let i = 0; i < p.filters.length; i++) {
    const f = p.filters[i]!;
    if (!admits(f, view.attribute(clientId, f.attribute))) return false;
  }
  return true;
}

export function admits(f: Filter, v: string | number | boolean | null | undefined): boolean {
  switch (f.op) {
    case 'exists':
      return v !== undefined && v !== null;
    case 'missing':
      return v === undefined || v === null;
    case 'in':
      return (
        Array.isArray(f.value) &&
        v !== undefined &&
        v !== null &&
        f.value.includes(v as string | number)
      );
    case 'not in':
      return !(
        Array.isArray(f.value) &&
        v !== undefined &&
        v !== null &&
        f.value.includes(v as string | number)
      );
    case '=':
      return v === f.value;
    case '!=':
      return v !== f.value;
    default:
      return typeof v === 'number' && typeof f.value === 'number' && compare(v, f.op, f.value);
  }
}
