/**
 * A size for people: KB under 1 MiB, MB above, one decimal, in units of 1024 (Lambda's limits
 * are set in these: 50 MB direct upload is 52,428,800 bytes, 250 MB unzipped 262,144,000).
 */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${(bytes / 1024).toFixed(1)} KB`;
}
