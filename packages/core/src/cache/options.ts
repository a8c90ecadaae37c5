import type { CacheStore } from './store.js';

/**
 * The shared build cache of one build (constructive traces). Absent: no cache (mode "off").
 * The library reads no environment: the CLI turns settings and variables into this.
 */
export interface CacheOptions {
  /** Where entries are looked up, in order: the local directory first, then a remote store. */
  stores: CacheStore[];
  /** `read`: restore hits, store nothing (pull-request builds). */
  mode: 'read-write' | 'read';
  /**
   * HMAC-SHA256 key: entries written are signed, and entries read must carry a valid signature
   * (an unsigned or badly signed one is a miss with a warning). Never logged, never in a key.
   */
  signingKey?: string;
}
