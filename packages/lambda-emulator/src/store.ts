import { createHash, randomUUID } from 'node:crypto';
import { ApiError, invalidParameter, notFound, validation } from './api-error.js';
import type { FunctionLayerJson, LayerStore } from './layers.js';
import type { FunctionConfigurationJson, SeedFunction } from './types.js';

/** Runtimes the emulator accepts (the values the Lambda API's Runtime enum has for zips). */
export const RUNTIMES: readonly string[] = [
  'nodejs18.x',
  'nodejs20.x',
  'nodejs22.x',
  'nodejs24.x',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'python3.14',
  'python3.15',
  'java17',
  'java21',
  'java25',
  'dotnet8',
  'ruby3.3',
  'ruby3.4',
  'provided.al2',
  'provided.al2023',
];

const NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
const ROLE_RE = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-/]+$/;
const QUALIFIER_RE = /^(\$LATEST|[a-zA-Z0-9_-]+)$/;
/** An empty but valid zip: just the end-of-central-directory record. */
export const EMPTY_ZIP = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);

interface CodeAndConfig {
  code: Buffer;
  codeSha256: string;
  runtime: string | undefined;
  handler: string | undefined;
  role: string;
  description: string;
  timeout: number;
  memorySize: number;
  architectures: string[];
  environment: Record<string, string> | undefined;
  /** Layer versions, in the order the function loads them. */
  layers: FunctionLayerJson[];
}

interface Pending {
  kind: 'create' | 'update';
  completesAt: number;
  failure: { reason: string; reasonCode: string } | undefined;
  /** What to restore when an update fails. */
  previous: CodeAndConfig | undefined;
}

interface VersionRecord {
  version: string;
  snapshot: CodeAndConfig;
  revisionId: string;
  lastModified: string;
  description: string;
}

interface FunctionRecord {
  name: string;
  latest: CodeAndConfig;
  revisionId: string;
  lastModified: string;
  state: 'Pending' | 'Active' | 'Failed';
  stateReason: string | undefined;
  stateReasonCode: string | undefined;
  lastUpdateStatus: 'InProgress' | 'Successful' | 'Failed' | undefined;
  lastUpdateStatusReason: string | undefined;
  lastUpdateStatusReasonCode: string | undefined;
  pending: Pending | undefined;
  versions: VersionRecord[];
  nextVersion: number;
}

export interface FunctionRef {
  name: string;
  qualifier: string | undefined;
}

export interface StoreOptions {
  region: string;
  accountId: string;
  updateDelayMs: number;
  createDelayMs: number;
  codeUrl: (name: string, version: string) => string;
  /** Where functions' `Layers` are looked up. */
  layers: LayerStore;
  now?: () => number;
}

export type CodeSource =
  { zipFile: Buffer } | { s3Bucket: string; s3Key: string; s3ObjectVersion: string | undefined };

/** Everything about functions, versions and update states; no HTTP in here. */
export class FunctionStore {
  private readonly functions = new Map<string, FunctionRecord>();
  readonly opts: StoreOptions;

