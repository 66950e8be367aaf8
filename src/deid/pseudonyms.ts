/**
 * Pseudonyms and date-shift offsets from the deployment secret DEID_KEY, with HMAC-SHA-256 (as
 * Microsoft's anonymization tool's cryptoHash). The same value under the same key always gives the same
 * pseudonym, so joins work across views, exports and runs; without the key a pseudonym cannot be linked
 * back to its value, and another key gives unrelated pseudonyms.
 */
import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';

/** Relative or absolute literal reference: `[base/]Type/id[/_history/vid]`. */
const REFERENCE = /^(?:.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * Values remembered per generation. Ids recur across resources (a client's id in all its sessions,
 * participants, consents and notes; practitioners everywhere), often further apart than a few thousand
 * resources: 10,000 values cleared at once missed every client of a 100,000-session run. Two
 * generations of 50,000 keep the recent values (about 8 MB each at most) and drop the old ones wholesale.
 */
const MEMO_SIZE = 50_000;

/** A bounded cache of two generations: a hit in the old one is carried into the current one. */
class GenerationalMemo {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  constructor(private readonly size: number) {}

  get(key: string): string | undefined {
    const hit = this.current.get(key);
    if (hit !== undefined) {
      return hit;
    }
    const old = this.previous.get(key);
    if (old !== undefined) {
      this.set(key, old);
    }
    return old;
  }

  set(key: string, value: string): void {
    if (this.current.size >= this.size) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

/** Pseudonymization under one key. */
export interface Pseudonymizer {
  /** 64 hex characters (fits a FHIR id). */
  hash(value: string): string;
  /**
   * Reference-aware hashing: `Patient/x` (or `https://host/fhir/Patient/x/_history/2`) becomes
   * `Patient/<hash(x)>[/_history/2]` so it still points at the pseudonymized resource (whose id is
   * `hash(x)`); a token `system|value` keeps its system; `#contained` stays; anything else is hashed whole.
   */
  reference(value: string): string;
  /** A non-zero whole number of days in [-range, range], fixed for a client pseudonym under this key. */
  offsetDays(clientPseudonym: string, range: number): number;
}

/**
 * Creates the pseudonymizer for a key.
 * @param key - DEID_KEY (the secret; never logged).
 */
export function createPseudonymizer(key: string | Buffer): Pseudonymizer {
  const secret = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const hmac = hmacSha256Hex(secret);
  // The same values recur (a client's id in all its resources, systems, practitioners): remember recent ones.
  const memo = new GenerationalMemo(MEMO_SIZE);
  const hash = (value: string): string => {
    let h = memo.get(value);
    if (h === undefined) {
      h = hmac(value);
      memo.set(value, h);
    }
    return h;
  };
  // A client's date-shift offset is needed for every resource of that client: remember it too.
  const offsets = new GenerationalMemo(MEMO_SIZE);
  return {
    hash,
    reference(value: string): string {
      if (value.startsWith('#')) {
        return value;
      }
      const m = REFERENCE.exec(value);
      if (m) {
        return `${m[1]}/${hash(m[2])}${m[3] ?? ''}`;
      }
      const bar = value.indexOf('|');
      if (bar > 0 && !value.startsWith('urn:')) {
        return `${value.slice(0, bar)}|${hash(value.slice(bar + 1))}`;
      }
      return hash(value);
    },
    offsetDays(clientPseudonym: string, range: number): number {
      // A separate HMAC input (domain separation), so the offset says nothing about the pseudonym.
      let digest = offsets.get(clientPseudonym);
      if (digest === undefined) {
        digest = hmac(`date-shift\u0000${clientPseudonym}`).slice(0, 8);
        offsets.set(clientPseudonym, digest);
      }
      const n = Number.parseInt(digest, 16);
      const magnitude = (n % range) + 1;
      return n & 0x80000000 ? -magnitude : magnitude;
    },
  };
}

const BLOCK = 64;
const MAX_ONE_SHOT = 1024;

/**
 * HMAC-SHA-256 (RFC 2104) as two one-shot hashes over preallocated buffers: about a third faster than a
 * createHmac object per value, which matters at several pseudonyms per resource. Long values, and Node
 * versions without crypto.hash, take createHmac. Both give the same digest (a test holds them equal).
 */
export function hmacSha256Hex(secret: Buffer): (value: string) => string {
  const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: string) => string | Buffer }).hash;
  const slow = (value: string): string => createHmac('sha256', secret).update(value, 'utf8').digest('hex');
  if (!oneShot) {
    return slow;
  }
  const k = secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret;
  const inner = Buffer.alloc(BLOCK + MAX_ONE_SHOT, 0);
  const outer = Buffer.alloc(BLOCK + 32, 0);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (k[i] ?? 0) ^ 0x36;
    outer[i] = (k[i] ?? 0) ^ 0x5c;
  }
  return (value: string): string => {
    if (value.length * 3 > MAX_ONE_SHOT) {
      return slow(value);
    }
    const n = inner.write(value, BLOCK, 'utf8');
    (oneShot('sha256', inner.subarray(0, BLOCK + n), 'buffer') as Buffer).copy(outer, BLOCK);
    return oneShot('sha256', outer, 'hex') as string;
  };
}

/** The id a client reference or id names: `Patient/x`, `https://host/fhir/Patient/x` and `x` all give `x`. */
export function clientIdOf(value: string): string {
  const m = REFERENCE.exec(value);
  return m ? m[2] : value;
}
