/** Turns one pino JSON line into `HH:MM:SS app   LEVEL message key=value …` for humans. */
const COLORS: Record<string, string> = {
  api: '\x1b[36m',
  'session-worker': '\x1b[35m',
  sync: '\x1b[33m',
  'wa-sandbox': '\x1b[32m',
  'ghl-sandbox': '\x1b[34m',
};
const LEVEL_COLORS: Record<string, string> = { error: '\x1b[31m', fatal: '\x1b[31m', warn: '\x1b[33m' };
const SKIP = new Set(['level', 'time', 'msg', 'app', 'instance', 'pid', 'hostname', 'v']);

export function formatLogLine(app: string, line: string): string {
  const prefix = `${COLORS[app] ?? ''}${app.padEnd(14)}\x1b[0m`;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${prefix} ${line}`;
  }
  if (typeof parsed !== 'object' || parsed === null) return `${prefix} ${line}`;
  const time = typeof parsed.time === 'string' ? parsed.time.slice(11, 19) : '';
  const level = typeof parsed.level === 'string' ? parsed.level : 'info';
  const extras = Object.entries(parsed)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const levelText = `${LEVEL_COLORS[level] ?? ''}${level.toUpperCase().padEnd(5)}\x1b[0m`;
  const msg = typeof parsed.msg === 'string' ? parsed.msg : '';
  return `${time} ${prefix} ${levelText} ${msg}${extras ? `  \x1b[2m${extras}\x1b[0m` : ''}`;
}
