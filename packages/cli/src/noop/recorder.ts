// Records what a `-q` check looks at, through the fs module the bundle is given (see trace.ts).
import * as fs from 'node:fs';
import type * as NodeModule from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  envDigest,
  observe,
  writeTrace,
  type Invocation,
  type Kind,
  type TraceStore,
} from './trace-file.js';

/** Modules whose use a file system record cannot vouch for. */
const UNTRACEABLE = new Set([
  'child_process',
  'cluster',
  'dgram',
  'dns',
  'http',
  'http2',
  'https',
  'inspector',
  'net',
  'tls',
  'worker_threads',
]);

/** fs calls that only look: the path argument's record is taken before the call. */
const LOOKS: Record<string, Kind> = {
  access: 's',
  accessSync: 's',
  createReadStream: 's',
  existsSync: 's',
  open: 's',
  openSync: 's',
  opendir: 's',
  opendirSync: 's',
  readFile: 's',
  readFileSync: 's',
  readdir: 's',
  readdirSync: 's',
  stat: 's',
  statSync: 's',
  lstat: 'l',
  lstatSync: 'l',
  realpath: 'p',
  realpathSync: 'p',
  readlink: 'k',
  readlinkSync: 'k',
};

/** fs calls on descriptors or handles that a recorded open already accounts for. */
const HARMLESS = new Set([
  'close',
  'closeSync',
  'fstat',
  'fstatSync',
  'read',
  'readSync',
  'readv',
  'readvSync',
]);

/** Records what one `-q` check sees, and keeps it as a trace if the check may be replayed. */
export class Recorder {
  readonly #inv: Invocation;
  readonly #store: TraceStore;
  readonly #started = Date.now();
  /** By `kind TAB path`: what the call found. */
  readonly #records = new Map<string, string>();
  /** Taken at the start: the check may set variables for what it calls. */
  readonly #env: string;
  /** Why this run cannot be traced; the first reason found. */
  #untraceable: string | undefined;
  #fs: typeof fs | undefined;
  #promises: typeof fs.promises | undefined;

  readonly #isBuiltin: (id: string) => boolean;

  constructor(inv: Invocation, store: TraceStore, isBuiltin: (id: string) => boolean) {
    this.#inv = inv;
    this.#store = store;
    this.#isBuiltin = isBuiltin;
    this.#env = envDigest(inv.env);
    this.#watchProcess();
  }

  /** The identity of the bundle whose run this records. */
  get bundle(): string {
    return this.#inv.bundle;
  }

  /** Why the run will not be traced, if it will not. */
  get untraceable(): string | undefined {
    return this.#untraceable;
  }

