import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, invalidParameter } from './api-error.js';
import { FaultQueue, validateFaultRule } from './faults.js';
import { LayerStore } from './layers.js';
import { fetchS3Object } from './s3.js';
import { FunctionStore } from './store.js';
import type { FunctionRef } from './store.js';
import type {
  CallRecord,
  EmulatorOptions,
  Fault,
  FaultRule,
  FunctionConfigurationJson,
  Operation,
  SeedFunction,
} from './types.js';
import { DEFAULT_MAX_REQUEST_BYTES } from './types.js';

/** A running emulator. Everything a test controls in-process is here; the same is over HTTP. */
export interface LambdaEmulator {
  /** `http://127.0.0.1:PORT`: give it to LambdaClient's `endpoint` or AWS_ENDPOINT_URL_LAMBDA. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Queues a fault for the next `times` calls that match. */
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Queued faults not yet used up. */
  pendingFaults(): FaultRule[];
  /** Every call so far, optionally only one operation's and/or one function's. */
  calls(filter?: { operation?: Operation; functionName?: string }): CallRecord[];
  /** How many calls of this operation (for this function) were made. */
  countCalls(operation: Operation, functionName?: string): number;
  clearCalls(): void;
  /** Puts an Active function in place (replacing one of the same name). */
  seedFunction(seed: SeedFunction): FunctionConfigurationJson;
  /** The $LATEST configuration as GetFunctionConfiguration would return it, without recording a call. */
  functionState(name: string): FunctionConfigurationJson | undefined;
  /** The code bytes of $LATEST or a published version. */
  functionCode(name: string, qualifier?: string): Buffer | undefined;
  /** The zip of a layer version, or undefined when there is no such version. */
  layerCode(name: string, version: number): Buffer | undefined;
  /** Changes how long updates stay InProgress (and creates Pending) from now on. */
  setUpdateDelay(ms: number, createMs?: number): void;
  /** Forgets functions, layers, faults and calls. */
  reset(): void;
  close(): Promise<void>;
}

interface Route {
  operation: Operation;
  rawName: string | undefined;
  /** For layer operations: the path's LayerName and VersionNumber. */
  layer?: { name: string | undefined; version: string | undefined };
}

const API = '2015-03-31';
const LAYERS_API = '2018-10-31';

/** The layer operations under /2018-10-31/layers. */
function layerRoute(method: string, segments: string[], query: URLSearchParams): Route | undefined {
  const [, , name, versions, version] = segments;
  const layer = (operation: Operation): Route => ({
    operation,
    rawName: undefined,
    layer: { name, version },
  });
  if (segments.length === 2 && method === 'GET') {
    return layer(query.get('find') === 'LayerVersion' ? 'GetLayerVersionByArn' : 'ListLayers');
  }
  if (!name || versions !== 'versions') return undefined;
  if (segments.length === 4) {
    if (method === 'POST') return layer('PublishLayerVersion');
    if (method === 'GET') return layer('ListLayerVersions');
  }
  if (segments.length === 5 && version) {
    if (method === 'GET') return layer('GetLayerVersion');
    if (method === 'DELETE') return layer('DeleteLayerVersion');
  }
  return undefined;
}

function route(method: string, segments: string[], query: URLSearchParams): Route | undefined {
  if (segments[0] === LAYERS_API && segments[1] === 'layers')
    return layerRoute(method, segments, query);
  if (segments[0] !== API || segments[1] !== 'functions') return undefined;
  const rawName = segments[2];
  const sub = segments[3];
  if (segments.length === 2) {
    if (method === 'POST') return { operation: 'CreateFunction', rawName: undefined };
    if (method === 'GET') return { operation: 'ListFunctions', rawName: undefined };
    return undefined;
  }
  if (rawName === undefined || rawName === '' || segments.length > 4) return undefined;
  if (sub === undefined) {
    if (method === 'GET') return { operation: 'GetFunction', rawName };
    if (method === 'DELETE') return { operation: 'DeleteFunction', rawName };
    return undefined;
  }
  if (sub === 'configuration') {
    if (method === 'GET') return { operation: 'GetFunctionConfiguration', rawName };
    if (method === 'PUT') return { operation: 'UpdateFunctionConfiguration', rawName };
  }
  if (sub === 'code' && method === 'PUT') return { operation: 'UpdateFunctionCode', rawName };
  if (sub === 'versions') {
    if (method === 'POST') return { operation: 'PublishVersion', rawName };
    if (method === 'GET') return { operation: 'ListVersionsByFunction', rawName };
  }
  return undefined;
}

