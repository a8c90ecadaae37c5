import { describe, expect, it } from 'vitest';
import {
  indexIdentity,
  pipSourceOptions,
  PipCredentials,
  redactText,
  redactUrl,
  stripCredentials,
} from '../../src/pip/index.js';

const root = '/home/someone/project';

describe('indexIdentity', () => {
  it('strips credentials so a rotated token does not change it', () => {
    const a = indexIdentity(
      {
        indexUrl:
          'https://aws:TOKEN1@my-domain-123.d.codeartifact.eu-west-1.amazonaws.com/pypi/repo/simple/',
        extraIndexUrls: ['https://extra.example.com/simple?token=one&channel=stable'],
        findLinks: [],
        noIndex: false,
      },
      root,
    );
    const b = indexIdentity(
      {
        indexUrl:
          'https://aws:TOKEN2@my-domain-123.d.codeartifact.eu-west-1.amazonaws.com/pypi/repo/simple',
        extraIndexUrls: ['https://extra.example.com/simple?token=two&channel=stable'],
        findLinks: [],
        noIndex: false,
      },
      root,
    );
    expect(a).toEqual(b);
    expect(a).toEqual({
      noIndex: false,
      indexUrl: 'https://my-domain-123.d.codeartifact.eu-west-1.amazonaws.com/pypi/repo/simple',
      extraIndexUrls: ['https://extra.example.com/simple?channel=stable'],
      findLinks: [],
    });
    expect(JSON.stringify(a)).not.toMatch(/TOKEN|one|two/);
  });

  it('differs for another host or path', () => {
    const base = { extraIndexUrls: [], findLinks: [], noIndex: false };
    const one = indexIdentity({ ...base, indexUrl: 'https://a.example.com/simple' }, root);
    expect(indexIdentity({ ...base, indexUrl: 'https://b.example.com/simple' }, root)).not.toEqual(
      one,
    );
    expect(indexIdentity({ ...base, indexUrl: 'https://a.example.com/other' }, root)).not.toEqual(
      one,
    );
    expect(indexIdentity({ ...base }, root)).toEqual({
      noIndex: false,
      indexUrl: 'https://pypi.org/simple',
      extraIndexUrls: [],
      findLinks: [],
    });
  });

  it('keeps find-links directories relative to the project root', () => {
    const here = indexIdentity(
      {
        extraIndexUrls: [],
        findLinks: ['wheels', `${root}/vendor/wheels`, 'https://u:p@links.example.com/'],
        noIndex: true,
      },
      root,
    );
    const there = indexIdentity(
      {
        extraIndexUrls: [],
        findLinks: ['wheels', '/elsewhere/checkout/vendor/wheels', 'https://links.example.com'],
        noIndex: true,
      },
      '/elsewhere/checkout',
    );
    expect(here).toEqual({
      noIndex: true,
      findLinks: ['wheels', 'vendor/wheels', 'https://links.example.com'],
    });
    expect(there).toEqual(here);
  });

  it('ignores index URLs when no-index is set (pip does too)', () => {
    expect(
      indexIdentity(
        {
          indexUrl: 'https://a.example.com/simple',
          extraIndexUrls: ['https://b'],
          findLinks: [],
          noIndex: true,
        },
        root,
      ),
    ).toEqual({
      noIndex: true,
      findLinks: [],
    });
  });

  it('gives pip URLs through its environment and directories on its command line', () => {
    expect(
      pipSourceOptions(
        {
          indexUrl: 'https://a/simple',
          extraIndexUrls: ['https://b/simple', 'https://c/simple'],
          findLinks: ['wheels', 'https://d/links/'],
          noIndex: false,
        },
        root,
        new PipCredentials(),
      ),
    ).toEqual({
      args: ['--find-links', `${root}/wheels`],
      env: {
        PIP_INDEX_URL: 'https://a/simple',
        PIP_EXTRA_INDEX_URL: 'https://b/simple https://c/simple',
        PIP_FIND_LINKS: 'https://d/links/',
      },
    });
    expect(
      pipSourceOptions(
        { indexUrl: 'https://a/simple', extraIndexUrls: [], findLinks: [], noIndex: true },
        root,
        new PipCredentials(),
      ),
    ).toEqual({ args: ['--no-index'], env: {} });
  });

  it('takes the logins out of the URLs', () => {
    const credentials = new PipCredentials();
    expect(
      pipSourceOptions(
        {
          indexUrl: 'https://aws:T%2FOK@pkgs.example.com/simple/',
          extraIndexUrls: ['https://ghp_abc@pypi.fury.io/me/?token=q'],
          findLinks: ['https://aws:T%2FOK@pkgs.example.com/links/'],
          noIndex: false,
        },
        root,
        credentials,
      ).env,
    ).toEqual({
      PIP_INDEX_URL: 'https://pkgs.example.com/simple/',
      PIP_EXTRA_INDEX_URL: 'https://pypi.fury.io/me/?token=q',
      PIP_FIND_LINKS: 'https://pkgs.example.com/links/',
    });
    expect(credentials.empty).toBe(false);
  });
});

describe('redactUrl', () => {
  it('masks passwords, tokens used as user names, and credential query parameters', () => {
    expect(redactUrl('https://user:hunter2@pypi.example.com/simple/')).toBe(
      'https://user:****@pypi.example.com/simple/',
    );
    expect(redactUrl('https://ghp_abcdef@pypi.fury.io/me/')).toBe('https://****@pypi.fury.io/me/');
    expect(redactUrl('https://x.example.com/simple?token=abc&page=2')).toBe(
      'https://x.example.com/simple?token=****&page=2',
    );
    expect(redactUrl('https://x.example.com/simple/')).toBe('https://x.example.com/simple/');
    expect(redactUrl('./wheels')).toBe('./wheels');
  });

  it('masks every URL in a line of output', () => {
    expect(
      redactText(
        'Looking in indexes: https://u:pw@a.example.com/simple, https://b.example.com/s?access_token=zzz',
      ),
    ).toBe(
      'Looking in indexes: https://u:****@a.example.com/simple, https://b.example.com/s?access_token=****',
    );
  });

  it('strips credentials entirely for identities', () => {
    expect(stripCredentials('https://__token__:pypi-AgEI@upload.example.com/simple/#frag')).toBe(
      'https://upload.example.com/simple',
    );
  });
});
