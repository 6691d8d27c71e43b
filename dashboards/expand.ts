/**
 * A panel's SQL as QuestDB receives it: Grafana first interpolates the dashboard variables
 * (`$client`, `${segment:singlequote}`), then the plugin expands its macros
 * (`$__timeFilter(col)`, `$__fromTime`, `$__toTime`, `$__sampleByInterval`) — the same
 * rules as questdb-questdb-datasource's pkg/macros. The tests run every panel through this
 * against the real QuestDB.
 */
export interface Expansion {
  from: number;
  to: number;
  /** Grafana's computed interval for the panel, ms. */
  intervalMs: number;
  variables: Record<string, string>;
}

const micros = (ms: number) => `cast(${Math.round(ms * 1000)} as timestamp)`;

/**
 * As the plugin does: whole hours from a day on as days (integer division, so 36 h gives
 * `1d`, as in pkg/macros), else hours, else seconds, else milliseconds (`T`).
 */
export function sampleByInterval(ms: number): string {
  const hours = Math.floor(Math.max(ms / 3_600_000, 0));
  const seconds = Math.floor(Math.max(ms / 1000, 0));
  if (hours > 0)
    return hours >= 24 && ms / 3_600_000 === hours ? `${Math.floor(hours / 24)}d` : `${hours}h`;
  if (seconds > 0) return `${seconds}s`;
  return `${Math.max(1, Math.floor(ms))}T`;
}

export function expand(rawSql: string, e: Expansion): string {
  const variables = rawSql.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(?!__)(\w+)/g,
    (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const value = e.variables[name];
      if (value === undefined) return whole; // Grafana leaves unknown names as written
      if (format === 'singlequote') return `'${value.replace(/'/g, "\\'")}'`;
      if (format === undefined || format === 'raw') return value;
      throw new Error(`variable format ${format} is not expanded here`);
    },
  );
  return variables
    .replace(
      /\$__timeFilter\(\s*([^)]+?)\s*\)/g,
      (_, col: string) => `${col} >= ${micros(e.from)} AND ${col} <= ${micros(e.to)}`,
    )
    .replace(/\$__fromTime\b/g, micros(e.from))
    .replace(/\$__toTime\b/g, micros(e.to))
    .replace(/\$__sampleByInterval\b/g, sampleByInterval(e.intervalMs));
}
