import * as z from 'zod/mini';

export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `[target.NAME]`: a make-like target that runs a command. */
export const commandTargetSchema = z.strictObject({
  /** A shell command line, or an argv list run without a shell. */
  command: z.union([z.string().check(z.minLength(1)), z.array(z.string()).check(z.minLength(1))]),
  description: z.optional(z.string()),
  inputs: z.optional(z.array(z.string())),
  exclude: z.optional(z.array(z.string())),
  outputs: z.optional(z.array(z.string())),
  deps: z.optional(z.array(z.string())),
  env: z.optional(
    z.array(
      z.string().check(
        z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
          error:
            'environment variable names are letters, digits and _, and do not start with a digit',
        }),
      ),
    ),
  ),
  /** Built when no target is named on the command line (default true). */
  default: z.optional(z.boolean()),
});

export type CommandTargetConfig = z.infer<typeof commandTargetSchema>;

/** `[cache]`: the shared build cache (see the README's "Shared cache"). */
export const cacheSettingsSchema = z.strictObject({
  url: z.optional(
    z.string().check(
      z.regex(/^s3:\/\/[^/\s]+(\/\S*)?$/, {
        error: 'expected an S3 URL: s3://bucket or s3://bucket/prefix',
      }),
    ),
  ),
  mode: z.optional(z.enum(['read-write', 'read', 'off'])),
});

export type CacheSettings = z.infer<typeof cacheSettingsSchema>;