  #refuse(why: string): void {
    this.#untraceable ??= why;
  }

  #record(kind: Kind, path: unknown): void {
    if (this.#untraceable) return;
    let p: string;
    if (typeof path === 'string') p = path;
    else if (path instanceof URL && path.protocol === 'file:') p = fileURLToPath(path);
    else if (typeof path === 'number')
      return; // a descriptor: its open was recorded
    else {
      this.#refuse('a path that is not a string');
      return;
    }
    const abs = resolve(p);
    if (/[\t\n]/.test(abs)) {
      this.#refuse('a path with a tab or newline');
      return;
    }
    const id = `${kind}\t${abs}`;
    if (this.#records.has(id)) return;
    const seen = observe(kind, abs);
    // Changed within a clock tick of the start: a later change might keep the same ctime.
    if (seen.ctimeMs !== undefined && seen.ctimeMs > this.#started - racyWindow(seen.ctimeMs))
      this.#refuse(`${abs} changed too recently`);
    else if (/[\t\n]/.test(seen.result)) this.#refuse(`${abs} resolves to a tab or newline`);
    else this.#records.set(id, seen.result);
  }

  /**
   * A recursive listing: every directory it descends into (as Node's does: not through links).
   * Each directory's identity changes when an entry is added, removed or renamed in it.
   */
  #recordTree(path: unknown): void {
    if (typeof path !== 'string') {
      this.#refuse('a recursive listing of a non-string path');
      return;
    }
    this.#record('s', path);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path, { withFileTypes: true });
    } catch {
      return; // the listing fails as the call will, and the record says so
    }
    for (const entry of entries)
      if (entry.isDirectory()) this.#recordTree(resolve(path, entry.name));
  }

  /** Process-wide doors to the world that the records do not cover. */
  #watchProcess(): void {
    // Reading stdin is input the records do not hold; a write to stdout or stderr is an answer
    // other than the exit code (picocolors looks at stdout.isTTY when it loads: that is allowed).
    for (const name of ['stdout', 'stderr', 'stdin'] as const) {
      const desc = Object.getOwnPropertyDescriptor(process, name);
      const get = desc?.get?.bind(process);
      if (!desc?.configurable || !get) {
        this.#refuse(`process.${name} cannot be watched`);
        continue;
      }
      Object.defineProperty(process, name, {
        ...desc,
        get: () => {
          const stream = get() as NodeJS.WriteStream;
          Object.defineProperty(process, name, desc);
          if (name === 'stdin') this.#refuse('process.stdin');
          else {
            stream.write = this.#refusing(`process.${name}.write`, stream.write.bind(stream));
          }
          return stream;
        },
      });
    }
    process.chdir = this.#refusing('process.chdir', process.chdir.bind(process));
    process.emitWarning = this.#refusing('process.emitWarning', process.emitWarning.bind(process));
    process.exit = this.#refusing('process.exit', process.exit.bind(process));
    globalThis.fetch = this.#refusing('fetch', globalThis.fetch.bind(globalThis));
  }

  /** `fn`, which marks the run untraceable whenever it is called (or constructed). */
  #refusing<F extends object>(why: string, fn: F): F {
    return new Proxy(fn, {
      apply: (target, self, args) => {
        this.#refuse(why);
        return Reflect.apply(target as (...a: unknown[]) => unknown, self, args);
      },
      construct: (target, args, newTarget) => {
        this.#refuse(why);
        return Reflect.construct(
          target as new (...a: unknown[]) => object,
          args,
          newTarget,
        ) as object;
      },
    });
  }

  /** `require` for the bundle: fs modules that record, and a refusal for untraceable ones. */
  wrapRequire(real: NodeJS.Require): NodeJS.Require {
    const resolveRefused = this.#refusing('require.resolve', real.resolve);
    return new Proxy(real, {
      apply: (target, self, args: [string]) => {
        const [id] = args;
        const name = id.startsWith('node:') ? id.slice(5) : id;
        if (name === 'fs') return this.#fsModule();
        if (name === 'fs/promises') return this.#promisesModule();
        if (name === 'module') return this.#moduleModule(target(id) as typeof NodeModule);
        if (UNTRACEABLE.has(name)) return this.#refusingModule(name, target(id) as object);
        if (!this.#isBuiltin(name)) this.#refuse(`require(${id})`);
        return Reflect.apply(target, self, args) as unknown;
      },
      get: (target, prop, receiver) =>
        prop === 'resolve' ? resolveRefused : (Reflect.get(target, prop, receiver) as unknown),
    });
  }

  /** A module that may be loaded (modules import it for what they may do) but not used. */
  #refusingModule(name: string, real: object): object {
    const refusing = new Map<PropertyKey, unknown>();
    return new Proxy(real, {
      get: (target, prop, receiver) => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (!refusing.has(prop))
          refusing.set(prop, this.#refusing(`${name}.${String(prop)}`, value));
        return refusing.get(prop);
      },
    });
  }

  /** node:module whose createRequire gives a `require` that refuses when used (fflate's, say). */
  #moduleModule(real: typeof NodeModule): typeof NodeModule {
    const createRequire = (from: string | URL): NodeJS.Require => {
      const inner = real.createRequire(from);
      const resolveRefused = this.#refusing('a created require.resolve', inner.resolve);
      return new Proxy(this.#refusing('a created require', inner), {
        get: (target, prop, receiver) =>
          prop === 'resolve' ? resolveRefused : (Reflect.get(target, prop, receiver) as unknown),
      });
    };
    return new Proxy(real, {
      get: (target, prop, receiver) => {
        if (prop === 'createRequire') return createRequire;
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value === 'function' && prop !== 'isBuiltin')
          this.#refuse(`module.${String(prop)}`);
        return value;
      },
    });
  }

  #fsModule(): typeof fs {
    this.#fs ??= this.#wrapModule(fs, (name) =>
      name === 'promises' ? this.#promisesModule() : undefined,
    );
    return this.#fs;
  }

  #promisesModule(): typeof fs.promises {
    this.#promises ??= this.#wrapModule(fs.promises, () => undefined);
    return this.#promises;
  }

  #wrapModule<T extends object>(real: T, special: (name: string) => unknown): T {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(real)) {
      const value = (real as Record<string, unknown>)[name];
      const replaced = special(name);
      if (replaced !== undefined) out[name] = replaced;
      else if (typeof value !== 'function' || /^[A-Z]/.test(name)) out[name] = value;
      else out[name] = this.#wrapCall(name, value as (...args: unknown[]) => unknown);
    }
    return out as T;
  }

  #wrapCall(name: string, real: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    const kind = LOOKS[name];
    const call = (...args: unknown[]): unknown => {
      if (kind) {
        if (name.startsWith('open') && !readOnly(args[1])) this.#refuse(`${name} to write`);
        else if (name.startsWith('readdir') && isRecursive(args[1])) this.#recordTree(args[0]);
        else this.#record(kind, args[0]);
      } else if (!HARMLESS.has(name)) this.#refuse(`fs.${name}`);
      return real(...args);
    };
    // realpathSync.native and realpath.native: the same look, by the system's own call.
    const native = (real as { native?: (...args: unknown[]) => unknown }).native;
    if (native)
      (call as unknown as { native: unknown }).native = (...args: unknown[]): unknown => {
        this.#record('p', args[0]);
        return native(...args);
      };
    return call;
  }

  /** At the end of the run: keeps the trace if the check answered 0 and may be replayed. */
  finish(exitCode: unknown): void {
    if (exitCode !== 0 || this.#untraceable) return;
    writeTrace(this.#inv, this.#env, this.#records, this.#store);
  }
}

/** lbuild's racy window: two seconds where times are whole seconds, else more than a tick. */
function racyWindow(ctimeMs: number): number {
  return ctimeMs % 1000 === 0 ? 2000 : 50;
}

function readOnly(flags: unknown): boolean {
  return flags === undefined || flags === 'r' || flags === fs.constants.O_RDONLY;
}

function isRecursive(options: unknown): boolean {
  return typeof options === 'object' && options !== null && 'recursive' in options
    ? Boolean((options as { recursive?: unknown }).recursive)
    : false;
}
