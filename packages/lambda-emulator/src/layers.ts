import { ApiError, invalidParameter, validation } from './api-error.js';
import { RUNTIMES, sha256 } from './store.js';

/** Lambda's own limit on how many layers one function may use. */
export const MAX_FUNCTION_LAYERS = 5;

const LAYER_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
/** arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME (and a version for a version ARN). */
const LAYER_ARN_RE = /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9_-]+)$/;
const LAYER_VERSION_ARN_RE =
  /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9_-]+):([0-9]+)$/;
const ARCHITECTURES = ['x86_64', 'arm64'];

interface LayerVersionRecord {
  version: number;
  code: Buffer;
  codeSha256: string;
  description: string;
  licenseInfo: string | undefined;
  compatibleRuntimes: string[];
  compatibleArchitectures: string[];
  createdDate: string;
}

interface LayerRecord {
  name: string;
  /** Oldest first; deleted versions are gone. */
  versions: LayerVersionRecord[];
  /** Lambda never reuses a version number, not even after a delete. */
  nextVersion: number;
}

/** A layer version as a function's configuration lists it. */
export interface FunctionLayerJson {
  Arn: string;
  CodeSize: number;
}

export interface LayerStoreOptions {
  region: string;
  accountId: string;
  /** The download URL of a layer version's zip (GetLayerVersion's Content.Location). */
  codeUrl: (name: string, version: number) => string;
  now: () => number;
}

const notFound = (): ApiError =>
  new ApiError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.');

