import * as z from 'zod/mini';
import { closest } from '@lbuild/core';
import {
  LAMBDA_ARCHITECTURES,
  LAMBDA_PYTHON_RUNTIME_IDS,
  NEWEST_PYTHON_RUNTIME,
  type LambdaArchitecture,
  type LambdaPythonRuntimeId,
} from '@lbuild/lambda-runtimes';

/** Python runtimes Lambda runs zips on: the shared runtime table's identifiers. */
export const PYTHON_RUNTIMES = LAMBDA_PYTHON_RUNTIME_IDS;
export type PythonRuntime = LambdaPythonRuntimeId;

export const ARCHITECTURES = LAMBDA_ARCHITECTURES;
export type Architecture = LambdaArchitecture;

/** Lambda's direct-upload limit: a zip this size or smaller may go in the request body. */
export const DEFAULT_DIRECT_UPLOAD_LIMIT = 52_428_800;
export const DEFAULT_S3_PREFIX = 'lbuild/';

/** A function name, or a partial or full ARN without a qualifier (Lambda's pattern). */
const FUNCTION_REF_RE =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso[a-z]?))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9_-]+)$/;
const ROLE_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-/]+$/;
const REGION_RE = /^[a-z]{2}((-gov)|(-iso[a-z]?))?-[a-z]+-\d{1}$/;
const BUCKET_RE = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HANDLER_RE = /^[A-Za-z_][A-Za-z0-9_]*([./][A-Za-z_][A-Za-z0-9_]*)*\.[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_KEY_RE = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/** A layer version ARN: arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION. */
const LAYER_VERSION_ARN_RE =
  /^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}((-gov)|(-iso[a-z]?))?-[a-z]+-\d{1}):(\d{12}):layer:([a-zA-Z0-9_-]{1,64}):([1-9][0-9]*)$/;
/** A `[layer.NAME]` table name that is also a valid Lambda layer name. */
const LAYER_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
/** Lambda's own limit on the layers of one function. */
export const MAX_FUNCTION_LAYERS = 5;
/** Environment variables Lambda sets itself and refuses in a function's configuration. */
const RESERVED_ENV = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

const show = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);
const got = (value: unknown): string =>
  typeof value === 'string'
    ? `the string ${JSON.stringify(value)}`
    : Array.isArray(value)
      ? 'a list'
      : typeof value;

/** One entry of `layers`: a `[layer.NAME]` of this project, or a layer version ARN used as is. */
export type LayerRef =
  { kind: 'table'; name: string } | { kind: 'arn'; arn: string; region: string; layerName: string };

/** Reads one `layers` entry (validated by the schema). */
export function parseLayerRef(value: string): LayerRef {
  const arn = LAYER_VERSION_ARN_RE.exec(value);
  if (arn) return { kind: 'arn', arn: value, region: arn[1] ?? '', layerName: arn[6] ?? '' };
  return { kind: 'table', name: value };
}

/** Why a `layers` entry is not acceptable, or undefined when it is. */
function layerRefProblem(value: string): string | undefined {
  if (value.startsWith('arn:')) {
    return LAYER_VERSION_ARN_RE.test(value)
      ? undefined
      : `layers entry ${show(value)} is not a layer version ARN: write arn:aws:lambda:REGION:ACCOUNT_ID:layer:NAME:VERSION (with the version number)`;
  }
  return LAYER_NAME_RE.test(value)
    ? undefined
    : `layers entry ${show(value)} is neither a [layer.NAME] table usable as a Lambda layer name (1 to 64 letters, digits, hyphens or underscores) nor a layer version ARN`;
}

/** The layer a ref stands for in Lambda, to find two versions of one layer. */
const layerIdentity = (ref: LayerRef): string =>
  ref.kind === 'table' ? `table:${ref.name}` : `arn:${ref.arn.replace(/:[0-9]+$/, '')}`;