  constructor(opts: StoreOptions) {
    this.opts = opts;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  arn(name: string, qualifier?: string): string {
    const base = `arn:aws:lambda:${this.opts.region}:${this.opts.accountId}:function:${name}`;
    return qualifier === undefined ? base : `${base}:${qualifier}`;
  }

  reset(): void {
    this.functions.clear();
  }

  names(): string[] {
    return [...this.functions.keys()].sort();
  }

  /** Parses a function name, partial ARN or full ARN, as Lambda accepts them in the path. */
  parseRef(raw: string, queryQualifier?: string): FunctionRef {
    let name: string;
    let qualifier: string | undefined;
    const parts = raw.split(':');
    if (raw.startsWith('arn:')) {
      // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
      if (
        parts.length < 7 ||
        parts.length > 8 ||
        parts[2] !== 'lambda' ||
        parts[5] !== 'function'
      ) {
        throw this.badName(raw);
      }
      if (parts[3] !== this.opts.region) {
        throw invalidParameter(
          `Functions from '${parts[3] ?? ''}' are not reachable in this region ('${this.opts.region}')`,
        );
      }
      if (parts[4] !== this.opts.accountId) throw notFound(raw);
      name = parts[6] ?? '';
      qualifier = parts[7];
    } else if (/^\d{12}:function:/.test(raw)) {
      if (parts.length > 4) throw this.badName(raw);
      if (parts[0] !== this.opts.accountId) throw notFound(raw);
      name = parts[2] ?? '';
      qualifier = parts[3];
    } else {
      if (parts.length > 2) throw this.badName(raw);
      name = parts[0] ?? '';
      qualifier = parts[1];
    }
    if (!NAME_RE.test(name)) throw this.badName(raw);
    if (qualifier !== undefined && queryQualifier !== undefined && qualifier !== queryQualifier) {
      throw invalidParameter(
        'The derived qualifier from the function name does not match the specified qualifier.',
      );
    }
    qualifier ??= queryQualifier;
    if (qualifier !== undefined && !QUALIFIER_RE.test(qualifier)) {
      throw validation(
        `1 validation error detected: Value '${qualifier}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)`,
      );
    }
    return { name, qualifier };
  }

  private badName(raw: string): ApiError {
    return validation(
      `1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
    );
  }

  /** Applies a finished InProgress/Pending change, lazily: state moves with the clock. */
  private settle(fn: FunctionRecord): void {
    const pending = fn.pending;
    if (!pending || this.now() < pending.completesAt) return;
    fn.pending = undefined;
    fn.revisionId = randomUUID();
    if (pending.kind === 'create') {
      if (pending.failure) {
        fn.state = 'Failed';
        fn.stateReason = pending.failure.reason;
        fn.stateReasonCode = pending.failure.reasonCode;
        fn.lastUpdateStatus = 'Failed';
        fn.lastUpdateStatusReason = pending.failure.reason;
        fn.lastUpdateStatusReasonCode = pending.failure.reasonCode;
      } else {
        fn.state = 'Active';
        fn.stateReason = undefined;
        fn.stateReasonCode = undefined;
        fn.lastUpdateStatus = 'Successful';
        fn.lastUpdateStatusReason = undefined;
        fn.lastUpdateStatusReasonCode = undefined;
      }
      return;
    }
    if (pending.failure) {
      if (pending.previous) fn.latest = pending.previous;
      fn.lastUpdateStatus = 'Failed';
      fn.lastUpdateStatusReason = pending.failure.reason;
      fn.lastUpdateStatusReasonCode = pending.failure.reasonCode;
    } else {
      fn.lastUpdateStatus = 'Successful';
      fn.lastUpdateStatusReason = undefined;
      fn.lastUpdateStatusReasonCode = undefined;
    }
  }

  private lookup(ref: FunctionRef): FunctionRecord {
    const fn = this.functions.get(ref.name);
    if (!fn) throw notFound(this.arn(ref.name, ref.qualifier));
    this.settle(fn);
    return fn;
  }

  /** The record, or undefined; settles its state first. */
  peek(name: string): FunctionRecord | undefined {
    const fn = this.functions.get(name);
    if (fn) this.settle(fn);
    return fn;
  }

  private configJson(fn: FunctionRecord, version?: VersionRecord): FunctionConfigurationJson {
    const c = version ? version.snapshot : fn.latest;
    const json: FunctionConfigurationJson = {
      FunctionName: fn.name,
      FunctionArn: this.arn(fn.name, version?.version),
      ...(c.runtime !== undefined ? { Runtime: c.runtime } : {}),
      Role: c.role,
      ...(c.handler !== undefined ? { Handler: c.handler } : {}),
      CodeSize: c.code.length,
      Description: version ? version.description : c.description,
      Timeout: c.timeout,
      MemorySize: c.memorySize,
      LastModified: version ? version.lastModified : fn.lastModified,
      CodeSha256: c.codeSha256,
      Version: version ? version.version : '$LATEST',
      ...(c.environment ? { Environment: { Variables: { ...c.environment } } } : {}),
      // Like Lambda, no Layers at all for a function without layers.
      ...(c.layers.length ? { Layers: c.layers.map((l) => ({ ...l })) } : {}),
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: version ? version.revisionId : fn.revisionId,
      State: version ? 'Active' : fn.state,
      PackageType: 'Zip',
      Architectures: [...c.architectures],
      EphemeralStorage: { Size: 512 },
      LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` },
      SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    };
    if (!version) {
      if (fn.stateReason !== undefined) json.StateReason = fn.stateReason;
      if (fn.stateReasonCode !== undefined) json.StateReasonCode = fn.stateReasonCode;
      if (fn.lastUpdateStatus !== undefined) json.LastUpdateStatus = fn.lastUpdateStatus;
      if (fn.lastUpdateStatusReason !== undefined)
        json.LastUpdateStatusReason = fn.lastUpdateStatusReason;
      if (fn.lastUpdateStatusReasonCode !== undefined) {
        json.LastUpdateStatusReasonCode = fn.lastUpdateStatusReasonCode;
      }
    } else {
      json.LastUpdateStatus = 'Successful';
    }
    return json;
  }

