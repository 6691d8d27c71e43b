/**
 * Interning: every client, user and event name becomes a small integer once, so per-event
 * work hashes numbers and state holds no repeated strings.
 */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];

  id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(s, i);
      this.names.push(s);
    }
    return i;
  }

  find(s: string): number | undefined {
    return this.ids.get(s);
  }

  name(i: number): string {
    return this.names[i]!;
  }

  get size(): number {
    return this.names.length;
  }

  static restore(names: string[]): Interner {
    const t = new Interner();
    for (const n of names) t.id(n);
    return t;
  }
}
