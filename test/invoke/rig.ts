/**
 * The rig of the `lbuild invoke` tests: a project whose function's bundle (Python 3.11, which
 * is on PATH here) holds a test-made wheel, and a handler that does what its event asks (report
 * what it sees, print, raise, sleep), so that each test checks one behaviour of the local run.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lbuildBin, NO_PIP_CONFIG, TempProject, type RunResult } from '../helpers/project.js';
import { makeWheels } from '../fixtures/python/wheels.js';
import { ARCHITECTURE, NO_PIP_ENV } from '../bundle/rig.js';

export { NO_PIP_ENV };

export function invokeToml(fn: { timeout?: number; handler?: string } = {}): string {
  return `[bundle.api]
requirements = "requirements.txt"
sources      = ["app"]
python       = "3.11"
architecture = "${ARCHITECTURE}"
find-links   = ["wheels"]
no-index     = true

[function.api]
bundle  = "api"
handler = "${fn.handler ?? 'app.main.handler'}"
timeout = ${String(fn.timeout ?? 5)}
memory  = 256
environment = { GREETING = "hi from lbuild.toml" }
`;
}

/** What the handler does, by the event's `do`. */
export const HANDLER = `import os
import subprocess
import sys
import threading
import time

import greeter


def handler(event, context):
    do = event.get("do", "report")
    if do == "print":
        print("a line on stdout")
        print("a line on stderr", file=sys.stderr)
        return {"printed": True}
    if do == "raise":
        return explode(event.get("why", "boom"))
    if do == "thread":
        threading.Thread(target=time.sleep, args=(120,)).start()
        return {"threaded": True}
    if do == "sleep":
        child = subprocess.Popen(["sleep", "120"])
        with open(event["pidfile"], "w") as f:
            f.write("%d %d" % (os.getpid(), child.pid))
        time.sleep(120)
    return {
        "event": event,
        "greeting": greeter.greet("you"),
        "greeter_file": greeter.__file__,
        "handler_file": __file__,
        "cwd": os.getcwd(),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "env": {k: os.environ.get(k) for k in [
            "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "_HANDLER", "TZ", "LANG", "GREETING",
            "USER_SETTING",
        ]},
    }


def explode(why):
    raise ValueError(why)
`;

/** A template made once per test file (the wheel is built once); {@link project} copies it. */
export class InvokeTemplate {
  private constructor(readonly dir: string) {}

  static async create(): Promise<InvokeTemplate> {
    const dir = mkdtempSync(join(tmpdir(), 'lbuild-invoke-template-'));
    mkdirSync(join(dir, 'wheels'));
    await makeWheels(join(dir, 'wheels'), [
      {
        name: 'greeter',
        version: '1.0',
        files: { 'greeter/__init__.py': 'def greet(name):\n    return "hello " + name\n' },
      },
    ]);
    return new InvokeTemplate(dir);
  }

  project(files: Record<string, string> = {}): TempProject {
    const project = TempProject.create({
      'lbuild.toml': invokeToml(),
      'requirements.txt': 'greeter==1.0\n',
      'app/__init__.py': '',
      'app/main.py': HANDLER,
      // Not in the bundle: a handler run from the project instead of the package would import it.
      'greeter.py': 'def greet(name):\n    return "the project copy"\n',
      ...files,
    });
    cpSync(join(this.dir, 'wheels'), project.path('wheels'), { recursive: true });
    return project;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `lbuild ARGS` with `input` on its stdin (TempProject.run gives an empty one). */
export function runWithStdin(
  project: TempProject,
  args: readonly string[],
  input: string,
): Promise<RunResult> {
  const merged: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: '1',
    ...NO_PIP_CONFIG,
    ...NO_PIP_ENV,
  };
  const env = Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const child = spawn(process.execPath, [lbuildBin(), ...args], {
    cwd: project.dir,
    env,
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