  private resolveVersion(fn: FunctionRecord, ref: FunctionRef): VersionRecord | undefined {
    if (ref.qualifier === undefined || ref.qualifier === '$LATEST') return undefined;
    const v = fn.versions.find((x) => x.version === ref.qualifier);
    if (!v) throw notFound(this.arn(fn.name, ref.qualifier));
    return v;
  }

  getFunctionConfiguration(ref: FunctionRef): FunctionConfigurationJson {
    const fn = this.lookup(ref);
    return this.configJson(fn, this.resolveVersion(fn, ref));
  }

  getFunction(ref: FunctionRef): Record<string, unknown> {
    const fn = this.lookup(ref);
    const version = this.resolveVersion(fn, ref);
    return {
      Configuration: this.configJson(fn, version),
      Code: {
        RepositoryType: 'S3',
        Location: this.opts.codeUrl(fn.name, version?.version ?? '$LATEST'),
      },
      Tags: {},
    };
  }

  /** The code bytes of $LATEST or a version (for the Code.Location download URL). */
  code(name: string, qualifier: string): Buffer | undefined {
    const fn = this.peek(name);
    if (!fn) return undefined;
    if (qualifier === '$LATEST') return fn.latest.code;
    return fn.versions.find((v) => v.version === qualifier)?.snapshot.code;
  }

  listFunctions(): FunctionConfigurationJson[] {
    return this.names().map((name) => {
      const fn = this.lookup({ name, qualifier: undefined });
      return this.configJson(fn);
    });
  }

  listVersions(
    ref: FunctionRef,
    marker: string | undefined,
    maxItems: number | undefined,
  ): Record<string, unknown> {
    const fn = this.lookup(ref);
    const all = [this.configJson(fn), ...fn.versions.map((v) => this.configJson(fn, v))];
    const start = marker === undefined ? 0 : Number.parseInt(marker, 10);
    if (!Number.isInteger(start) || start < 0)
      throw invalidParameter(`Invalid Marker: ${marker ?? ''}`);
    const size = maxItems ?? 50;
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? String(start + size) : undefined;
    return { Versions: page, ...(next !== undefined ? { NextMarker: next } : {}) };
  }

  private stampNow(): string {
    // Lambda's format: 2024-01-02T03:04:05.678+0000
    return new Date(this.now()).toISOString().replace('Z', '+0000');
  }

  private validateConfigFields(body: Record<string, unknown>): void {
    const timeout = body.Timeout;
    if (timeout !== undefined) {
      if (typeof timeout !== 'number' || !Number.isInteger(timeout))
        throw validation(`Timeout must be an integer`);
      if (timeout < 1) {
        throw validation(
          `1 validation error detected: Value '${timeout}' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1`,
        );
      }
      if (timeout > 900) {
        throw validation(
          `1 validation error detected: Value '${timeout}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900`,
        );
      }
    }
    const memory = body.MemorySize;
    if (memory !== undefined) {
      if (typeof memory !== 'number' || !Number.isInteger(memory))
        throw validation(`MemorySize must be an integer`);
      if (memory < 128) {
        throw validation(
          `1 validation error detected: Value '${memory}' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128`,
        );
      }
      if (memory > 10240) {
        throw validation(
          `1 validation error detected: Value '${memory}' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240`,
        );
      }
    }
    const role = body.Role;
    if (role !== undefined && (typeof role !== 'string' || !ROLE_RE.test(role))) {
      throw validation(
        `1 validation error detected: Value '${JSON.stringify(role)}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+`,
      );
    }
    const runtime = body.Runtime;
    if (runtime !== undefined && (typeof runtime !== 'string' || !RUNTIMES.includes(runtime))) {
      throw validation(
        `1 validation error detected: Value '${JSON.stringify(runtime)}' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [${RUNTIMES.join(', ')}]`,
      );
    }
    const handler = body.Handler;
    if (handler !== undefined && (typeof handler !== 'string' || !/^[^\s]{1,128}$/.test(handler))) {
      throw validation(
        `1 validation error detected: Value '${JSON.stringify(handler)}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+`,
      );
    }
    const description = body.Description;
    if (
      description !== undefined &&
      (typeof description !== 'string' || description.length > 256)
    ) {
      throw validation(
        `1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256`,
      );
    }
    const env = body.Environment as { Variables?: unknown } | undefined;
    if (env !== undefined) {
      const vars = env.Variables;
      if (vars !== undefined && (typeof vars !== 'object' || vars === null)) {
        throw invalidParameter('Environment.Variables must be a map of strings');
      }
    }
  }

