import { describe, expect, it } from 'vitest';
import { PipOutputWatcher, type PipProgress } from '../../src/pip/pip-progress.js';

/** Feeds pip's lines (as pip 23–25 print them) to a watcher; what it reported. */
function watch(lines: string[]): { progress: PipProgress[]; warnings: string[] } {
  const progress: PipProgress[] = [];
  const warnings: string[] = [];
  const watcher = new PipOutputWatcher(
    (p) => progress.push(p),
    (w) => warnings.push(w),
  );
  for (const line of lines) watcher.line(line);
  return { progress, warnings };
}

describe('PipOutputWatcher', () => {
  it('counts packages as pip collects them and names the file it downloads', () => {
    const { progress } = watch([
      'Looking in indexes: https://user:****@pypi.example/simple/',
      'Collecting alpha==1.0 (from -r /tmp/x/requirements.txt (line 1))',
      '  Downloading https://pypi.example/files/alpha-1.0-py3-none-any.whl (1.2 kB)',
      'Collecting beta>=2 (from alpha==1.0->-r /tmp/x/requirements.txt (line 1))',
      '  Using cached beta-2.0-py3-none-any.whl',
      'Saved ./out/alpha-1.0-py3-none-any.whl',
    ]);
    expect(progress.map((p) => `${p.done}/${p.total} ${p.unit}, ${p.detail}`)).toEqual([
      '0/1 packages, collecting alpha==1.0',
      '0/1 packages, downloading alpha-1.0-py3-none-any.whl (1.2 kB)',
      '1/2 packages, collecting beta>=2',
      '2/2 packages, saved alpha-1.0-py3-none-any.whl',
    ]);
  });

  it('counts wheels built from sdists and local projects', () => {
    const { progress } = watch([
      'Processing ./vendor/mypkg',
      'Building wheels for collected packages: mypkg, other',
      '  Building wheel for mypkg (pyproject.toml): started',
      "  Building wheel for mypkg (pyproject.toml): finished with status 'done'",
      '  Created wheel for mypkg: filename=mypkg-0.1-py3-none-any.whl size=1200 sha256=ab',
      '  Building wheel for other (setup.py): started',
    ]);
    expect(progress.map((p) => `${p.done}/${p.total} ${p.unit}, ${p.detail}`)).toEqual([
      '0/1 packages, processing mypkg',
      '0/2 wheels built, building mypkg',
      '1/2 wheels built, built mypkg',
      '1/2 wheels built, building other',
    ]);
  });

  it("turns pip's retries into warnings that say why and how many are left", () => {
    const { warnings, progress } = watch([
      'Looking in indexes: http://127.0.0.1:9/simple/',
      "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused')': /simple/alpha/",
      "WARNING: Retrying (Retry(total=1, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', port=9): Read timed out. (read timeout=1)\")': /simple/alpha/",
      "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -2] Name or service not known')': /simple/alpha/",
    ]);
    expect(warnings).toEqual([
      'pip is retrying /simple/alpha/ (connection refused; 4 retries left); indexes: http://127.0.0.1:9/simple/',
      'pip is retrying /simple/alpha/ (timed out; 1 retry left); indexes: http://127.0.0.1:9/simple/',
      'pip is retrying /simple/alpha/ (host name not found; 0 retries left); indexes: http://127.0.0.1:9/simple/',
    ]);
    expect(progress).toEqual([]);
  });
});
