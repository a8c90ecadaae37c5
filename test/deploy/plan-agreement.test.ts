import { describe, expect, it } from 'vitest';
import type { SeedFunction } from '@lbuild/lambda-emulator';
import { HANDLER, ROLE, functionTable, otherCode, shown, useLocalAws, zipBytes } from './rig.js';

/**
 * `lbuild -q deploy`, `lbuild -n deploy` and `lbuild deploy` read one plan: on each remote state
 * below, the question's answer, the dry run's reasons and what the deploy then does in Lambda
 * (the calls the emulator records) must agree, and a second question must find nothing to do.
 */
const aws = useLocalAws();

interface Case {
  name: string;
  /** Lines added to `[function.hello]`. */
  extra?: string;
  /** The function as it is in Lambda before the three commands run (none: absent). */
  seed?: (zip: Buffer) => Omit<SeedFunction, 'name'>;
  /** The exit code of `-q deploy` (2: the deploy is refused). */
  answer: 0 | 1 | 2;
  /** The reasons `-q --explain` and `-n` give. */
  reasons: string[];
  /** The changing calls the deploy makes. */
  mutations: string[];
}

/** The function as lbuild created it from `functionTable()`, with this code. */
const asDeployed = (code: Buffer) => ({
  code,
  role: ROLE,
  runtime: 'python3.12',
  handler: HANDLER,
});

const CASES: Case[] = [
  {
    name: 'absent',
    answer: 1,
    reasons: ['function hello does not exist yet (a deploy creates it)'],
    mutations: ['CreateFunction'],
  },
  { name: 'the same code and settings', seed: asDeployed, answer: 0, reasons: [], mutations: [] },
  {
    name: 'other code',
    seed: () => asDeployed(otherCode()),
    answer: 1,
    reasons: ['CodeSha256 differs'],
    mutations: ['UpdateFunctionCode'],
  },
  {
    name: 'memory changed in Lambda',
    extra: 'memory = 256\n',
    seed: (zip) => ({ ...asDeployed(zip), memorySize: 512 }),
    answer: 1,
    reasons: ['memory differs: remote 512, configured 256'],
    mutations: ['UpdateFunctionConfiguration'],
  },
  {
    name: 'the runtime changed in Lambda, and the code',
    seed: () => ({ ...asDeployed(otherCode()), runtime: 'python3.11' }),
    answer: 1,
    reasons: [
      'CodeSha256 differs',
      'runtime differs: remote "python3.11", configured "python3.12"',
    ],
    mutations: ['UpdateFunctionCode', 'UpdateFunctionConfiguration'],
  },
  {
    name: 'the same variables in another order, an empty description, x86_64 spelled out',
    extra:
      'description = ""\narchitecture = "x86_64"\nenvironment = { STAGE = "prod", MODE = "fast" }\n',
    seed: (zip) => ({ ...asDeployed(zip), environment: { MODE: 'fast', STAGE: 'prod' } }),
    answer: 0,
    reasons: [],
    mutations: [],
  },
  {
    name: 'a variable changed in Lambda',
    extra: 'environment = { STAGE = "prod" }\n',
    seed: (zip) => ({ ...asDeployed(zip), environment: { STAGE: 'dev' } }),
    answer: 1,
    reasons: ['environment STAGE differs'],
    mutations: ['UpdateFunctionConfiguration'],
  },
  {
    name: 'new code over direct-upload-limit without s3-bucket: refused by all three',
    extra: 'direct-upload-limit = 100\n',
    seed: () => asDeployed(otherCode()),
    answer: 2,
    reasons: [],
    mutations: [],
  },
  {
    name: 'over direct-upload-limit, but Lambda already runs the zip',
    extra: 'direct-upload-limit = 100\n',
    seed: asDeployed,
    answer: 0,
    reasons: [],
    mutations: [],
  },
];

/** The reasons in `hello:upload would run: A; B` (-q --explain) or `because A; B` (-n). */
function reasonsIn(text: string, prefix: RegExp): string[] {
  const line = text.split('\n').find((l) => prefix.test(l));
  if (line === undefined) return [];
  return line.replace(prefix, '').split('; ');
}

/** The first error line of a run's stderr. */
const errorOf = (stderr: string) => stderr.split('\n').find((l) => /\berror: /.test(l));

/** The CodeSha256 line names both hashes; the table names only its start. */
const withoutHashes = (reasons: string[]) =>
  reasons.map((r) => (r.startsWith('CodeSha256 differs') ? 'CodeSha256 differs' : r));

/** What a plan's reason makes a deploy do. */
function callFor(reason: string): string {
  if (reason.startsWith('function hello does not exist')) return 'CreateFunction';
  if (reason.startsWith('CodeSha256 ') || reason.startsWith('architecture ')) {
    return 'UpdateFunctionCode';
  }
  return 'UpdateFunctionConfiguration';
}

describe('-q deploy, -n deploy and deploy agree', () => {
  it.each(CASES)(
    '$name',
    async (c) => {
      const p = aws.project(functionTable(c.extra ?? ''));
      const built = await aws.run(p, []);
      expect(built.code, shown(built)).toBe(0);
      if (c.seed) aws.emu.seedFunction({ name: 'hello', ...c.seed(zipBytes(p)) });
      aws.emu.clearCalls();

      const question = await aws.run(p, ['-q', '--explain', 'deploy']);
      const dry = await aws.run(p, ['-n', '--explain', 'deploy']);
      expect(aws.mutations(), 'a question and a dry run change nothing').toEqual([]);
      const deploy = await aws.run(p, ['deploy']);
      const calls = aws.mutations().map((m) => m.operation);

      const asked = reasonsIn(question.stdout, /^hello:upload would run: /);
      const listed = reasonsIn(dry.stdout, /^ {4}because /);
      expect(
        { answer: question.code, reasons: withoutHashes(asked), calls },
        shown(question),
      ).toEqual({ answer: c.answer, reasons: c.reasons, calls: c.mutations });

      // One plan: the same reasons, and the deploy does what they say, nothing else.
      expect(listed, shown(dry)).toEqual(asked);
      expect(calls).toEqual([...new Set(asked.map(callFor))]);
      if (c.answer === 2) {
        // Refused: by all three, with the same error, before any change.
        const error = errorOf(question.stderr);
        expect(error, shown(question)).toMatch(
          /error: the zip for \[function\.hello\] is \d+ bytes, over direct-upload-limit = 100$/m,
        );
        expect([dry.code, deploy.code], `${shown(dry)}\n${shown(deploy)}`).toEqual([2, 2]);
        expect(errorOf(dry.stderr)).toBe(error);
        expect(errorOf(deploy.stderr)).toBe(error);
        return;
      }
      expect(dry.code, shown(dry)).toBe(0);
      expect(dry.stdout.includes('would run hello:upload'), shown(dry)).toBe(c.answer === 1);
      expect(deploy.code, shown(deploy)).toBe(0);
      // After the deploy the plan is empty: the question says so, from Lambda's state.
      expect((await aws.run(p, ['-q', 'deploy'])).code).toBe(0);
    },
    300_000,
  );
});