/** Why a function-name value is not acceptable, or undefined when it is. */
export function functionNameProblem(value: string): string | undefined {
  const match = FUNCTION_REF_RE.exec(value);
  if (!match) {
    return `function-name ${show(value)} is not a valid Lambda function name: use 1 to 64 letters, digits, hyphens (-) or underscores (_), or a function ARN without a version`;
  }
  const name = match[9] ?? '';
  if (name.length > 64) {
    return `function-name ${show(value)} is too long: Lambda function names are at most 64 characters (this one has ${name.length})`;
  }
  if (value.length > 140) {
    return `function-name ${show(value)} is too long: a function ARN is at most 140 characters (this one has ${value.length})`;
  }
  return undefined;
}

const wholeNumber = (key: string, unit: string) =>
  z.int({
    error: (issue) =>
      `${key} must be a whole number of ${unit} (got ${typeof issue.input === 'number' ? String(issue.input) : got(issue.input)})`,
  });

/** Attaches a description (and the default lbuild applies) for the JSON Schema. */
function doc<T extends z.core.$ZodType>(schema: T, description: string, defaultValue?: unknown): T {
  z.globalRegistry.add(schema, {
    description,
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
  });
  return schema;
}

const environmentSchema = z
  .record(
    z.string(),
    z.string({ error: (issue) => `environment values must be strings (got ${got(issue.input)})` }),
  )
  .check(
    z.superRefine(
      (vars, ctx) => {
        for (const key of Object.keys(vars)) {
          if (!ENV_KEY_RE.test(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              input: key,
              message: `environment variable name ${JSON.stringify(key)} is not allowed: Lambda wants a letter followed by letters, digits or underscores`,
            });
          } else if (RESERVED_ENV.has(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              input: key,
              message: `environment variable ${key} is reserved: Lambda sets it itself`,
            });
          }
        }
      },
      {
        // Also when a value is wrong: report every bad name at once.
        when: (payload) => typeof payload.value === 'object' && payload.value !== null,
      },
    ),
  );

/**
 * One `[function.NAME]` table of lbuild.toml, as written (kebab-case keys). Every key but
 * `bundle` is optional; {@link toFunctionConfig} applies the defaults. Error messages are the
 * ones users see, so each check carries its own sentence.
 */
