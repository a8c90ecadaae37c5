import type { Plugin } from '@lbuild/core';
import { lambdaDeployPlugin } from '@lbuild/lambda-deploy/plugin';
import { pythonLambdaPlugin } from '@lbuild/python-lambda';

/**
 * The plugins the `lbuild` command knows: each owns one table of the config file. The deploy
 * plugin comes from its `/plugin` entry, which loads the AWS SDK only when a deploy runs.
 */
export function plugins(): Plugin[] {
  return [pythonLambdaPlugin, lambdaDeployPlugin];
}
