import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/atomic.js';
import { ownerTag } from '../src/process-liveness.js';
import { sweepTemporaries, temporarySibling } from '../src/temporary-files.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lbuild-temporaries-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A pid that no process can have: above Linux's largest pid_max (2^22). */
const NO_SUCH_PID = '4194304';

async function exitedPid(): Promise<string> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('close', resolve));
  return String(child.pid);
}

describe('temporary names', () => {
  it('name the file beside the target and the process that made them', () => {
    const path = join(dir, 'api.zip');
    const temp = temporarySibling(path);
    expect(dirname(temp)).toBe(dir);
    expect(basename(temp)).toMatch(
      new RegExp(`^\\.api\\.zip\\.${ownerTag().replace('-', '\\-')}\\.[0-9a-z]+\\.tmp$`),
    );
    expect(temporarySibling(path)).not.toBe(temp);
    if (process.platform === 'linux') expect(ownerTag()).toMatch(/^\d+-\d+$/);
  });
});

describe('sweeping a directory', () => {
  it('removes the temporaries of ended processes, files and directories, and nothing else', async () => {
    const gone = await exitedPid();
    const removed = [
      `.api.zip.${NO_SUCH_PID}-1.a1.tmp`,
      `.api.zip.${NO_SUCH_PID}.a2.tmp`,
      `.stamp.json.${gone}.a3.tmp`,
      `.tmp-scratch.${NO_SUCH_PID}-77.dir.tmp`,
    ];
    const kept = [
      `.api.zip.${ownerTag()}.live.tmp`,
      `.api.zip.${String(process.pid)}.live.tmp`,
      // Not lbuild's names: no leading dot, another suffix, no owner tag.
      `api.zip.${NO_SUCH_PID}-1.a.tmp`,
      `.api.zip.${NO_SUCH_PID}-1.a.tmp.bak`,
      '.notes.tmp',
      'api.zip',
    ];
    if (process.platform === 'linux') {
      // This process's pid with another start time: a process that had the pid before.
      const [pid, start] = ownerTag().split('-');
      removed.push(`.api.zip.${String(pid)}-${String(Number(start) + 1)}.reused.tmp`);
    }
    for (const name of [...removed, ...kept]) {
      if (name.includes('scratch')) {
        mkdirSync(join(dir, name, 'inner'), { recursive: true });
        writeFileSync(join(dir, name, 'inner', 'x.whl'), 'partial');
      } else writeFileSync(join(dir, name), 'partial');
    }
    expect(sweepTemporaries(dir).sort()).toEqual(removed.sort());
    expect(readdirSync(dir).sort()).toEqual(kept.sort());
  });

  it('happens when a process first writes a file into the directory', async () => {
    const stamps = join(dir, 'stamps');
    mkdirSync(stamps);
    const dead = `.a.json.${NO_SUCH_PID}-1.x.tmp`;
    writeFileSync(join(stamps, dead), 'partial');
    await writeFileAtomic(join(stamps, 'a.json'), '{}');
    expect(readdirSync(stamps)).toEqual(['a.json']);
  });

  it('of a directory that does not exist finds nothing', () => {
    expect(sweepTemporaries(join(dir, 'missing'))).toEqual([]);
  });
});