export const FunctionTableSchema = z.strictObject({
  bundle: doc(
    z.string({
      error: (issue) =>
        issue.input === undefined
          ? 'bundle is required: name the [bundle.NAME] whose zip this function deploys'
          : `bundle must be the name of a [bundle.NAME] table (got ${got(issue.input)})`,
    }),
    'The [bundle.NAME] whose zip this function deploys.',
  ),
  'function-name': z.optional(
    doc(
      z.string().check(
        z.refine((v) => functionNameProblem(v) === undefined, {
          error: (issue) => functionNameProblem(String(issue.input)) ?? 'function-name is invalid',
        }),
      ),
      'The Lambda function: a name or a function ARN. Default: the table name.',
    ),
  ),
  region: z.optional(
    doc(
      z.string().check(
        z.regex(REGION_RE, {
          error: (issue) => `region ${show(issue.input)} is not an AWS region name like us-east-1`,
        }),
      ),
      "AWS region. Default: the function ARN's, else AWS_REGION or the profile's.",
    ),
  ),
  handler: z.optional(
    doc(
      z.string().check(
        z.maxLength(128, { error: 'handler is too long: Lambda allows at most 128 characters' }),
        z.regex(HANDLER_RE, {
          error: (issue) =>
            `handler ${show(issue.input)} is not a Python handler: write MODULE.FUNCTION, e.g. "app.handler" or "pkg.api.main"`,
        }),
      ),
      'MODULE.FUNCTION, checked against the zip before deploying. Needed to create the function.',
    ),
  ),
  runtime: z.optional(
    doc(
      z.enum(PYTHON_RUNTIMES, {
        error: (issue) =>
          `runtime ${show(issue.input)} is not a Python runtime Lambda supports: use one of ${PYTHON_RUNTIMES.join(', ')}`,
      }),
      "Python runtime; must match the bundle's python. Default: the bundle's, to create the function.",
    ),
  ),
  timeout: z.optional(
    doc(
      wholeNumber('timeout', 'seconds').check(
        z.gte(1, {
          error: (issue) =>
            `timeout ${show(issue.input)} is out of range: Lambda allows 1 to 900 seconds`,
        }),
        z.lte(900, {
          error: (issue) =>
            `timeout ${show(issue.input)} is out of range: Lambda allows 1 to 900 seconds`,
        }),
      ),
      'Seconds, 1 to 900.',
    ),
  ),
  memory: z.optional(
    doc(
      wholeNumber('memory', 'MB').check(
        z.gte(128, {
          error: (issue) =>
            `memory ${show(issue.input)} is out of range: Lambda allows 128 to 10240 MB`,
        }),
        z.lte(10240, {
          error: (issue) =>
            `memory ${show(issue.input)} is out of range: Lambda allows 128 to 10240 MB`,
        }),
      ),
      'MB, 128 to 10240.',
    ),
  ),
  role: z.optional(
    doc(
      z.string().check(
        z.regex(ROLE_RE, {
          error: (issue) =>
            `role ${show(issue.input)} is not an IAM role ARN: write arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME (12-digit account id)`,
        }),
      ),
      'IAM role ARN the function runs as. Needed to create the function.',
    ),
  ),
  description: z.optional(
    doc(
      z.string().check(
        z.maxLength(256, {
          error: (issue) =>
            `description is ${typeof issue.input === 'string' ? issue.input.length : '?'} characters long: Lambda allows at most 256`,
        }),
      ),
      'At most 256 characters.',
    ),
  ),
  architecture: z.optional(
    doc(
      z.enum(ARCHITECTURES, {
        error: (issue) =>
          `architecture ${show(issue.input)} is not one Lambda supports: use "x86_64" or "arm64"`,
      }),
      "x86_64 or arm64; must match the bundle's architecture. Default: the bundle's, to create the function.",
    ),
  ),
  's3-bucket': z.optional(
    doc(
      z.string().check(
        z.regex(BUCKET_RE, {
          error: (issue) =>
            `s3-bucket ${show(issue.input)} is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots or hyphens`,
        }),
      ),
      "Bucket (in the function's region) for zips over direct-upload-limit.",
    ),
  ),
  's3-prefix': z.optional(
    doc(
      z.string().check(
        z.refine((v) => !v.startsWith('/'), {
          error: (issue) =>
            `s3-prefix ${show(issue.input)} must not start with "/": S3 keys have no leading slash`,
        }),
      ),
      'Key prefix in s3-bucket; zips go to PREFIX/FUNCTION/SHA256.zip.',
      DEFAULT_S3_PREFIX,
    ),
  ),
  publish: z.optional(
    doc(
      z.boolean({ error: (issue) => `publish must be true or false (got ${got(issue.input)})` }),
      'Publish a version after each deploy.',
      false,
    ),
  ),
  'direct-upload-limit': z.optional(
    doc(
      wholeNumber('direct-upload-limit', 'bytes').check(
        z.gte(1, {
          error: (issue) => `direct-upload-limit ${show(issue.input)} must be at least 1 byte`,
        }),
        z.lte(DEFAULT_DIRECT_UPLOAD_LIMIT, {
          error: (issue) =>
            `direct-upload-limit ${show(issue.input)} is too large: Lambda accepts at most ${DEFAULT_DIRECT_UPLOAD_LIMIT} bytes (50 MB) in a direct upload; larger zips go through s3-bucket`,
        }),
      ),
      'Zips up to this many bytes go in the request; larger ones through s3-bucket.',
      DEFAULT_DIRECT_UPLOAD_LIMIT,
    ),
  ),
  environment: z.optional(
    doc(environmentSchema, "Environment variables; when set, they replace the function's."),
  ),
  layers: z.optional(
    doc(
      z
        .array(
          z.string({
            error: (issue) => `layers entries must be strings (got ${got(issue.input)})`,
          }),
          { error: (issue) => `layers must be a list of names and ARNs (got ${got(issue.input)})` },
        )
        .check(
          z.maxLength(MAX_FUNCTION_LAYERS, {
            error: (issue) =>
              `layers has ${Array.isArray(issue.input) ? issue.input.length : '?'} entries: Lambda allows at most ${MAX_FUNCTION_LAYERS} layers per function`,
          }),
          z.superRefine((list, ctx) => {
            const seen = new Map<string, string>();
            list.forEach((value, index) => {
              const problem = layerRefProblem(value);
              if (problem !== undefined) {
                ctx.addIssue({ code: 'custom', path: [index], input: value, message: problem });
                return;
              }
              const identity = layerIdentity(parseLayerRef(value));
              const before = seen.get(identity);
              if (before !== undefined) {
                ctx.addIssue({
                  code: 'custom',
                  path: [index],
                  input: value,
                  message: `layers names the same layer twice (${show(before)} and ${show(value)}): Lambda allows one version of a layer per function`,
                });
              }
              seen.set(identity, value);
            });
          }),
        ),
      "Layers, in the order Lambda loads them: [layer.NAME] tables of this project (published when their zip changes) or layer version ARNs used as they are. When set, they replace the function's.",
    ),
  ),
});

