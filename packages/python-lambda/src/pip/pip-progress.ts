/** Where a pip run is: what it works on now, and how far it got. */
export interface PipProgress {
  /** Packages pip is done with, of `total` it has found so far (or wheels built, of those to build). */
  done: number;
  total: number;
  unit: 'packages' | 'wheels built';
  /** What pip works on now, e.g. `downloading numpy-2.1.0-cp312-….whl (16.0 MB)`. */
  detail: string;
}

/** Why pip retries a request, from its `WARNING: Retrying (…) after connection broken by '…'`. */
function retryCause(line: string): string {
  if (/Connection refused/i.test(line)) return 'connection refused';
  if (/timed out/i.test(line)) return 'timed out';
  if (/Name or service not known|name resolution|nodename nor servname|getaddrinfo/i.test(line))
    return 'host name not found';
  if (/SSL|CERTIFICATE/i.test(line)) return 'TLS error';
  if (/status=\d|too many \d{3} error responses/i.test(line)) return 'server error';
  return 'connection broken';
}

const lastSegment = (text: string) =>
  text
    .replace(/[?#].*$/, '')
    .split('/')
    .at(-1) ?? text;

/**
 * Follows pip's output, line by line, and reports its progress and index trouble as they
 * happen: a cold wheelhouse can take minutes, and an index that does not answer makes pip retry
 * each request with backoff, silently unless someone reads its output. Lines are the masked ones
 * (see runPip), so nothing reported carries a login.
 */
export class PipOutputWatcher {
  #collected = new Set<string>();
  #toBuild = 0;
  #built = 0;
  #indexes = '';
  readonly #onProgress: ((progress: PipProgress) => void) | undefined;
  readonly #onWarning: ((message: string) => void) | undefined;

  constructor(
    onProgress: ((progress: PipProgress) => void) | undefined,
    onWarning: ((message: string) => void) | undefined,
  ) {
    this.#onProgress = onProgress;
    this.#onWarning = onWarning;
  }

  readonly line = (raw: string): void => {
    const line = raw.trim();
    const indexes = /^Looking in indexes: (.+)$/.exec(line);
    if (indexes !== null) {
      this.#indexes = indexes[1] ?? '';
      return;
    }
    const retry = /^WARNING: Retrying \(Retry\(total=(\d+).*?\)\) after (.*?)'?: (\S+)$/.exec(line);
    if (retry !== null) {
      const left = Number(retry[1]);
      this.#onWarning?.(
        `pip is retrying ${retry[3] ?? ''} (${retryCause(retry[2] ?? '')}; ${left} ${left === 1 ? 'retry' : 'retries'} left)${this.#indexes ? `; indexes: ${this.#indexes}` : ''}`,
      );
      return;
    }
    if (/^WARNING: Connection timed out while downloading/.test(line)) {
      this.#onWarning?.('pip: connection timed out while downloading; retrying');
      return;
    }
    const collecting = /^(Collecting|Processing) (.+?)(?: \(from .*\))?$/.exec(line);
    if (collecting !== null) {
      const what = collecting[2] ?? '';
      this.#collected.add(what);
      this.#report(
        `${collecting[1] === 'Collecting' ? 'collecting' : 'processing'} ${collecting[1] === 'Collecting' ? what : lastSegment(what)}`,
      );
      return;
    }
    const downloading = /^Downloading (\S+)(?: \((.+)\))?$/.exec(line);
    if (downloading !== null) {
      const size = downloading[2] ? ` (${downloading[2]})` : '';
      this.#report(`downloading ${lastSegment(downloading[1] ?? '')}${size}`);
      return;
    }
    const building = /^Building wheels for collected packages: (.+)$/.exec(line);
    if (building !== null) {
      this.#toBuild = (building[1] ?? '').split(',').length;
      return;
    }
    const wheel = /^Building wheel for (\S+)/.exec(line);
    if (wheel !== null && this.#toBuild > 0) {
      if (/\bfinished\b/.test(line)) return;
      this.#onProgress?.({
        done: this.#built,
        total: this.#toBuild,
        unit: 'wheels built',
        detail: `building ${wheel[1] ?? ''}`,
      });
      return;
    }
    const created = /^Created wheel for (\S+?):/.exec(line);
    if (created !== null && this.#toBuild > 0) {
      this.#built++;
      this.#onProgress?.({
        done: this.#built,
        total: this.#toBuild,
        unit: 'wheels built',
        detail: `built ${created[1] ?? ''}`,
      });
      return;
    }
    const saved = /^Saved (.+)$/.exec(line);
    if (saved !== null) {
      const total = this.#collected.size;
      this.#onProgress?.({
        done: total,
        total,
        unit: 'packages',
        detail: `saved ${lastSegment(saved[1] ?? '')}`,
      });
    }
  };

  /** The packages before the current one are done: pip resolves them one at a time. */
  #report(detail: string): void {
    const total = this.#collected.size;
    this.#onProgress?.({ done: Math.max(0, total - 1), total, unit: 'packages', detail });
  }
}
