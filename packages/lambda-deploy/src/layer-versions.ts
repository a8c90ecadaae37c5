import {
  GetLayerVersionCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  type Architecture,
  type LayerVersionContentInput,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { toLbuildError } from './aws-errors.js';
import type { DeployClients } from './clients.js';
import type { CallRunner } from './remote-state.js';

/** The newest version of a layer, as Lambda reports it. */
export interface LayerVersion {
  layerVersionArn: string;
  version: number;
  /** Base64 SHA-256 of the version's zip. */
  codeSha256: string;
  /** The zip's size (Lambda reports no unzipped size for a layer). */
  codeSize: number;
}

/** What `NAME:publish` records: the version the functions that use the layer get. */
export interface LayerPublishValue {
  layerVersionArn: string;
  codeSha256: string;
  codeSize: number;
}

const once: CallRunner = (_what, attempt) => attempt();

/**
 * The newest version of layer `name` (ListLayerVersions lists newest first and carries no hash,
 * so one GetLayerVersion follows), or undefined when the layer has no version.
 */
export async function readLatestLayerVersion(
  clients: DeployClients,
  name: string,
  options: { signal?: AbortSignal | undefined; run?: CallRunner } = {},
): Promise<LayerVersion | undefined> {
  const run = options.run ?? once;
  const sendOpts = options.signal ? { abortSignal: options.signal } : {};
  const call = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    try {
      return await run(what, attempt);
    } catch (error) {
      throw toLbuildError(error, what, `layer ${name}`);
    }
  };
  const listed = await call('ListLayerVersions', () =>
    clients.lambda.send(new ListLayerVersionsCommand({ LayerName: name, MaxItems: 1 }), sendOpts),
  );
  const newest = listed.LayerVersions?.[0]?.Version;
  if (newest === undefined) return undefined;
  const got = await call('GetLayerVersion', () =>
    clients.lambda.send(
      new GetLayerVersionCommand({ LayerName: name, VersionNumber: newest }),
      sendOpts,
    ),
  );
  return {
    layerVersionArn: got.LayerVersionArn ?? '',
    version: got.Version ?? newest,
    codeSha256: got.Content?.CodeSha256 ?? '',
    codeSize: got.Content?.CodeSize ?? 0,
  };
}

/** Publishes a new version of layer `name` with this content; returns it. */
export async function publishLayerVersion(
  clients: DeployClients,
  name: string,
  request: {
    content: LayerVersionContentInput;
    runtime: string;
    architecture: string;
    description: string;
  },
  options: {
    signal?: AbortSignal | undefined;
    run?: CallRunner;
    /** Asked before each retry: the version a lost answer made, if it did. */
    alreadyPublished?: () => Promise<LayerVersion | undefined>;
  } = {},
): Promise<LayerVersion> {
  const run = options.run ?? once;
  const sendOpts = options.signal ? { abortSignal: options.signal } : {};
  let attempts = 0;
  try {
    const published = await run('PublishLayerVersion', async () => {
      if (attempts++ > 0) {
        const made = await options.alreadyPublished?.();
        if (made) {
          return {
            LayerVersionArn: made.layerVersionArn,
            Version: made.version,
            Content: { CodeSha256: made.codeSha256, CodeSize: made.codeSize },
          };
        }
      }
      return clients.lambda.send(
        new PublishLayerVersionCommand({
          LayerName: name,
          Content: request.content,
          // The table's identifiers are Lambda's own.
          CompatibleRuntimes: [request.runtime as Runtime],
          CompatibleArchitectures: [request.architecture as Architecture],
          Description: request.description,
        }),
        sendOpts,
      );
    });
    return {
      layerVersionArn: published.LayerVersionArn ?? '',
      version: published.Version ?? 0,
      codeSha256: published.Content?.CodeSha256 ?? '',
      codeSize: published.Content?.CodeSize ?? 0,
    };
  } catch (error) {
    throw toLbuildError(error, 'PublishLayerVersion', `layer ${name}`);
  }
}