/** The table as parsed by {@link FunctionTableSchema} (kebab-case keys). */
export type FunctionTable = z.infer<typeof FunctionTableSchema>;

/** One function's deploy configuration, resolved: camelCase, defaults applied. */
export interface FunctionConfig {
  /** The table name: `api` in `[function.api]`. */
  name: string;
  bundle: string;
  /** The Lambda function: a name, or a partial or full ARN. Defaults to {@link name}. */
  functionName: string;
  region?: string;
  handler?: string;
  runtime?: PythonRuntime;
  timeout?: number;
  memory?: number;
  role?: string;
  description?: string;
  architecture?: Architecture;
  s3Bucket?: string;
  /** Ends with `/` (or is empty). */
  s3Prefix: string;
  publish: boolean;
  directUploadLimit: number;
  environment?: Record<string, string>;
  /** `layers` as written: `[layer.NAME]` names and layer version ARNs (see parseLayerRef). */
  layers?: string[];
}

export interface ConfigIssue {
  /** The key in the `[function.NAME]` table, e.g. `timeout` or `environment.FOO`. */
  key: string;
  message: string;
  hint?: string;
}

export type ValidateResult =
  { ok: true; config: FunctionConfig } | { ok: false; issues: ConfigIssue[] };

const HINTS: Record<string, string> = {
  bundle: 'add bundle = "NAME" naming a [bundle.NAME] table',
  'function-name':
    'e.g. function-name = "my-api" or function-name = "arn:aws:lambda:us-east-1:123456789012:function:my-api"',
  region: 'e.g. region = "eu-west-1"; leave it out to use AWS_REGION or the profile\'s region',
  handler: 'e.g. handler = "app.handler" for def handler(event, context) in app.py',
  runtime: `e.g. runtime = "${NEWEST_PYTHON_RUNTIME.runtime}"`,
  timeout: 'e.g. timeout = 30',
  memory: 'e.g. memory = 512',
  role: 'e.g. role = "arn:aws:iam::123456789012:role/my-lambda-role"',
  description: 'shorten it to 256 characters or fewer',
  architecture: 'architecture = "x86_64" or architecture = "arm64"',
  's3-bucket': 'e.g. s3-bucket = "my-deploy-artifacts"',
  's3-prefix': 'e.g. s3-prefix = "lbuild/"',
  publish: 'publish = true publishes a version after each deploy',
  'direct-upload-limit': `leave it out for ${DEFAULT_DIRECT_UPLOAD_LIMIT} (50 MB)`,
  environment: 'e.g. environment = { LOG_LEVEL = "info" }',
  layers:
    'e.g. layers = ["deps", "arn:aws:lambda:us-east-1:123456789012:layer:other:3"]: names of [layer.NAME] tables, or layer version ARNs',
};