class BodyTooLarge extends Error {}

/** Reads the body up to `limit` bytes; past that it keeps draining and throws BodyTooLarge. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw new BodyTooLarge(`body of ${size} bytes`);
  return Buffer.concat(chunks);
}

/** True when the bytes end with a zip end-of-central-directory record. */
function looksLikeZip(bytes: Buffer): boolean {
  if (bytes.length < 22) return false;
  const from = Math.max(0, bytes.length - 22 - 0xffff);
  for (let i = bytes.length - 22; i >= from; i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) return true;
  }
  return false;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  const headers: Record<string, string> = { 'x-amzn-errortype': error.type };
  if (error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(error.retryAfterSeconds);
  sendJson(res, error.status, error.body(), headers);
}

function withoutZip(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  delete out.ZipFile;
  for (const field of ['Code', 'Content']) {
    if (typeof out[field] === 'object' && out[field] !== null) {
      const code = { ...(out[field] as Record<string, unknown>) };
      delete code.ZipFile;
      out[field] = code;
    }
  }
  return out;
}

export async function startLambdaEmulator(opts: EmulatorOptions = {}): Promise<LambdaEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const updateDelayMs = opts.updateDelayMs ?? 200;
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const faults = new FaultQueue();
  let calls: CallRecord[] = [];
  let seq = 0;
  let endpoint = '';

  const layers = new LayerStore({
    region,
    accountId,
    codeUrl: (name, version) =>
      `${endpoint}/__emulator/layer-code/${encodeURIComponent(name)}/${version}`,
    now: () => Date.now(),
  });
  const codeSignature = randomBytes(32).toString('hex');
  const store = new FunctionStore({
    region,
    accountId,
    updateDelayMs,
    createDelayMs: opts.createDelayMs ?? updateDelayMs,
    // Shaped like Lambda's presigned S3 URL: the query grants access on its own, so a client
    // must treat it as a secret (tests look for the signature in what lbuild prints).
    codeUrl: (name, version) =>
      `${endpoint}/__emulator/code/${encodeURIComponent(name)}/${encodeURIComponent(version)}` +
      `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=${codeSignature}`,
    layers,
  });
  for (const seed of opts.functions ?? []) store.seed(seed);

  async function resolveCode(
    source: Record<string, unknown>,
  ): Promise<{ code: Buffer; zipFileBytes?: number }> {
    const { ZipFile, S3Bucket, S3Key, S3ObjectVersion } = source;
    if (ZipFile !== undefined) {
      if (S3Bucket !== undefined || S3Key !== undefined) {
        throw invalidParameter(
          'Please do not provide other FunctionCode parameters when providing a ZipFile.',
        );
      }
      if (typeof ZipFile !== 'string') throw invalidParameter('ZipFile must be base64 text.');
      const code = Buffer.from(ZipFile, 'base64');
      if (!looksLikeZip(code)) {
        throw invalidParameter(
          'Could not unzip uploaded file. Please check your file, then try to upload again.',
        );
      }
      return { code, zipFileBytes: code.length };
    }
    if (typeof S3Bucket === 'string' && typeof S3Key === 'string') {
      const code = await fetchS3Object(
        opts.s3Endpoint,
        S3Bucket,
        S3Key,
        typeof S3ObjectVersion === 'string' ? S3ObjectVersion : undefined,
      );
      if (!looksLikeZip(code)) {
        throw invalidParameter(
          'Could not unzip uploaded file. Please check your file, then try to upload again.',
        );
      }
      return { code };
    }
    throw invalidParameter('Please provide a source for function code.');
  }

  function failureOf(fault: Fault | undefined): { reason: string; reasonCode: string } | undefined {
    if (fault?.kind !== 'update-failed') return undefined;
    return { reason: fault.reason, reasonCode: fault.reasonCode ?? 'InvalidConfiguration' };
  }

  /** Carries out one Lambda operation; returns status and JSON or throws ApiError. */
  async function execute(
    operation: Operation,
    ref: FunctionRef | undefined,
    body: Record<string, unknown>,
    query: URLSearchParams,
    fault: Fault | undefined,
    record: CallRecord,
    layer: Route['layer'],
  ): Promise<{ status: number; json: unknown }> {
    const need = (): FunctionRef => {
      if (!ref) throw invalidParameter('FunctionName is required.');
      return ref;
    };
    const layerName = layer?.name ?? '';
    const layerVersion = layer?.version ?? '';
    switch (operation) {
      case 'PublishLayerVersion': {
        layers.validatePublish(body);
        layers.parseName(layerName);
        const { code, zipFileBytes } = await resolveCode(body.Content as Record<string, unknown>);
        if (zipFileBytes !== undefined) record.zipFileBytes = zipFileBytes;
        return { status: 201, json: layers.publish(layerName, body, code) };
      }
      case 'ListLayerVersions': {
        const param = (name: string) => query.get(name) ?? undefined;
        const filters = {
          runtime: param('CompatibleRuntime'),
          architecture: param('CompatibleArchitecture'),
          marker: param('Marker'),
          maxItems: param('MaxItems'),
        };
        const defined = Object.fromEntries(
          Object.entries(filters).filter(([, v]) => v !== undefined),
        ) as Parameters<LayerStore['list']>[1];
        return { status: 200, json: layers.list(layerName, defined) };
      }
      case 'GetLayerVersion':
        return { status: 200, json: layers.get(layerName, layerVersion) };
      case 'GetLayerVersionByArn':
        return { status: 200, json: layers.getByArn(query.get('Arn')) };
      case 'DeleteLayerVersion':
        layers.delete(layerName, layerVersion);
        return { status: 204, json: undefined };
      case 'ListLayers':
        return { status: 200, json: layers.listLayers() };
      case 'GetFunction':
        return { status: 200, json: store.getFunction(need()) };
      case 'GetFunctionConfiguration':
        return { status: 200, json: store.getFunctionConfiguration(need()) };
      case 'ListFunctions':
        return { status: 200, json: { Functions: store.listFunctions() } };
      case 'ListVersionsByFunction': {
        const max = query.get('MaxItems');
        return {
          status: 200,
          json: store.listVersions(
            need(),
            query.get('Marker') ?? undefined,
            max === null ? undefined : Number(max),
          ),
        };
      }
      case 'DeleteFunction':
        store.deleteFunction(need());
        return { status: 204, json: undefined };
      case 'CreateFunction': {
        store.validateCreate(body);
        const { code, zipFileBytes } = await resolveCode(body.Code as Record<string, unknown>);
        if (zipFileBytes !== undefined) record.zipFileBytes = zipFileBytes;
        return { status: 201, json: store.createFunction(body, code, failureOf(fault)) };
      }
      case 'UpdateFunctionCode': {
        const r = need();
        store.validateUpdateCode(r, body);
        const { code, zipFileBytes } = await resolveCode(body);
        if (zipFileBytes !== undefined) record.zipFileBytes = zipFileBytes;
        return { status: 200, json: store.updateFunctionCode(r, body, code, failureOf(fault)) };
      }
      case 'UpdateFunctionConfiguration':
        return {
          status: 200,
          json: store.updateFunctionConfiguration(need(), body, failureOf(fault)),
        };
      case 'PublishVersion':
        return { status: 201, json: store.publishVersion(need(), body) };
    }
  }

  async function handleLambda(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    r: Route,
  ): Promise<void> {
    const record: CallRecord = {
      seq: ++seq,
      time: Date.now(),
      operation: r.operation,
      params: {},
      status: 0,
    };
    calls.push(record);
    const query = url.searchParams;
    for (const [k, v] of query) record.params[k] = v;
    let body: Record<string, unknown> = {};
    try {
      const raw = await readBody(req, maxRequestBytes);
      if (raw.length > 0) {
        try {
          const parsed: unknown = JSON.parse(raw.toString('utf8'));
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          throw new ApiError(
            400,
            'InvalidRequestContentException',
            'Could not parse request body into json',
          );
        }
      }
      Object.assign(record.params, withoutZip(body));
      let ref: FunctionRef | undefined;
      const rawName =
        r.rawName ?? (r.operation === 'CreateFunction' ? body.FunctionName : undefined);
      let refError: ApiError | undefined;
      if (typeof rawName === 'string') {
        try {
          ref = store.parseRef(rawName, query.get('Qualifier') ?? undefined);
          record.functionName = ref.name;
          if (ref.qualifier !== undefined) record.qualifier = ref.qualifier;
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          refError = error;
        }
      }
      if (r.layer?.name !== undefined) record.layerName = r.layer.name;
      const fault = faults.take(r.operation, ref?.name ?? r.layer?.name);
      if (fault) record.fault = fault.kind;
      if (fault?.kind === 'drop' && fault.phase !== 'after') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'error') {
        throw new ApiError(
          fault.status,
          fault.type,
          fault.message ?? `Injected ${fault.type}`,
          fault.status === 429 ? { Reason: 'CallerRateLimitExceeded' } : {},
          fault.retryAfterSeconds,
        );
      }
      if (fault?.kind === 'delay') await sleep(fault.ms);
      if (refError) throw refError;
      const { status, json } = await execute(r.operation, ref, body, query, fault, record, r.layer);
      record.status = status;
      if (fault?.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      sendJson(res, status, json);
    } catch (error) {
      let apiError: ApiError;
      if (error instanceof BodyTooLarge) {
        apiError = new ApiError(
          413,
          'RequestEntityTooLargeException',
          `Request must be smaller than ${maxRequestBytes} bytes for the ${r.operation} operation`,
        );
      } else if (error instanceof ApiError) {
        apiError = error;
      } else {
        apiError = new ApiError(
          500,
          'ServiceException',
          error instanceof Error ? error.message : String(error),
        );
      }
      record.status = apiError.status;
      record.errorType = apiError.type;
      sendError(res, apiError);
    }
  }

  async function handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    segments: string[],
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const what = segments[1];
    const raw = await readBody(req, maxRequestBytes);
    const body: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    if (what === 'faults') {
      if (method === 'POST') {
        const rules = Array.isArray(body) ? (body as unknown[]) : [body];
        for (const rule of rules) validateFaultRule(rule);
        for (const rule of rules as FaultRule[]) faults.add(rule);
        sendJson(res, 200, { pending: faults.pending() });
        return;
      }
      if (method === 'GET') {
        sendJson(res, 200, { pending: faults.pending() });
        return;
      }
      if (method === 'DELETE') {
        faults.clear();
        sendJson(res, 200, {});
        return;
      }
    }
    if (what === 'calls') {
      if (method === 'GET') {
        sendJson(res, 200, { calls });
        return;
      }
      if (method === 'DELETE') {
        calls = [];
        sendJson(res, 200, {});
        return;
      }
    }
    if (what === 'functions') {
      const name = segments[2];
      if (method === 'POST' && name === undefined) {
        const seed = body as SeedFunction & { code?: string };
        const code = typeof seed.code === 'string' ? Buffer.from(seed.code, 'base64') : undefined;
        sendJson(res, 201, store.seed({ ...seed, ...(code ? { code } : {}) }));
        return;
      }
      if (method === 'GET' && name !== undefined) {
        const fn = emulator.functionState(name);
        if (!fn) {
          sendJson(res, 404, { message: `no function ${name}` });
          return;
        }
        {
          sendJson(res, 200, fn);
          return;
        }
      }
      if (method === 'GET') {
        sendJson(res, 200, { names: store.names() });
        return;
      }
    }
    if (what === 'code' && method === 'GET') {
      sendZip(res, store.code(segments[2] ?? '', segments[3] ?? '$LATEST'), 'no such code');
      return;
    }
    if (what === 'layer-code' && method === 'GET') {
      sendZip(res, layers.code(segments[2] ?? '', Number(segments[3])), 'no such layer version');
      return;
    }
    if (what === 'settings' && method === 'PUT') {
      const s = body as { updateDelayMs?: number; createDelayMs?: number };
      if (typeof s.updateDelayMs === 'number')
        emulator.setUpdateDelay(s.updateDelayMs, s.createDelayMs);
      sendJson(res, 200, {
        updateDelayMs: store.opts.updateDelayMs,
        createDelayMs: store.opts.createDelayMs,
      });
      return;
    }
    if (what === 'reset' && method === 'POST') {
      emulator.reset();
      sendJson(res, 200, {});
      return;
    }
    sendJson(res, 404, { message: `unknown control call ${method} /${segments.join('/')}` });
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let segments: string[];
    try {
      segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      sendError(res, invalidParameter('Malformed percent-encoding in the path.'));
      return;
    }
    if (
      segments[0] === '__emulator' &&
      segments[1] === 'code' &&
      url.searchParams.get('X-Amz-Signature') !== codeSignature
    ) {
      // As S3 answers a code URL whose signature is missing or wrong.
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      return;
    }
    if (segments[0] === '__emulator') {
      handleControl(req, res, segments).catch((error: unknown) => {
        if (!res.headersSent) {
          sendJson(res, 400, { message: error instanceof Error ? error.message : String(error) });
        }
      });
      return;
    }
    const r = route(req.method ?? 'GET', segments, url.searchParams);
    if (!r) {
      req.resume();
      sendError(
        res,
        new ApiError(
          404,
          'UnknownOperationException',
          `Unknown operation ${req.method ?? ''} ${url.pathname}`,
        ),
      );
      return;
    }
    handleLambda(req, res, url, r).catch((error: unknown) => {
      if (!res.headersSent) {
        sendError(
          res,
          new ApiError(
            500,
            'ServiceException',
            error instanceof Error ? error.message : String(error),
          ),
        );
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  endpoint = `http://${urlHost}:${address.port}`;

  const emulator: LambdaEmulator = {
    endpoint,
    port: address.port,
    region,
    accountId,
    injectFault: (rule) => {
      faults.add(rule);
    },
    clearFaults: () => {
      faults.clear();
    },
    pendingFaults: () => faults.pending(),
    calls: (filter) =>
      calls.filter(
        (c) =>
          (filter?.operation === undefined || c.operation === filter.operation) &&
          (filter?.functionName === undefined || c.functionName === filter.functionName),
      ),
    countCalls: (operation, functionName) =>
      emulator.calls({ operation, ...(functionName ? { functionName } : {}) }).length,
    clearCalls: () => {
      calls = [];
    },
    seedFunction: (seed) => store.seed(seed),
    functionState: (name) => {
      if (!store.peek(name)) return undefined;
      return store.getFunctionConfiguration({ name, qualifier: undefined });
    },
    functionCode: (name, qualifier = '$LATEST') => store.code(name, qualifier),
    layerCode: (name, version) => layers.code(name, version),
    setUpdateDelay: (ms, createMs) => {
      store.opts.updateDelayMs = ms;
      store.opts.createDelayMs = createMs ?? ms;
    },
    reset: () => {
      store.reset();
      layers.reset();
      faults.clear();
      calls = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
  return emulator;
}

/** A code download (a function's or a layer version's zip), 404 when there is none. */
function sendZip(res: ServerResponse, code: Uint8Array | undefined, missing: string): void {
  if (!code) {
    sendJson(res, 404, { message: missing });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(code.length) });
  res.end(code);
}
