import { basename } from 'node:path';
import { buildError } from '@lbuild/core';
import type { DependencySpecifier } from './dependency-specifier.js';
import {
  RequirementSyntaxError,
  formatDependency,
  parseDependencySpecifier,
} from './dependency-specifier.js';
import type { MarkerEnvironment } from './markers.js';
import { MarkerEvaluationError, evaluateMarker } from './markers.js';
import { specifierSetContains } from './pep440.js';
import type { WheelMetadata } from './wheel-metadata.js';

/** A requirement and who states it. */
export interface Demand {
  spec: DependencySpecifier;
  /** Who requires it: `requirements.txt line 3`, or `alpha 1.0` (with `[extra]` when it came from one). */
  by: string;
}

export interface ClosureInput {
  /** The top-level requirements (markers not yet evaluated). */
  roots: readonly Demand[];
  /** Constraints (`-c`): they bound versions but never add a project. */
  constraints: readonly Demand[];
  /** The wheels to judge: at most one per project. */
  wheels: readonly WheelMetadata[];
  environment: MarkerEnvironment;
}

export interface Closure {
  /** The wheels the target needs, in the order of `wheels`. */
  needed: WheelMetadata[];
  /** The wheels nothing the target needs asks for. */
  unused: WheelMetadata[];
  /** Demands (markers true for the target) of projects that have no wheel. */
  missing: Demand[];
  /** Demands (and constraints) whose versions the project's wheel does not satisfy. */
  unsatisfied: Demand[];
  /** The extras requested of each needed project. */
  extras: Map<string, string[]>;
}

function requiresDistError(wheel: WheelMetadata, line: string, error: Error) {
  return buildError(
    'bad-wheel-metadata',
    `Wheel ${basename(wheel.file)} has a Requires-Dist that cannot be judged (${JSON.stringify(line)}): ${error.message}`,
    {
      hint: 'lbuild cannot tell whether Lambda needs that dependency. Use another version of the project, or report it to whoever published it.',
    },
  );
}

/**
 * The dependency closure of `roots` over `wheels` with every marker evaluated for `environment`:
 * a root or `Requires-Dist` counts only when its marker holds there, with `extra` being the extras
 * requested of the project that declares it (from every requirer). Nothing is fetched: what is
 * missing or at the wrong version is reported for the caller to resolve.
 */
export function walkClosure(input: ClosureInput): Closure {
  const byProject = new Map<string, WheelMetadata>();
  for (const wheel of input.wheels) {
    const other = byProject.get(wheel.project);
    if (other !== undefined) {
      throw buildError(
        'duplicate-wheels',
        `Two wheels of ${wheel.name}: ${basename(other.file)} and ${basename(wheel.file)}.`,
      );
    }
    byProject.set(wheel.project, wheel);
  }
  const holds = (
    demand: Demand,
    extras: readonly string[],
    from?: { wheel: WheelMetadata; line: string },
  ): boolean => {
    if (demand.spec.marker === undefined) return true;
    try {
      return evaluateMarker(demand.spec.marker, input.environment, { extra: extras });
    } catch (error) {
      if (error instanceof MarkerEvaluationError && from !== undefined)
        throw requiresDistError(from.wheel, from.line, error);
      throw error;
    }
  };
  const dependencies = new Map<string, { spec: DependencySpecifier; line: string }[]>();
  const dependenciesOf = (wheel: WheelMetadata) => {
    let specs = dependencies.get(wheel.project);
    if (specs === undefined) {
      specs = wheel.requiresDist.map((line) => {
        try {
          return { spec: parseDependencySpecifier(line), line };
        } catch (error) {
          if (error instanceof RequirementSyntaxError) throw requiresDistError(wheel, line, error);
          throw error;
        }
      });
      dependencies.set(wheel.project, specs);
    }
    return specs;
  };

  const extras = new Map<string, Set<string>>();
  const demands = new Map<string, Demand>();
  const queue: string[] = [];
  const demand = (d: Demand) => {
    const key = `${d.by}\u0000${formatDependency(d.spec)}`;
    if (demands.has(key)) return;
    demands.set(key, d);
    if (!byProject.has(d.spec.project)) return;
    const known = extras.get(d.spec.project);
    const fresh = d.spec.extras.filter((e) => known?.has(e) !== true);
    if (known !== undefined && fresh.length === 0) return;
    extras.set(d.spec.project, new Set([...(known ?? []), ...fresh]));
    queue.push(d.spec.project);
  };
  for (const root of input.roots) if (holds(root, [])) demand(root);
  // A project is walked again when a requirer asks for more of its extras.
  for (let project = queue.shift(); project !== undefined; project = queue.shift()) {
    const wheel = byProject.get(project);
    if (wheel === undefined) continue;
    const requested = [...(extras.get(project) ?? [])].sort();
    for (const { spec, line } of dependenciesOf(wheel)) {
      const d: Demand = { spec, by: `${wheel.name} ${wheel.version}` };
      const from = { wheel, line };
      if (!holds(d, requested, from)) continue;
      // Name the extra that pulled it in, when one did.
      const via = requested.filter(
        (e) =>
          !holds(
            d,
            requested.filter((x) => x !== e),
            from,
          ),
      );
      demand(
        via.length === 0 ? d : { spec, by: `${wheel.name}[${via.join(',')}] ${wheel.version}` },
      );
    }
  }

  const missing: Demand[] = [];
  const unsatisfied: Demand[] = [];
  for (const d of demands.values()) {
    const wheel = byProject.get(d.spec.project);
    if (wheel === undefined) missing.push(d);
    else if (!specifierSetContains(d.spec.specifiers, wheel.version)) unsatisfied.push(d);
  }
  for (const c of input.constraints) {
    const wheel = byProject.get(c.spec.project);
    if (wheel === undefined || !extras.has(c.spec.project) || !holds(c, [])) continue;
    if (!specifierSetContains(c.spec.specifiers, wheel.version)) unsatisfied.push(c);
  }
  return {
    needed: input.wheels.filter((w) => extras.has(w.project)),
    unused: input.wheels.filter((w) => !extras.has(w.project)),
    missing,
    unsatisfied,
    extras: new Map([...extras].map(([p, set]) => [p, [...set].sort()])),
  };
}
