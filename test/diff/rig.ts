import { execFileSync } from 'node:child_process';

/** What `lbuild diff --json` prints, as far as the tests read it. */
export interface DiffJson {
  identical: boolean;
  a: DiffSide;
  b: DiffSide;
  distributions: { name: string; a?: string; b?: string }[];
  onlyInA: DiffEntry[];
  onlyInB: DiffEntry[];
  content: {
    path: string;
    group: DiffGroup;
    a: { size: number; crc32: string; sha256: string };
    b: { size: number; crc32: string; sha256: string };
    text?: { lines: string[]; omitted: number };
    noText?: string;
    metadata: DiffField[];
  }[];
  metadata: { path: string; group: DiffGroup; changes: DiffField[] }[];
  order: { common: number; moved: number; first?: { position: number; a: string; b: string } };
  archive: DiffField[];
  deployed?: {
    functionName: string;
    functionArn?: string;
    codeSha256: string;
    codeSize: number;
    lastModified?: string;
  };
}

export interface DiffSide {
  path: string;
  bytes: number;
  sha256: string;
  codeSha256: string;
  entries: number;
}

export type DiffGroup = { kind: 'distribution'; name: string; version: string } | { kind: 'other' };

export interface DiffEntry {
  path: string;
  group: DiffGroup;
  directory: boolean;
  size: number;
  crc32: string;
}

export interface DiffField {
  field: string;
  a: string;
  b: string;
}

/** The entry names of a zip in central-directory order, as Info-ZIP's zipinfo lists them. */
export function zipNames(zip: string): string[] {
  return execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trimEnd().split('\n');
}
