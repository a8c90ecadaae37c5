import type {
  CallRecord,
  FaultRule,
  FunctionConfigurationJson,
  Operation,
  SeedFunction,
} from './types.js';

/**
 * Drives an emulator that runs in another process (e.g. `lambda-emulator --port 9001`) over its
 * control API under `/__emulator/`.
 */
export class LambdaEmulatorControl {
  readonly endpoint: string;

  constructor(endpoint: string) {
    this.endpoint = endpoint.replace(/\/+$/, '');
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await fetch(`${this.endpoint}/__emulator/${path}`, init);
    const text = await response.text();
    const json: unknown = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) {
      const message = (json as { message?: string } | undefined)?.message ?? response.statusText;
      throw new Error(`lambda-emulator control ${method} ${path}: ${response.status} ${message}`);
    }
    return json;
  }

  async injectFault(rule: FaultRule | FaultRule[]): Promise<void> {
    await this.call('POST', 'faults', rule);
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', 'faults');
  }

  async pendingFaults(): Promise<FaultRule[]> {
    return ((await this.call('GET', 'faults')) as { pending: FaultRule[] }).pending;
  }

  async calls(filter?: { operation?: Operation; functionName?: string }): Promise<CallRecord[]> {
    const all = ((await this.call('GET', 'calls')) as { calls: CallRecord[] }).calls;
    return all.filter(
      (c) =>
        (filter?.operation === undefined || c.operation === filter.operation) &&
        (filter?.functionName === undefined || c.functionName === filter.functionName),
    );
  }

  async countCalls(operation: Operation, functionName?: string): Promise<number> {
    return (await this.calls({ operation, ...(functionName ? { functionName } : {}) })).length;
  }

  async clearCalls(): Promise<void> {
    await this.call('DELETE', 'calls');
  }

  async seedFunction(seed: SeedFunction): Promise<FunctionConfigurationJson> {
    const { code, ...rest } = seed;
    const body = code ? { ...rest, code: Buffer.from(code).toString('base64') } : rest;
    return (await this.call('POST', 'functions', body)) as FunctionConfigurationJson;
  }

  async functionState(name: string): Promise<FunctionConfigurationJson | undefined> {
    const response = await fetch(
      `${this.endpoint}/__emulator/functions/${encodeURIComponent(name)}`,
    );
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new Error(`lambda-emulator control GET functions/${name}: ${response.status}`);
    return (await response.json()) as FunctionConfigurationJson;
  }

  async setUpdateDelay(ms: number, createMs?: number): Promise<void> {
    await this.call('PUT', 'settings', {
      updateDelayMs: ms,
      ...(createMs !== undefined ? { createDelayMs: createMs } : {}),
    });
  }

  async reset(): Promise<void> {
    await this.call('POST', 'reset');
  }
}
