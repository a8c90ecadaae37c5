/** The Lambda REST operations the emulator answers. */
export type Operation =
  | 'GetFunction'
  | 'GetFunctionConfiguration'
  | 'CreateFunction'
  | 'DeleteFunction'
  | 'UpdateFunctionCode'
  | 'UpdateFunctionConfiguration'
  | 'PublishVersion'
  | 'ListVersionsByFunction'
  | 'ListFunctions'
  | 'PublishLayerVersion'
  | 'ListLayerVersions'
  | 'GetLayerVersion'
  | 'GetLayerVersionByArn'
  | 'DeleteLayerVersion'
  | 'ListLayers';

export const OPERATIONS: readonly Operation[] = [
  'GetFunction',
  'GetFunctionConfiguration',
  'CreateFunction',
  'DeleteFunction',
  'UpdateFunctionCode',
  'UpdateFunctionConfiguration',
  'PublishVersion',
  'ListVersionsByFunction',
  'ListFunctions',
  'PublishLayerVersion',
  'ListLayerVersions',
  'GetLayerVersion',
  'GetLayerVersionByArn',
  'DeleteLayerVersion',
  'ListLayers',
];

/** What a fault does to one matching call. */
export type Fault =
  /** Answer with this status and `x-amzn-errortype` instead of doing the call. */
  | { kind: 'error'; status: number; type: string; message?: string; retryAfterSeconds?: number }
  /**
   * Destroy the socket without a response. `phase: 'before'` (default) drops the request
   * unprocessed; `'after'` carries the call out and then loses the response.
   */
  | { kind: 'drop'; phase?: 'before' | 'after' }
  /** Wait this long, then answer normally. */
  | { kind: 'delay'; ms: number }
  /**
   * The call is accepted (LastUpdateStatus InProgress) but the update ends `Failed` with this
   * reason; the function keeps its previous code and configuration, like real Lambda.
   * For CreateFunction the function ends in State `Failed`.
   */
  | { kind: 'update-failed'; reason: string; reasonCode?: string };

export interface FaultRule {
  /** The operation to match, or `'*'` for any. */
  operation: Operation | '*';
  /** Only calls for this function name (not ARN), or for a layer operation this layer name. */
  functionName?: string;
  /** How many matching calls get the fault (default 1). */
  times?: number;
  fault: Fault;
}

/** One recorded call. `params` is the JSON body (and query) without the `ZipFile` bytes. */
export interface CallRecord {
  seq: number;
  time: number;
  operation: Operation;
  /** The short function name the call addressed, when it addressed one. */
  functionName?: string;
  qualifier?: string;
  /** The layer name a layer operation addressed. */
  layerName?: string;
  params: Record<string, unknown>;
  /** Size of the decoded `ZipFile`, when the call carried one. */
  zipFileBytes?: number;
  status: number;
  /** `x-amzn-errortype` of an error answer. */
  errorType?: string;
  /** The injected fault's kind, when one was applied. */
  fault?: Fault['kind'];
}

/** A function configuration, as Lambda's REST API returns it. */
export interface FunctionConfigurationJson {
  FunctionName: string;
  FunctionArn: string;
  Runtime?: string;
  Role: string;
  Handler?: string;
  CodeSize: number;
  Description: string;
  Timeout: number;
  MemorySize: number;
  LastModified: string;
  CodeSha256: string;
  Version: string;
  Environment?: { Variables: Record<string, string> };
  /** Absent when the function uses no layers. */
  Layers?: { Arn: string; CodeSize: number }[];
  TracingConfig: { Mode: string };
  RevisionId: string;
  State: string;
  StateReason?: string;
  StateReasonCode?: string;
  LastUpdateStatus?: string;
  LastUpdateStatusReason?: string;
  LastUpdateStatusReasonCode?: string;
  PackageType: 'Zip';
  Architectures: string[];
  EphemeralStorage: { Size: number };
  LoggingConfig: { LogFormat: string; LogGroup: string };
  SnapStart: { ApplyOn: string; OptimizationStatus: string };
}

/** A function to put into the emulator before a test, already Active. */
export interface SeedFunction {
  name: string;
  /** The zip bytes (default: an empty zip). */
  code?: Uint8Array;
  runtime?: string;
  handler?: string;
  role?: string;
  description?: string;
  timeout?: number;
  memorySize?: number;
  architectures?: string[];
  environment?: Record<string, string>;
  /** Layer version ARNs; the versions must exist in the emulator. */
  layers?: string[];
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default us-east-1. */
  region?: string;
  /** Default 123456789012. */
  accountId?: string;
  /** How long LastUpdateStatus stays InProgress after an update (default 200 ms). */
  updateDelayMs?: number;
  /** How long a new function stays State Pending (default: updateDelayMs). */
  createDelayMs?: number;
  /** Largest request body accepted; larger gets 413 RequestEntityTooLargeException. */
  maxRequestBytes?: number;
  /** Path-style S3 endpoint (e.g. s3rver's) to fetch `S3Bucket`/`S3Key` code from. */
  s3Endpoint?: string;
  /** Functions to create before the server starts. */
  functions?: SeedFunction[];
}

/** Real Lambda's limit on an UpdateFunctionCode/CreateFunction request body. */
export const DEFAULT_MAX_REQUEST_BYTES = 69_905_067;