  private static architectures(raw: unknown): string[] | undefined {
    if (raw === undefined) return undefined;
    const list: unknown[] | undefined = Array.isArray(raw) ? (raw as unknown[]) : undefined;
    const only = list?.length === 1 ? list[0] : undefined;
    if (only !== 'x86_64' && only !== 'arm64') {
      throw validation(
        `1 validation error detected: Value '${JSON.stringify(raw)}' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and each member must satisfy enum value set: [x86_64, arm64]`,
      );
    }
    return [only];
  }

  private static environment(raw: unknown): Record<string, string> | undefined {
    const vars = (raw as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    if (vars === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) out[k] = String(v);
    return out;
  }

  private conflictIfBusy(fn: FunctionRecord): void {
    if (fn.state === 'Pending') {
      throw new ApiError(
        409,
        'ResourceConflictException',
        'The operation cannot be performed at this time. The function is currently in the following state: Pending',
      );
    }
    if (fn.lastUpdateStatus === 'InProgress') {
      throw new ApiError(
        409,
        'ResourceConflictException',
        `The operation cannot be performed at this time. An update is in progress for resource: ${this.arn(fn.name)}`,
      );
    }
  }

  private checkRevision(fn: FunctionRecord, revisionId: unknown): void {
    if (revisionId === undefined || revisionId === null) return;
    if (revisionId !== fn.revisionId) {
      throw new ApiError(
        412,
        'PreconditionFailedException',
        'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
      );
    }
  }

  private startUpdate(
    fn: FunctionRecord,
    previous: CodeAndConfig,
    failure: Pending['failure'],
  ): void {
    fn.revisionId = randomUUID();
    fn.lastModified = this.stampNow();
    fn.lastUpdateStatus = 'InProgress';
    fn.lastUpdateStatusReason = 'The function is being created.';
    fn.lastUpdateStatusReasonCode = 'Creating';
    fn.pending = {
      kind: 'update',
      completesAt: this.now() + this.opts.updateDelayMs,
      failure,
      previous,
    };
    if (this.opts.updateDelayMs <= 0) this.settle(fn);
  }

  private publish(fn: FunctionRecord, description: string | undefined): VersionRecord {
    // Like Lambda: when neither code nor configuration changed since the last version, that
    // version is the answer.
    const last = fn.versions.at(-1);
    if (last && sameSnapshot(last.snapshot, fn.latest)) return last;
    const version: VersionRecord = {
      version: String(fn.nextVersion++),
      snapshot: {
        ...fn.latest,
        architectures: [...fn.latest.architectures],
        layers: [...fn.latest.layers],
      },
      revisionId: randomUUID(),
      lastModified: this.stampNow(),
      description: description ?? fn.latest.description,
    };
    fn.versions.push(version);
    return version;
  }

  seed(seed: SeedFunction): FunctionConfigurationJson {
    if (!NAME_RE.test(seed.name)) throw this.badName(seed.name);
    const code = Buffer.from(seed.code ?? EMPTY_ZIP);
    const fn: FunctionRecord = {
      name: seed.name,
      latest: {
        code,
        codeSha256: sha256(code),
        runtime: seed.runtime ?? 'python3.12',
        handler: seed.handler ?? 'app.handler',
        role: seed.role ?? `arn:aws:iam::${this.opts.accountId}:role/lambda-role`,
        description: seed.description ?? '',
        timeout: seed.timeout ?? 3,
        memorySize: seed.memorySize ?? 128,
        architectures: seed.architectures ?? ['x86_64'],
        environment: seed.environment,
        layers: seed.layers ? this.opts.layers.resolveFunctionLayers(seed.layers) : [],
      },
      revisionId: randomUUID(),
      lastModified: this.stampNow(),
      state: 'Active',
      stateReason: undefined,
      stateReasonCode: undefined,
      lastUpdateStatus: 'Successful',
      lastUpdateStatusReason: undefined,
      lastUpdateStatusReasonCode: undefined,
      pending: undefined,
      versions: [],
      nextVersion: 1,
    };
    this.functions.set(seed.name, fn);
    return this.configJson(fn);
  }

  createFunction(
    body: Record<string, unknown>,
    code: Buffer,
    failure: Pending['failure'],
  ): FunctionConfigurationJson {
    const rawName = body.FunctionName;
    if (typeof rawName !== 'string') throw invalidParameter('FunctionName is required.');
    const ref = this.parseRef(rawName);
    if (ref.qualifier !== undefined) throw invalidParameter('Unqualified function name expected.');
    if (this.functions.has(ref.name)) {
      throw new ApiError(409, 'ResourceConflictException', `Function already exist: ${ref.name}`);
    }
    const fn: FunctionRecord = {
      name: ref.name,
      latest: {
        code,
        codeSha256: sha256(code),
        runtime: body.Runtime as string | undefined,
        handler: body.Handler as string | undefined,
        role: body.Role as string,
        description: (body.Description as string | undefined) ?? '',
        timeout: (body.Timeout as number | undefined) ?? 3,
        memorySize: (body.MemorySize as number | undefined) ?? 128,
        architectures: FunctionStore.architectures(body.Architectures) ?? ['x86_64'],
        environment: FunctionStore.environment(body.Environment),
        layers:
          body.Layers !== undefined ? this.opts.layers.resolveFunctionLayers(body.Layers) : [],
      },
      revisionId: randomUUID(),
      lastModified: this.stampNow(),
      state: 'Pending',
      stateReason: 'The function is being created.',
      stateReasonCode: 'Creating',
      lastUpdateStatus: undefined,
      lastUpdateStatusReason: undefined,
      lastUpdateStatusReasonCode: undefined,
      pending: {
        kind: 'create',
        completesAt: this.now() + this.opts.createDelayMs,
        failure,
        previous: undefined,
      },
      versions: [],
      nextVersion: 1,
    };
    this.functions.set(ref.name, fn);
    if (this.opts.createDelayMs <= 0) this.settle(fn);
    if (body.Publish === true) {
      const v = this.publish(fn, undefined);
      return { ...this.configJson(fn), Version: v.version };
    }
    return this.configJson(fn);
  }

  /** Validates a CreateFunction body before its code is fetched. */
  validateCreate(body: Record<string, unknown>): void {
    if (typeof body.FunctionName !== 'string') throw invalidParameter('FunctionName is required.');
    const ref = this.parseRef(body.FunctionName);
    if (this.functions.has(ref.name)) {
      throw new ApiError(409, 'ResourceConflictException', `Function already exist: ${ref.name}`);
    }
    if (body.PackageType !== undefined && body.PackageType !== 'Zip') {
      throw invalidParameter('lambda-emulator supports PackageType Zip only.');
    }
    if (body.Role === undefined)
      throw validation(
        "1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null",
      );
    if (body.Runtime === undefined || body.Handler === undefined) {
      throw invalidParameter(
        'Runtime and Handler are mandatory parameters for functions created with deployment packages.',
      );
    }
    this.validateConfigFields(body);
    FunctionStore.architectures(body.Architectures);
    if (body.Layers !== undefined) this.opts.layers.resolveFunctionLayers(body.Layers);
    if (body.Code === undefined || typeof body.Code !== 'object') {
      throw validation(
        "1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null",
      );
    }
  }

  /** Checks that UpdateFunctionCode may go ahead; throws the error Lambda would answer. */
  validateUpdateCode(ref: FunctionRef, body: Record<string, unknown>): void {
    const fn = this.lookup(ref);
    if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
      throw invalidParameter('Please do not provide a qualifier for UpdateFunctionCode.');
    }
    FunctionStore.architectures(body.Architectures);
    this.conflictIfBusy(fn);
    this.checkRevision(fn, body.RevisionId);
  }