function stringList(
  raw: unknown,
  field: string,
  max: number,
  allowed: readonly string[],
): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
    throw validation(`1 validation error detected: Value at '${field}' must be a list of strings`);
  }
  const list = raw as string[];
  if (list.length > max) {
    throw validation(
      `1 validation error detected: Value '[${list.join(', ')}]' at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  const bad = list.find((v) => !allowed.includes(v));
  if (bad !== undefined) {
    throw validation(
      `1 validation error detected: Value '[${list.join(', ')}]' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return [...list];
}

/** Layers and their versions, in one region of one account; no HTTP in here. */
export class LayerStore {
  private readonly layers = new Map<string, LayerRecord>();
  private readonly opts: LayerStoreOptions;

  constructor(opts: LayerStoreOptions) {
    this.opts = opts;
  }

  reset(): void {
    this.layers.clear();
  }

  layerArn(name: string): string {
    return `arn:aws:lambda:${this.opts.region}:${this.opts.accountId}:layer:${name}`;
  }

  /** The layer name in a path's `LayerName`: a name, or a layer ARN of this region and account. */
  parseName(raw: string): string {
    const arn = LAYER_ARN_RE.exec(raw);
    if (arn) {
      if (arn[1] !== this.opts.region || arn[2] !== this.opts.accountId) throw notFound();
      return arn[3] ?? '';
    }
    if (!LAYER_NAME_RE.test(raw)) {
      throw validation(
        `1 validation error detected: Value '${raw}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`,
      );
    }
    return raw;
  }

  private parseVersion(raw: string): number {
    if (!/^[0-9]+$/.test(raw)) {
      throw validation(
        `1 validation error detected: Value '${raw}' at 'versionNumber' failed to satisfy constraint: Member must be a number`,
      );
    }
    return Number(raw);
  }

  private find(name: string, version: number): { layer: LayerRecord; v: LayerVersionRecord } {
    const layer = this.layers.get(name);
    const v = layer?.versions.find((x) => x.version === version);
    if (!layer || !v) throw notFound();
    return { layer, v };
  }

  private versionJson(layer: LayerRecord, v: LayerVersionRecord, withContent: boolean) {
    return {
      ...(withContent
        ? {
            Content: {
              Location: this.opts.codeUrl(layer.name, v.version),
              CodeSha256: v.codeSha256,
              CodeSize: v.code.length,
            },
            LayerArn: this.layerArn(layer.name),
          }
        : {}),
      LayerVersionArn: `${this.layerArn(layer.name)}:${v.version}`,
      Version: v.version,
      Description: v.description,
      CreatedDate: v.createdDate,
      ...(v.compatibleRuntimes.length ? { CompatibleRuntimes: [...v.compatibleRuntimes] } : {}),
      ...(v.compatibleArchitectures.length
        ? { CompatibleArchitectures: [...v.compatibleArchitectures] }
        : {}),
      ...(v.licenseInfo !== undefined ? { LicenseInfo: v.licenseInfo } : {}),
    };
  }

  /** Checks a PublishLayerVersion body before its zip is fetched. */
  validatePublish(body: Record<string, unknown>): void {
    if (typeof body.Content !== 'object' || body.Content === null) {
      throw validation(
        "1 validation error detected: Value null at 'content' failed to satisfy constraint: Member must not be null",
      );
    }
    stringList(body.CompatibleRuntimes, 'compatibleRuntimes', 15, RUNTIMES);
    stringList(body.CompatibleArchitectures, 'compatibleArchitectures', 2, ARCHITECTURES);
    const description = body.Description;
    if (description !== undefined && (typeof description !== 'string' || description.length > 256))
      throw validation(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
      );
    const license = body.LicenseInfo;
    if (license !== undefined && (typeof license !== 'string' || license.length > 512))
      throw validation(
        "1 validation error detected: Value at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to 512",
      );
  }

  publish(rawName: string, body: Record<string, unknown>, code: Buffer): Record<string, unknown> {
    this.validatePublish(body);
    const name = this.parseName(rawName);
    let layer = this.layers.get(name);
    if (!layer) {
      layer = { name, versions: [], nextVersion: 1 };
      this.layers.set(name, layer);
    }
    const v: LayerVersionRecord = {
      version: layer.nextVersion++,
      code,
      codeSha256: sha256(code),
      description: (body.Description as string | undefined) ?? '',
      licenseInfo: body.LicenseInfo as string | undefined,
      compatibleRuntimes: stringList(body.CompatibleRuntimes, 'compatibleRuntimes', 15, RUNTIMES),
      compatibleArchitectures: stringList(
        body.CompatibleArchitectures,
        'compatibleArchitectures',
        2,
        ARCHITECTURES,
      ),
      // Lambda's format: 2024-01-02T03:04:05.678+0000
      createdDate: new Date(this.opts.now()).toISOString().replace('Z', '+0000'),
    };
    layer.versions.push(v);
    return this.versionJson(layer, v, true);
  }

  get(rawName: string, rawVersion: string): Record<string, unknown> {
    const { layer, v } = this.find(this.parseName(rawName), this.parseVersion(rawVersion));
    return this.versionJson(layer, v, true);
  }

  getByArn(arn: string | null): Record<string, unknown> {
    const match = LAYER_VERSION_ARN_RE.exec(arn ?? '');
    if (!match) {
      throw validation(
        `1 validation error detected: Value '${arn ?? ''}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)`,
      );
    }
    if (match[1] !== this.opts.region || match[2] !== this.opts.accountId) throw notFound();
    const { layer, v } = this.find(match[3] ?? '', Number(match[4]));
    return this.versionJson(layer, v, true);
  }

  /** Newest first; a layer without versions (or never published) lists nothing. */
  list(
    rawName: string,
    query: { runtime?: string; architecture?: string; marker?: string; maxItems?: string },
  ): Record<string, unknown> {
    const layer = this.layers.get(this.parseName(rawName));
    if (query.runtime !== undefined && !RUNTIMES.includes(query.runtime)) {
      throw validation(
        `1 validation error detected: Value '${query.runtime}' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [${RUNTIMES.join(', ')}]`,
      );
    }
    if (query.architecture !== undefined && !ARCHITECTURES.includes(query.architecture)) {
      throw validation(
        `1 validation error detected: Value '${query.architecture}' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]`,
      );
    }
    const max = query.maxItems === undefined ? 50 : Number(query.maxItems);
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      throw validation(
        `1 validation error detected: Value '${query.maxItems ?? ''}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 50`,
      );
    }
    const start = query.marker === undefined ? 0 : Number.parseInt(query.marker, 10);
    if (!Number.isInteger(start) || start < 0) {
      throw invalidParameter(`Invalid Marker: ${query.marker ?? ''}`);
    }
    const matching = [...(layer?.versions ?? [])]
      .reverse()
      .filter(
        (v) =>
          (query.runtime === undefined || v.compatibleRuntimes.includes(query.runtime)) &&
          (query.architecture === undefined ||
            v.compatibleArchitectures.includes(query.architecture)),
      );
    const page = matching.slice(start, start + max);
    const next = start + max < matching.length ? String(start + max) : undefined;
    return {
      LayerVersions: layer ? page.map((v) => this.versionJson(layer, v, false)) : [],
      ...(next !== undefined ? { NextMarker: next } : {}),
    };
  }

  /** Every layer with its newest version (ListLayers, without filters). */
  listLayers(): Record<string, unknown> {
    const layers = [...this.layers.values()]
      .filter((l) => l.versions.length > 0)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((l) => ({
        LayerName: l.name,
        LayerArn: this.layerArn(l.name),
        LatestMatchingVersion: this.versionJson(l, l.versions.at(-1) as LayerVersionRecord, false),
      }));
    return { Layers: layers };
  }

  /** Like Lambda: deleting a version that does not exist is no error. */
  delete(rawName: string, rawVersion: string): void {
    const layer = this.layers.get(this.parseName(rawName));
    const version = this.parseVersion(rawVersion);
    if (!layer) return;
    layer.versions = layer.versions.filter((v) => v.version !== version);
  }

  /** The zip of a layer version (for Content.Location). */
  code(name: string, version: number): Buffer | undefined {
    return this.layers.get(name)?.versions.find((v) => v.version === version)?.code;
  }

  /**
   * A function's `Layers` as CreateFunction and UpdateFunctionConfiguration take them: version
   * ARNs of existing versions in this region, at most five, one version per layer. Returns them
   * as the function's configuration lists them.
   */
  resolveFunctionLayers(raw: unknown): FunctionLayerJson[] {
    if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) {
      throw validation(
        "1 validation error detected: Value at 'layers' failed to satisfy constraint: Member must be a list of layer version ARNs",
      );
    }
    const arns = raw as string[];
    if (arns.length > MAX_FUNCTION_LAYERS) {
      throw invalidParameter(`Cannot reference more than ${MAX_FUNCTION_LAYERS} layers.`);
    }
    const seen = new Set<string>();
    return arns.map((arn) => {
      const match = LAYER_VERSION_ARN_RE.exec(arn);
      if (!match) {
        throw validation(
          `1 validation error detected: Value '[${arns.join(', ')}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]`,
        );
      }
      const [, region, account, name = '', version] = match;
      if (region !== this.opts.region) {
        throw invalidParameter(
          `Layers are not in the same region as the function. Layers are expected to be in region ${this.opts.region}.`,
        );
      }
      if (seen.has(`${account ?? ''}:${name}`)) {
        throw invalidParameter(
          'Two different versions of the same layer are not allowed to be referenced in the same function.',
        );
      }
      seen.add(`${account ?? ''}:${name}`);
      const code = account === this.opts.accountId ? this.code(name, Number(version)) : undefined;
      if (code === undefined) throw invalidParameter(`Layer version ${arn} does not exist.`);
      return { Arn: arn, CodeSize: code.length };
    });
  }
}
