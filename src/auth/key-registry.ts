/**
 * The keys of API_KEYS_FILE as the running service sees them: looked up by the SHA-256 of the
 * presented token, and re-read when the file changes (checked every `intervalMs`, 2 s by default, by
 * its size, modification time and inode, so `keys add` and `keys revoke` take effect within that time
 * without a restart). Polling rather than fs.watch: the file is replaced by rename, which watchers on
 * several platforms lose track of.
 *
 * Fail closed: a file that becomes invalid (or disappears) while the service runs leaves NO key of it
 * valid until it is fixed, and says so in the log once per change; at start an invalid file stops the
 * start (KeysFileError names every problem).
 */
import { statSync } from 'node:fs';
import type { Logger } from '../logger.js';
import { KeysFileError, readKeysFile } from './keys-file.js';
import type { Principal } from './principal.js';

export class KeyRegistry {
  private byHash = new Map<string, Principal>();
  private signature = '';
  private timer?: NodeJS.Timeout;

  /**
   * Reads the file once (throws KeysFileError when invalid, or an Error when missing).
   * @param file - API_KEYS_FILE.
   */
  constructor(
    private readonly file: string,
    private readonly logger?: Pick<Logger, 'info' | 'error'>
  ) {
    const sig = this.currentSignature();
    if (sig === 'missing') {
      throw new Error(`API_KEYS_FILE ${file} does not exist; create it with: npx collateral-fhir keys add --name NAME --role ROLE`);
    }
    this.load(sig, true);
  }

  /** Starts re-reading on change. */
  watch(intervalMs = 2000): void {
    this.timer = setInterval(() => this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The principal of a token hash, if a valid key has it. */
  lookup(tokenSha256: string): Principal | undefined {
    return this.byHash.get(tokenSha256);
  }

  /** How many keys are valid now. */
  get size(): number {
    return this.byHash.size;
  }

  /** Re-reads the file when it changed (called by the timer; tests call it directly). */
  refresh(): void {
    const sig = this.currentSignature();
    if (sig !== this.signature) {
      this.load(sig, false);
    }
  }

  private currentSignature(): string {
    const st = statSync(this.file, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
  }

  private load(sig: string, atStart: boolean): void {
    this.signature = sig;
    try {
      const keys = readKeysFile(this.file);
      this.byHash = new Map(keys.map((k) => [k.tokenSha256, Object.freeze({ name: k.name, roles: Object.freeze([...k.roles]), via: 'api-key' as const })]));
      this.logger?.info(atStart ? 'API keys loaded' : 'API keys reloaded', { keysFile: this.file, keys: this.byHash.size });
    } catch (err) {
      if (atStart) {
        throw err;
      }
      this.byHash = new Map();
      const problems = err instanceof KeysFileError ? err.problems.map((p) => `${p.path}: ${p.message}`) : [sig === 'missing' ? 'file missing' : 'unreadable'];
      this.logger?.error('API keys file invalid: no key of it is accepted until it is fixed', { keysFile: this.file, problems });
    }
  }
}
