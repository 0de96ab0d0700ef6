import type { DeadLetterEntry } from '@app/messaging';
import type { FinalOutcome, ItemResult, ReplayItem, ReplayProgress, ReplayReport } from './replay-run';

/** Plain-text lines of the replay tool: one per event on stdout, progress on stderr. */

const WORDS: Record<FinalOutcome, string> = {
  applied: 'applied',
  skipped: 'skipped (already applied or nothing to write)',
  failed: 'failed',
  no_outcome: 'no outcome',
  not_sent: 'not sent',
};

export function itemLine(item: ReplayItem): string {
  const type = item.envelope?.type ?? 'invalid';
  const id = item.envelope?.id ?? '-';
  return `${item.label.padEnd(14)} ${item.storedAt.toISOString()}  ${type.padEnd(22)} ${id}`;
}

export function resultLine(result: ItemResult): string {
  const extra = [result.ghlMessageId ? `ghl message ${result.ghlMessageId}` : null, result.detail].filter(
    Boolean,
  );
  return `${itemLine(result.item)}  ${result.outcome}${extra.length ? `: ${extra.join('; ')}` : ''}`;
}

export function retryLine(item: ReplayItem, detail: string | null, deliveryCount: number): string {
  return `${item.label}: attempt ${deliveryCount} did not go through, sync retries (${detail ?? 'no reason given'})`;
}

export function progressLine(p: ReplayProgress): string {
  return (
    `progress: ${p.sent} sent of ${p.selected} read, ${p.done} done ` +
    `(applied ${p.counts.applied}, skipped ${p.counts.skipped}, failed ${p.counts.failed + p.counts.not_sent}), ` +
    `${p.perSecond.toFixed(0)} events/s`
  );
}

export function summaryLines(report: ReplayReport): string[] {
  const lines = [
    `run ${report.runId}: ${report.selected} selected, ${report.sent} sent${report.interrupted ? ' (stopped early by Ctrl-C)' : ''}`,
  ];
  const alwaysShown: FinalOutcome[] = ['applied', 'skipped', 'failed'];
  for (const outcome of Object.keys(WORDS) as FinalOutcome[]) {
    if (alwaysShown.includes(outcome) || report.counts[outcome] > 0) {
      lines.push(`  ${WORDS[outcome].padEnd(46)} ${report.counts[outcome]}`);
    }
  }
  lines.push(
    `  took ${(report.elapsedMs / 1000).toFixed(1)} s` +
      (report.throughput > 0 ? `, ${report.throughput.toFixed(0)} events/s` : ''),
  );
  return lines;
}

export function deadLetterLine(entry: DeadLetterEntry): string {
  const where = entry.consumer ? ` in ${entry.consumer}` : '';
  const deliveries = entry.deliveryCount ? ` after ${entry.deliveryCount} deliveries` : '';
  return (
    `DLQ #${String(entry.seq).padEnd(8)} ${entry.storedAt.toISOString()}  ${entry.originalSubject}\n` +
    `    ${entry.errorKind}${where}${deliveries}: ${entry.reason}` +
    (entry.eventId ? `\n    event ${entry.eventId}` : '')
  );
}

/** 0: every event applied or skipped; 1: something failed or is unknown; 130: stopped by Ctrl-C. */
export function exitCodeOf(report: ReplayReport): number {
  if (report.interrupted) return 130;
  const { failed, no_outcome, not_sent } = report.counts;
  return failed + no_outcome + not_sent > 0 ? 1 : 0;
}
