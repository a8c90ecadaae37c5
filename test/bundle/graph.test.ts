import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TempProject } from '../helpers/project.js';
import { bundleToml } from './rig.js';

/**
 * `lbuild graph` lists what a change of which reruns each target. A wheelhouse has no declared
 * inputs: its run snapshots the requirements file, the files it includes, local projects and
 * find-links folders, and graph names them too (it reads them; nothing runs).
 */
let project: TempProject;

beforeEach(() => {
  project = TempProject.create({
    'lbuild.toml': bundleToml({ python: '3.12' }),
    'requirements.txt': '-r requirements/base.txt\n./localpkg\n',
    'requirements/base.txt': 'alpha==1.0\n',
    'localpkg/pyproject.toml': '[project]\nname = "localpkg"\nversion = "0.1"\n',
    'wheels/.keep': '',
    'app/handler.py': 'def handler(event, context):\n    return 1\n',
  });
});

afterEach(() => {
  project.dispose();
});

const WHEELHOUSE_INPUTS = ['requirements.txt', 'requirements/base.txt', 'localpkg/', 'wheels/'];

describe('lbuild graph on a bundle', () => {
  it("--json lists the wheelhouse's requirements files, includes, local projects and find-links", async () => {
    const result = await project.run(['graph', '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const graph = JSON.parse(result.stdout) as { targets: { key: string; inputs: string[] }[] };
    expect(graph.targets.find((t) => t.key === 'fn:wheelhouse')?.inputs).toEqual(WHEELHOUSE_INPUTS);
  });

  it('the text lists them too', async () => {
    const result = await project.run(['graph']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((line) => line.startsWith('fn:wheelhouse '));
    expect(lines.slice(at + 1).find((line) => line.startsWith('  inputs:'))).toBe(
      `  inputs:  ${WHEELHOUSE_INPUTS.join(', ')}`,
    );
  });
});
