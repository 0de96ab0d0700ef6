import { createInterface } from 'node:readline';
import pino from 'pino';
import type { DriverRequest, DriverStats } from '@app/wa-sandbox-client';
import { LoopDelayMonitor } from '../common/loop-delay';
import { muteLibsignalConsole } from '../common/mute-libsignal';
import { DriverSession, type SessionEventOut } from './driver-session';

/**
 * A process that runs real Baileys sockets for tests and benchmarks, driven by JSON lines:
 * commands on stdin, events on stdout (see libs/wa-sandbox-client/src/driver-protocol.ts). Start it
 * with the sandbox trust preload: `node -r dist/libs/wa-sandbox-client/src/trust-preload.js <this>`.
 * Diagnostics go to stderr; Baileys' own log level comes from WA_DRIVER_BAILEYS_LOG (silent).
 */

muteLibsignalConsole();
const baileysLogger = pino({ level: process.env.WA_DRIVER_BAILEYS_LOG ?? 'silent' }, pino.destination(2));
const sessions = new Map<string, DriverSession>();
const loopDelay = new LoopDelayMonitor();

function emit(event: SessionEventOut): void {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
}

function session(name: string): DriverSession {
  const found = sessions.get(name);
  if (!found) throw new Error(`no session ${name}`);
  return found;
}

function stats(): DriverStats {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    pid: process.pid,
    sessions: sessions.size,
    open: [...sessions.values()].filter((s) => s.isOpen).length,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    eventLoopDelay: loopDelay.current(),
  };
}

function shutdown(): void {
  for (const s of sessions.values()) s.end();
  // Let the final auth writes and result lines flush.
  setTimeout(() => process.exit(0), 100);
}

async function execute(request: DriverRequest): Promise<unknown> {
  switch (request.op) {
    case 'connect': {
      if (sessions.has(request.session)) throw new Error(`session ${request.session} exists`);
      const created = new DriverSession(request.session, request.options, emit, baileysLogger);
      sessions.set(request.session, created);
      created.start();
      return undefined;
    }
    case 'reconnect':
      session(request.session).reconnect();
      return undefined;
    case 'sendText':
      return session(request.session).sendText(request.to, request.text);
    case 'read':
      return session(request.session).read(request.keys);
    case 'end':
      session(request.session).end();
      sessions.delete(request.session);
      return undefined;
    case 'logout':
      await session(request.session).logout();
      sessions.delete(request.session);
      return undefined;
    case 'requestPairingCode':
      return session(request.session).requestPairingCode(request.phone);
    case 'saveAuth':
      session(request.session).saveAuth();
      return undefined;
    case 'info':
      return session(request.session).info();
    case 'stats':
      return stats();
    case 'shutdown':
      shutdown();
      return undefined;
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let request: DriverRequest;
  try {
    request = JSON.parse(line) as DriverRequest;
  } catch {
    emit({ type: 'log', level: 'error', message: `not JSON: ${line.slice(0, 200)}` });
    return;
  }
  execute(request).then(
    (data) =>
      emit({ type: 'result', reqId: request.reqId, ok: true, ...(data === undefined ? {} : { data }) }),
    (error: unknown) =>
      emit({
        type: 'result',
        reqId: request.reqId,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
lines.on('close', shutdown);
process.on('unhandledRejection', (error) => {
  emit({
    type: 'log',
    level: 'error',
    message: `unhandled rejection: ${error instanceof Error ? error.stack : String(error)}`,
  });
});
emit({ type: 'ready', pid: process.pid });
