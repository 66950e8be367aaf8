/**
 * What the sync learns about one target's transactions while it runs (issue #9 items 2, 3), beyond its
 * CapabilityStatement, which cannot say either:
 *
 * - **not atomic**: a `transaction` answered 200 with an error in some entry was applied entry by entry
 *   (Medplum without its `transaction-bundles` feature). From then on the target is written in order
 *   (batch Bundles per dependency level where offered, else one request at a time), so a resource is
 *   only referenced once it exists there.
 * - **a smaller limit**: a transaction refused as too large (Medplum with atomic transactions: 400 past 8
 *   entries when any is conditional) lowers the most entries per transaction (the number the refusal
 *   names, else half of what was sent); the refused Bundle is sent again in smaller ones.
 *
 * Learned per process: a restart starts from the CapabilityStatement and SYNC_MAX_BUNDLE_ENTRIES again
 * and learns it anew on the first refusal, which the sync then handles the same way.
 * SYNC_WRITE_MODE=batch and a smaller SYNC_MAX_BUNDLE_ENTRIES make either choice permanent.
 */
import type { Logger } from '../logger.js';
import { lowerTransactionLimit } from './writers/transaction.js';

export class TransactionLimits {
  /** The target applies transactions all-or-nothing, as far as we know. */
  atomic = true;

  constructor(
    private readonly targetName: string,
    /** The most entries per transaction Bundle. */
    public maxEntries: number,
    private readonly logger?: Logger
  ) {}

  /** A transaction came back with `refused` entries refused inside a 200: stop sending transactions. */
  notAtomic(refused: number): void {
    if (this.atomic) {
      this.atomic = false;
      this.logger?.warn('the target applied a transaction partially: it is not atomic; writing in order (batch or sequential) from now on', {
        target: this.targetName,
        refusedEntries: refused,
      });
    }
  }

  /** A transaction of `sent` entries was refused as too large. */
  tooLarge(err: unknown, sent: number): void {
    const next = lowerTransactionLimit(err, sent);
    if (next < this.maxEntries) {
      this.maxEntries = next;
      this.logger?.warn('the target refused a transaction as too large; sending smaller ones', { target: this.targetName, sent, maxEntries: next });
    }
  }
}
