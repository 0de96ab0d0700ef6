import fc from 'fast-check';

/**
 * How hard the bad-input suites push. In CI every property runs a small, fixed number of cases from a
 * fixed seed, so a run is deterministic and cheap; `npm run fuzz` runs far more.
 *
 * - `FUZZ_FACTOR`: multiplies every property's CI number of cases (`npm run fuzz` uses 20).
 * - `FUZZ_RUNS`: an exact number of cases for every property instead (e.g. to replay one with its seed).
 * - `FUZZ_SEED`: an integer to replay a failure, or `random` for a fresh seed (printed on failure).
 * - `FUZZ_SHRINK=0`: report the first failing case as generated, without shrinking it.
 *
 * A failure prints the seed, the counterexample and the command that replays it.
 */
const DEFAULT_SEED = 20_260_901;

function seedFromEnv(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${raw}`);
  return seed;
}

function positiveFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, not ${raw}`);
  return value;
}

export const FUZZ_SEED = seedFromEnv();
// A fresh seed is said up front, so a run that passes can be repeated too.
if (process.env.FUZZ_SEED === 'random')
  console.log(`fuzz seed ${FUZZ_SEED} (FUZZ_SEED=${FUZZ_SEED} repeats this run)`);
const FUZZ_RUNS = positiveFromEnv('FUZZ_RUNS');
const FUZZ_FACTOR = positiveFromEnv('FUZZ_FACTOR') ?? 1;

/** Cases a property runs: its CI number, scaled, or the exact number asked for. */
function runsFor(ciRuns: number): number {
  return FUZZ_RUNS !== undefined ? Math.round(FUZZ_RUNS) : Math.max(1, Math.round(ciRuns * FUZZ_FACTOR));
}

/** Jest timeout for one property: its CI bound, stretched in proportion to the cases asked for. */
export function propertyTimeoutMs(ciRuns: number, ciTimeoutMs: number): number {
  return Math.ceil((ciTimeoutMs * Math.max(runsFor(ciRuns), ciRuns)) / ciRuns);
}

/**
 * Checks an async property with the run's seed. Every property gets its own seed derived from the run's
 * and its name, so adding a property does not change what the others generate.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  ciRuns: number,
  property: fc.IAsyncPropertyWithHooks<Ts>,
  options: { shrink?: boolean } = {},
): Promise<void> {
  const seed = (FUZZ_SEED ^ hash(name)) | 0;
  const numRuns = runsFor(ciRuns);
  // Shrinking re-runs the property many times: off for properties whose every run takes seconds.
  const endOnFailure = options.shrink === false || process.env.FUZZ_SHRINK === '0';
  const details = await fc.check(property, { seed, numRuns, endOnFailure });
  if (!details.failed) return;
  const scale =
    FUZZ_RUNS !== undefined
      ? ` FUZZ_RUNS=${FUZZ_RUNS}`
      : FUZZ_FACTOR !== 1
        ? ` FUZZ_FACTOR=${FUZZ_FACTOR}`
        : '';
  const { testPath, currentTestName } = expect.getState();
  const title = (currentTestName ?? name).replace(/[\\^$.*+?()[\]{}|']/g, '.');
  const replay = `FUZZ_SEED=${FUZZ_SEED}${scale} npx jest ${testPath ?? ''} -t '${title}'`;
  const error =
    details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  error.message =
    `property "${name}" failed after ${details.numRuns} case(s) (run seed ${FUZZ_SEED}, property seed ${seed}, path ${details.counterexamplePath}).\n` +
    `Counterexample: ${abbreviate(fc.stringify(details.counterexample))}\n` +
    `Replay: ${replay}\n\n${error.message}`;
  throw error;
}

/** Long runs of one character (oversized inputs) shortened, so a failure stays readable. */
function abbreviate(text: string): string {
  const runs = text
    .replace(
      /(\d{1,3},)\1{49,}/g,
      (run, token: string) => `${token}…(${run.length / token.length} × ${token})`,
    )
    .replace(/(.)\1{49,}/g, (run, ch: string) => `${ch.repeat(10)}…(${run.length} × ${JSON.stringify(ch)})`);
  return runs.length > 4_000 ? `${runs.slice(0, 4_000)}… (${runs.length} characters)` : runs;
}

function hash(text: string): number {
  let h = 2_166_136_261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16_777_619);
  return h >>> 0;
}

/** Counts of what a run reached (route → status, command → reply), printed with FUZZ_VERBOSE=1. */
export class Reached {
  private readonly counts = new Map<string, number>();

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  print(): void {
    if (!process.env.FUZZ_VERBOSE) return;
    const lines = [...this.counts.entries()].sort().map(([key, n]) => `${String(n).padStart(6)} ${key}`);
    console.log(lines.join('\n'));
  }
}
