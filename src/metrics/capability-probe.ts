/**
 * Whether the FHIR target's CapabilityStatement can be read, for /readyz and the console: read at most
 * once per `ttlMs` (a failure is retried sooner), never waiting longer than `waitMs` for an answer
 * (a slow target is reported as such; the read goes on and its answer is kept for the next check).
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { FhirTarget } from '../fhir/port.js';
import { toOutcome } from '../outcomes.js';

export interface CapabilityState {
  ok: boolean;
  /** When the statement was last read successfully. */
  readAt?: string;
  fhirVersion?: string;
  software?: string;
  /** Why it could not be read (the target's answer, or that it did not answer). */
  reason?: string;
  checkedAt?: string;
}

export class CapabilityProbe {
  private state: CapabilityState = { ok: false, reason: 'not read yet' };
  private inflight: Promise<void> | undefined;
  private lastCheck = 0;

  constructor(
    private readonly target: () => Pick<FhirTarget, 'capabilities'> | undefined,
    private readonly ttlMs = 60_000,
    private readonly failureTtlMs = 5_000,
    private readonly waitMs = 3_000
  ) {}

  /** The state, read again first when it is older than the TTL. */
  async check(now = Date.now()): Promise<CapabilityState> {
    const ttl = this.state.ok ? this.ttlMs : this.failureTtlMs;
    if (now - this.lastCheck >= ttl) {
      this.lastCheck = now;
      this.inflight ??= this.read().finally(() => {
        this.inflight = undefined;
      });
    }
    if (this.inflight) {
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        this.inflight.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.waitMs);
        }),
      ]);
      clearTimeout(timer);
      if (!waited && !this.state.readAt) {
        return { ...this.state, ok: false, reason: `the target did not answer within ${this.waitMs / 1000} s` };
      }
    }
    return this.state;
  }

  /** The last known state, without reading. */
  last(): CapabilityState {
    return this.state;
  }

  private async read(): Promise<void> {
    const target = this.target();
    const checkedAt = new Date().toISOString();
    if (!target) {
      this.state = { ok: false, reason: 'the target is not set up yet', checkedAt };
      return;
    }
    try {
      const cs: CapabilityStatement = await target.capabilities();
      this.state = {
        ok: true,
        readAt: checkedAt,
        checkedAt,
        ...(cs.fhirVersion ? { fhirVersion: cs.fhirVersion } : {}),
        ...(cs.software?.name ? { software: [cs.software.name, cs.software.version].filter(Boolean).join(' ') } : {}),
      };
    } catch (err) {
      const o = toOutcome(err);
      // Keep when it was last read: the sync trusts a statement for SYNC_CAPABILITIES_TTL_MS.
      this.state = { ok: false, ...(this.state.readAt ? { readAt: this.state.readAt } : {}), reason: o.issue?.[0]?.details?.text ?? 'could not be read', checkedAt };
    }
  }
}