/** Resolves a parsed table into a {@link FunctionConfig}. */
export function toFunctionConfig(name: string, table: FunctionTable): FunctionConfig {
  const prefix = table['s3-prefix'] ?? DEFAULT_S3_PREFIX;
  const config: FunctionConfig = {
    name,
    bundle: table.bundle,
    functionName: table['function-name'] ?? name,
    s3Prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    publish: table.publish ?? false,
    directUploadLimit: table['direct-upload-limit'] ?? DEFAULT_DIRECT_UPLOAD_LIMIT,
  };
  if (table.region !== undefined) config.region = table.region;
  if (table.handler !== undefined) config.handler = table.handler;
  if (table.runtime !== undefined) config.runtime = table.runtime;
  if (table.timeout !== undefined) config.timeout = table.timeout;
  if (table.memory !== undefined) config.memory = table.memory;
  if (table.role !== undefined) config.role = table.role;
  if (table.description !== undefined) config.description = table.description;
  if (table.architecture !== undefined) config.architecture = table.architecture;
  if (table['s3-bucket'] !== undefined) config.s3Bucket = table['s3-bucket'];
  if (table.environment !== undefined) config.environment = { ...table.environment };
  if (table.layers !== undefined) config.layers = [...table.layers];
  return config;
}

/** The region written in a full function ARN, if it is one. */
export function regionOfArn(functionName: string): string | undefined {
  return /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):/.exec(functionName)?.[1];
}

/** The plain function name inside a name or (partial) ARN. */
export function shortFunctionName(functionName: string): string {
  return FUNCTION_REF_RE.exec(functionName)?.[9] ?? functionName;
}

/**
 * Validates one `[function.NAME]` table. Returns the resolved config, or every problem with
 * the key it is about, a sentence, and a hint.
 */
export function validateFunctionConfig(name: string, raw: unknown): ValidateResult {
  const issues: ConfigIssue[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      issues: [
        {
          key: '',
          message: `[function.${name}] must be a table (got ${got(raw)})`,
          hint: HINTS.bundle ?? '',
        },
      ],
    };
  }
  if (
    !/^[a-zA-Z0-9_-]{1,64}$/.test(name) &&
    (raw as Record<string, unknown>)['function-name'] === undefined
  ) {
    issues.push({
      key: 'function-name',
      message: `[function.${name}] needs function-name: "${name}" is not a valid Lambda function name (1 to 64 letters, digits, hyphens or underscores)`,
      hint: HINTS['function-name'] ?? '',
    });
  }
  const parsed = FunctionTableSchema.safeParse(raw);
  if (!parsed.success) {
    const known = Object.keys(FunctionTableSchema.shape);
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const suggestion = closest(key, known);
          issues.push({
            key,
            message: `unknown key ${key} in [function.${name}]`,
            hint:
              suggestion !== undefined
                ? `did you mean ${suggestion}?`
                : `known keys: ${known.join(', ')}`,
          });
        }
        continue;
      }
      const key = issue.path.map(String).join('.');
      const top = String(issue.path[0] ?? '');
      const hint = HINTS[top];
      issues.push({ key, message: issue.message, ...(hint !== undefined ? { hint } : {}) });
    }
    return { ok: false, issues };
  }
  const config = toFunctionConfig(name, parsed.data);
  const arnRegion = regionOfArn(config.functionName);
  if (arnRegion !== undefined && config.region !== undefined && arnRegion !== config.region) {
    issues.push({
      key: 'region',
      message: `region "${config.region}" does not match the region in function-name (${arnRegion})`,
      hint: 'remove region, or make it match the ARN',
    });
  }
  const functionRegion = config.region ?? arnRegion;
  (config.layers ?? []).forEach((value, index) => {
    const ref = parseLayerRef(value);
    if (ref.kind === 'arn' && functionRegion !== undefined && ref.region !== functionRegion) {
      issues.push({
        key: `layers.${index}`,
        message: `layer ${ref.arn} is in ${ref.region}, but the function is in ${functionRegion}: Lambda only uses layers of the function's region`,
        hint: `use the layer's version ARN in ${functionRegion}`,
      });
    }
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config };
}
