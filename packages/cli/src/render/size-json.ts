import type { BundleSize } from '../commands/size.js';

/**
 * `lbuild size --json`: one object with a report per bundle (every file's size is left out: the
 * zip's own listing has it).
 */
export function sizeJson(sizes: readonly BundleSize[]): string {
  return (
    JSON.stringify(
      {
        bundles: sizes.map(({ bundle, zip, report }) => ({
          bundle,
          zip,
          zipBytes: report.zipBytes,
          ...report.totals,
          limits: report.limits,
          headroom: report.headroom,
          distributions: report.distributions,
          sources: report.sources,
          extraFiles: report.extraFiles,
          largestFiles: report.largestFiles.map((f) => ({
            path: f.path,
            unzippedBytes: f.unzippedBytes,
            zippedBytes: f.zippedBytes,
            ...ownerFields(f.owner),
          })),
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

function ownerFields(owner: BundleSize['report']['files'][number]['owner']) {
  return owner.kind === 'distribution'
    ? { from: 'distribution', distInfo: owner.distInfo }
    : { from: owner.kind === 'source' ? 'sources' : 'extra-files' };
}
