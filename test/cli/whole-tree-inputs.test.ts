import { afterEach, describe, expect, it } from 'vitest';
import { ran, TempProject } from '../helpers/project.js';

let project: TempProject | undefined;
afterEach(() => project?.dispose());

describe('a target whose inputs cover the whole project', () => {
  it('does not count lbuild state or its own outputs as inputs, so it settles', async () => {
    project = TempProject.create({
      'lbuild.toml': `[target.listing]
command = "mkdir -p out && ls -R src > out/listing.txt"
inputs = ["."]
outputs = ["out"]
`,
      'src/a.py': 'a = 1\n',
    });
    const first = await project.json();
    expect(ran(first.summary)).toEqual(['listing']);
    const second = await project.json();
    expect(ran(second.summary)).toEqual([]);
    expect((await project.run(['-q'])).code).toBe(0);

    project.write('src/b.py', 'b = 2\n');
    const third = await project.json(['--explain']);
    expect(ran(third.summary)).toEqual(['listing']);
    expect(third.summary.targets[0]?.reasons).toEqual(['input added: src/b.py']);
  });
});
