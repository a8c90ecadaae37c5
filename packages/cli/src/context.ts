import { resolve } from 'node:path';
import { loadProject, type Project } from '@lbuild/core';
import { plugins } from './plugins.js';

export interface GlobalOptions {
  directory?: string;
  question?: boolean;
  dryRun?: boolean;
  explain?: boolean;
  alwaysMake?: boolean;
  jobs?: number;
  keepGoing?: boolean;
  json?: boolean;
  logFormat?: 'human' | 'json';
  verbose?: boolean;
  offline?: boolean;
  watch?: boolean;
  poll?: boolean | number;
  /** A bare `--poll` (see withPollDefault in main.ts). */
  pollDefault?: boolean;
}

export function workingDirectory(options: GlobalOptions): string {
  return resolve(options.directory ?? '.');
}

export async function openProject(options: GlobalOptions): Promise<Project> {
  return loadProject(workingDirectory(options), plugins());
}
