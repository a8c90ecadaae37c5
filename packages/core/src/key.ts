/** A target's key: `test`, `api:zip`, `api:upload`. Unique in a project. */
export type TargetKey = string;

/** Keys become file names under `.lbuild/`; anything outside a safe set is percent-encoded. */
export function keyToFileName(key: TargetKey): string {
  return key.replace(
    /[^A-Za-z0-9._-]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'),
  );
}
