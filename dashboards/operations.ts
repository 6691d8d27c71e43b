/**
 * Pipeline operations, from `ingest_progress` (one row per QuestDB write, wall-clock time).
 * The same figures are Prometheus metrics on metrics.port (/metrics) for operators who use them.
 */
import { pulsoDashboard, statPanel, timeSeriesPanel } from './panels.js';
import { series, sql } from './questdb.js';

const P = `FROM ingest_progress WHERE $__timeFilter(ts) SAMPLE BY $__sampleByInterval`;

export function operations() {
  return pulsoDashboard(
    'pulso-operations',
    'Pulso · Pipeline operations',
    'Ingest rate, invalid and too-late events, consumer lag, watermark delay and the QuestDB write rate, as the pipeline records them in QuestDB with every write.',
  )
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withPanel(
      timeSeriesPanel(
        'Ingest',
        'Events and messages taken from the tracking stream per interval.',
        series(`SELECT ts, sum(events) events, sum(messages) messages ${P}`),
      ).span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Invalid and too-late events',
        'Inputs dead-lettered (invalid, with a precise reason) and events older than the watermark allowed (too_late), per interval.',
        series(`SELECT ts, sum(dead_letters) invalid, sum(too_late) too_late ${P}`),
      ).span(12),
    )
    .withPanel(
      timeSeriesPanel(
        'Consumer lag',
        'Messages in the tracking stream beyond the last one written, at each write.',
        series(`SELECT ts, max(pending) lag ${P}`),
      ).span(8),
    )
    .withPanel(
      timeSeriesPanel(
        'Lag per partition',
        'Messages in the tracking stream beyond the last one each partition wrote, at its writes: a partition behind the others (a slow worker, a partition taking over) stands out.',
        series(
          `SELECT ts, partition_no, max(pending) lag FROM ingest_progress WHERE $__timeFilter(ts) SAMPLE BY $__sampleByInterval ORDER BY ts`,
        ),
      ).span(24),
    )
    .withPanel(
      timeSeriesPanel(
        'Watermark delay',
        'Wall-clock time minus the watermark: how far behind real time the windows are final (allowed lateness included).',
        series(`SELECT ts, max(datediff('s', watermark, ts)) delay ${P}`),
        's',
      ).span(8),
    )
    .withPanel(
      timeSeriesPanel(
        'QuestDB write rate',
        'Figure and output rows QuestDB accepted per interval.',
        series(`SELECT ts, sum(figure_rows) rows_written ${P}`),
      ).span(8),
    )
    .withPanel(
      statPanel(
        'Stream position written',
        'The tracking-stream sequence whose effects are in QuestDB, in every partition (the lowest over them).',
        sql(
          `SELECT min(w) written_seq FROM (SELECT partition_no, max(written_seq) w FROM ingest_progress WHERE $__timeFilter(ts))`,
        ),
      ).span(24),
    );
}
