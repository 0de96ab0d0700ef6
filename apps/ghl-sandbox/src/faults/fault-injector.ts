import { randomUUID } from 'node:crypto';
import type { FaultDto, FaultInput } from '@app/ghl-sandbox-client/admin-api.types';

export interface FaultTarget {
  method: string;
  path: string;
  operationId?: string;
  locationId?: string;
}

/**
 * Faults armed through the admin API: 5xx answers, 429 storms, slow answers, dropped connections.
 * Each matches requests by method, path (exact or `prefix*`), operationId and location, and fires a
 * number of times or for a duration. The first live match wins.
 */
export class FaultInjector {
  private readonly faults: FaultDto[] = [];

  add(input: FaultInput, now = Date.now()): FaultDto {
    const fault: FaultDto = {
      ...input,
      id: randomUUID(),
      hits: 0,
      createdAt: new Date(now).toISOString(),
      ...(input.durationMs !== undefined
        ? { expiresAt: new Date(now + input.durationMs).toISOString() }
        : {}),
    };
    this.faults.push(fault);
    return fault;
  }

  list(now = Date.now()): FaultDto[] {
    this.prune(now);
    return [...this.faults];
  }

  remove(id: string): boolean {
    const index = this.faults.findIndex((f) => f.id === id);
    if (index === -1) return false;
    this.faults.splice(index, 1);
    return true;
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** The fault that answers this request, counting the hit; undefined when none applies. */
  take(target: FaultTarget, now = Date.now()): FaultDto | undefined {
    this.prune(now);
    const fault = this.faults.find((f) => matches(f, target));
    if (!fault) return undefined;
    fault.hits += 1;
    if (fault.times !== undefined && fault.hits >= fault.times) this.remove(fault.id);
    return fault;
  }

  private prune(now: number): void {
    for (const fault of [...this.faults]) {
      if (fault.expiresAt !== undefined && Date.parse(fault.expiresAt) <= now) this.remove(fault.id);
    }
  }
}

function matches(fault: FaultDto, target: FaultTarget): boolean {
  const m = fault.match ?? {};
  if (m.method && m.method.toUpperCase() !== target.method.toUpperCase()) return false;
  if (m.operationId && m.operationId !== target.operationId) return false;
  if (m.locationId && m.locationId !== target.locationId) return false;
  if (m.path) {
    if (m.path.endsWith('*') ? !target.path.startsWith(m.path.slice(0, -1)) : m.path !== target.path)
      return false;
  }
  return true;
}