  updateFunctionCode(
    ref: FunctionRef,
    body: Record<string, unknown>,
    code: Buffer,
    failure: Pending['failure'],
  ): FunctionConfigurationJson {
    this.validateUpdateCode(ref, body);
    const fn = this.lookup(ref);
    const architectures = FunctionStore.architectures(body.Architectures);
    const next: CodeAndConfig = {
      ...fn.latest,
      code,
      codeSha256: sha256(code),
      architectures: architectures ?? fn.latest.architectures,
    };
    if (body.DryRun === true) {
      const json = this.configJson(fn);
      return {
        ...json,
        CodeSha256: next.codeSha256,
        CodeSize: code.length,
        Architectures: next.architectures,
      };
    }
    const previous = fn.latest;
    fn.latest = next;
    this.startUpdate(fn, previous, failure);
    if (body.Publish === true) {
      const v = this.publish(fn, undefined);
      return { ...this.configJson(fn), Version: v.version };
    }
    return this.configJson(fn);
  }

  updateFunctionConfiguration(
    ref: FunctionRef,
    body: Record<string, unknown>,
    failure: Pending['failure'],
  ): FunctionConfigurationJson {
    const fn = this.lookup(ref);
    if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
      throw invalidParameter('Please do not provide a qualifier for UpdateFunctionConfiguration.');
    }
    this.validateConfigFields(body);
    const layers =
      body.Layers !== undefined ? this.opts.layers.resolveFunctionLayers(body.Layers) : undefined;
    this.conflictIfBusy(fn);
    this.checkRevision(fn, body.RevisionId);
    const previous = fn.latest;
    const next: CodeAndConfig = { ...previous };
    if (body.Runtime !== undefined) next.runtime = body.Runtime as string;
    if (body.Handler !== undefined) next.handler = body.Handler as string;
    if (body.Role !== undefined) next.role = body.Role as string;
    if (body.Description !== undefined) next.description = body.Description as string;
    if (body.Timeout !== undefined) next.timeout = body.Timeout as number;
    if (body.MemorySize !== undefined) next.memorySize = body.MemorySize as number;
    if (body.Environment !== undefined)
      next.environment = FunctionStore.environment(body.Environment) ?? {};
    if (layers !== undefined) next.layers = layers;
    fn.latest = next;
    this.startUpdate(fn, previous, failure);
    return this.configJson(fn);
  }

  publishVersion(ref: FunctionRef, body: Record<string, unknown>): FunctionConfigurationJson {
    const fn = this.lookup(ref);
    this.conflictIfBusy(fn);
    this.checkRevision(fn, body.RevisionId);
    const sha = body.CodeSha256;
    if (typeof sha === 'string' && sha !== fn.latest.codeSha256) {
      throw invalidParameter(
        `CodeSHA256 (${sha}) is different from current CodeSHA256 in $LATEST (${fn.latest.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`,
      );
    }
    const v = this.publish(fn, body.Description as string | undefined);
    return this.configJson(fn, v);
  }

  deleteFunction(ref: FunctionRef): void {
    const fn = this.lookup(ref);
    if (ref.qualifier === undefined || ref.qualifier === '$LATEST') {
      if (ref.qualifier === '$LATEST')
        throw invalidParameter('$LATEST version cannot be deleted without deleting the function.');
      this.functions.delete(fn.name);
      return;
    }
    const index = fn.versions.findIndex((v) => v.version === ref.qualifier);
    if (index < 0) throw notFound(this.arn(fn.name, ref.qualifier));
    fn.versions.splice(index, 1);
  }
}

function sameSnapshot(a: CodeAndConfig, b: CodeAndConfig): boolean {
  const env = (e: Record<string, string> | undefined): string =>
    JSON.stringify(Object.entries(e ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return (
    a.codeSha256 === b.codeSha256 &&
    a.runtime === b.runtime &&
    a.handler === b.handler &&
    a.role === b.role &&
    a.description === b.description &&
    a.timeout === b.timeout &&
    a.memorySize === b.memorySize &&
    a.architectures.join() === b.architectures.join() &&
    env(a.environment) === env(b.environment) &&
    a.layers.map((l) => l.Arn).join() === b.layers.map((l) => l.Arn).join()
  );
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}
