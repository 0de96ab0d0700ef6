import { faultKinds, type FaultKind, type SandboxStats } from '@app/wa-sandbox-client';
import { LoopDelayMonitor } from '../common/loop-delay';

function zeroFaults(): Record<FaultKind, number> {
  return Object.fromEntries(faultKinds.map((k) => [k, 0])) as Record<FaultKind, number>;
}

/** Cumulative counters since start (or the last reset); gauges are read from the live state. */
export class StatsCounters {
  readonly startedAt = Date.now();
  private readonly loopDelay = new LoopDelayMonitor();
  connectionsAccepted = 0;
  handshakeFailures = 0;
  logins = 0;
  loginFailures = 0;
  pairings = 0;
  /** Logins that arrived while another connection of the same device was still open. */
  doubleConnections = 0;
  unlinks = 0;
  idleDisconnects = 0;
  faults = zeroFaults();
  messagesIn = 0;
  messagesOut = 0;
  offlineQueued = 0;
  /** Messages a closed connection never acknowledged, delivered again. */
  redelivered = 0;
  receiptsIn = 0;
  receiptsOut = 0;

  reset(): void {
    this.connectionsAccepted = 0;
    this.handshakeFailures = 0;
    this.logins = 0;
    this.loginFailures = 0;
    this.pairings = 0;
    this.doubleConnections = 0;
    this.unlinks = 0;
    this.idleDisconnects = 0;
    this.faults = zeroFaults();
    this.messagesIn = 0;
    this.messagesOut = 0;
    this.offlineQueued = 0;
    this.redelivered = 0;
    this.receiptsIn = 0;
    this.receiptsOut = 0;
  }

  report(gauges: {
    openConnections: number;
    loggedIn: number;
    accounts: number;
    devices: number;
    perAccount?: SandboxStats['perAccount'];
  }): SandboxStats {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      process: {
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        cpuUserSeconds: cpu.user / 1e6,
        cpuSystemSeconds: cpu.system / 1e6,
        eventLoopDelay: this.loopDelay.current(),
      },
      accounts: gauges.accounts,
      devices: gauges.devices,
      connections: {
        open: gauges.openConnections,
        loggedIn: gauges.loggedIn,
        accepted: this.connectionsAccepted,
        handshakeFailures: this.handshakeFailures,
      },
      logins: this.logins,
      loginFailures: this.loginFailures,
      pairings: this.pairings,
      doubleConnections: this.doubleConnections,
      faults: { ...this.faults },
      unlinks: this.unlinks,
      idleDisconnects: this.idleDisconnects,
      messages: {
        in: this.messagesIn,
        out: this.messagesOut,
        offlineQueued: this.offlineQueued,
        redelivered: this.redelivered,
        receiptsIn: this.receiptsIn,
        receiptsOut: this.receiptsOut,
      },
      ...(gauges.perAccount ? { perAccount: gauges.perAccount } : {}),
    };
  }
}
