const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

const DURATION = /^(\d+)(ms|s|m|h|d|w)$/;

/**
 * Parses a duration such as `500ms`, `90s`, `15m`, `12h`, `7d` or `2w` into milliseconds. A bare
 * number is refused: `7` could mean seconds to one reader and days to another.
 * Returns `undefined` for anything else, including zero.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
