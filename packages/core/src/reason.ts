import type { TargetKey } from './key.js';

/**
 * Why a target must run. The rebuilder returns these; `--explain` prints them and `--json`
 * carries them, so every rebuild can be accounted for (ninja's `-d explain`).
 */
export type Reason =
  | { kind: 'no-stamp' }
  | { kind: 'forced' }
  /** `detail`: what the target says about the field's value now (see TargetDefinition.explain). */
  | { kind: 'recipe-changed'; field: string; detail?: string }
  | { kind: 'env-changed'; name: string }
  | { kind: 'input-changed'; path: string; from: string; to: string }
  /** Same content, but the execute bit was added or removed (chmod). */
  | { kind: 'input-mode-changed'; path: string; executable: boolean }
  | { kind: 'input-added'; path: string }
  | { kind: 'input-removed'; path: string }
  | { kind: 'dependency-changed'; dep: TargetKey; from: string; to: string }
  | { kind: 'dependency-will-run'; dep: TargetKey }
  | { kind: 'output-missing'; path: string }
  | { kind: 'output-modified'; path: string; from: string; to: string }
  | { kind: 'external'; message: string };

const short = (hash: string) => hash.slice(0, 8);

export function describeReason(reason: Reason): string {
  switch (reason.kind) {
    case 'no-stamp':
      return 'no stamp (never built, or the last run failed or was interrupted)';
    case 'forced':
      return 'forced with -B';
    case 'recipe-changed':
      return `recipe changed: ${reason.field}${reason.detail ? ` (${reason.detail})` : ''}`;
    case 'env-changed':
      return `environment variable ${reason.name} changed`;
    case 'input-changed':
      return `input changed: ${reason.path} (${short(reason.from)} → ${short(reason.to)})`;
    case 'input-mode-changed':
      return `input mode changed: ${reason.path} (${reason.executable ? 'now executable' : 'no longer executable'})`;
    case 'input-added':
      return `input added: ${reason.path}`;
    case 'input-removed':
      return `input removed: ${reason.path}`;
    case 'dependency-changed':
      return `dependency ${reason.dep} changed (${short(reason.from)} → ${short(reason.to)})`;
    case 'dependency-will-run':
      return `dependency ${reason.dep} will run`;
    case 'output-missing':
      return `output missing: ${reason.path}`;
    case 'output-modified':
      return `output modified since it was built: ${reason.path} (${short(reason.from)} → ${short(reason.to)})`;
    case 'external':
      return reason.message;
  }
}
