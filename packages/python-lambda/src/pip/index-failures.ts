import type { PipFailure } from './pip-errors.js';
import { redactUrl, stripCredentials } from './index-options.js';

/** Why pip could not use an index, as its output says. */
export type IndexProblem = 'refused-credentials' | 'unreachable' | 'tls' | 'server-error';

export interface IndexFailure {
  problem: IndexProblem;
  /** The URL pip was fetching, credentials masked. */
  url: string;
  /** What failed, in a few words: `401 Unauthorized`, `connection refused`, … */
  detail: string;
}

/** `Could not fetch URL URL: REASON - skipping` (see INDEX_FAILURE_BOOTSTRAP in pip-run.ts). */
const FETCH_FAILED = /Could not fetch URL (\S+?): (.*?) - skipping\s*$/;
/** A file download that failed: `HTTP error 401 while getting URL`. */
const HTTP_ERROR = /HTTP error (\d{3}) while getting (\S+)/;
/** pip's own warning when a login it sent was refused. */
const CREDENTIALS_REFUSED = /(\d{3}) Error, Credentials not correct for (\S+)/;
/** urllib3's retry warnings, without the host: `… after connection broken by '…': /simple/x/`. */
const RETRYING = /Retrying \(Retry\(.*\)\) after connection broken by '(.*)': (\S+)\s*$/;

function classify(reason: string): { problem: IndexProblem; detail: string } | undefined {
  const status = /\b(\d{3}) (?:Client|Server) Error: ([^:]+?)(?: for url|$)/.exec(reason);
  if (status !== null) {
    const code = Number(status[1]);
    const detail = `${status[1]} ${(status[2] ?? '').trim()}`;
    if (code === 401 || code === 403) return { problem: 'refused-credentials', detail };
    if (code >= 500) return { problem: 'server-error', detail };
    return undefined;
  }
  if (
    /SSLError|SSLCertVerificationError|CERTIFICATE_VERIFY_FAILED|ssl certificate|\[SSL/i.test(
      reason,
    )
  )
    return { problem: 'tls', detail: tlsDetail(reason) };
  if (/Connection refused|Errno 111\b|ECONNREFUSED/i.test(reason))
    return { problem: 'unreachable', detail: 'connection refused' };
  if (
    /NameResolutionError|Failed to resolve|Name or service not known|nodename nor servname|Temporary failure in name resolution|getaddrinfo failed|No address associated|Errno -[235]\b/i.test(
      reason,
    )
  )
    return { problem: 'unreachable', detail: 'the host name did not resolve (DNS)' };
  if (/timed out|TimeoutError|ConnectTimeout|ReadTimeout/i.test(reason))
    return { problem: 'unreachable', detail: 'timed out' };
  if (/Network is unreachable|No route to host|Connection reset|RemoteDisconnected/i.test(reason))
    return { problem: 'unreachable', detail: 'the connection failed' };
  return undefined;
}

function tlsDetail(reason: string): string {
  const verify = /certificate verify failed: ([^(')]+)/i.exec(reason);
  if (verify !== null) return `certificate verify failed: ${(verify[1] ?? '').trim()}`;
  if (/WRONG_VERSION_NUMBER|wrong version number/i.test(reason))
    return 'the server does not speak TLS on that port';
  return 'the TLS handshake failed';
}

function origin(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host;
  } catch {
    return url;
  }
}

/**
 * The first index failure in pip's output: an index that refused the login (401/403), could not
 * be reached (refused, DNS, timeout), failed TLS, or answered with a server error. A 404 for a
 * project page is not one: an index without the project answers so.
 */
export function findIndexFailure(lines: readonly string[]): IndexFailure | undefined {
  let retried: IndexFailure | undefined;
  for (const line of lines) {
    const fetch = FETCH_FAILED.exec(line);
    if (fetch !== null) {
      const found = classify(fetch[2] ?? '');
      if (found !== undefined) return { ...found, url: redactUrl(fetch[1] ?? '') };
      continue;
    }
    const http = HTTP_ERROR.exec(line);
    if (http !== null) {
      const found = classify(`${http[1] ?? ''} Client Error: HTTP error`);
      if (found !== undefined) return { ...found, url: redactUrl(http[2] ?? '') };
      continue;
    }
    const refused = CREDENTIALS_REFUSED.exec(line);
    if (refused !== null) {
      return {
        problem: 'refused-credentials',
        detail: `${refused[1] ?? ''} (credentials not accepted)`,
        url: redactUrl(refused[2] ?? ''),
      };
    }
    const retry = RETRYING.exec(line);
    if (retry !== null && retried === undefined) {
      const found = classify(retry[1] ?? '');
      if (found !== undefined) retried = { ...found, url: retry[2] ?? '' };
    }
  }
  return retried;
}

/** The failure lbuild reports for an index that failed (see {@link findIndexFailure}). */
export function indexFailureOf(failure: IndexFailure, requirement?: string): PipFailure {
  const host = origin(failure.url);
  const what = requirement === undefined ? '' : ` while looking for ${requirement}`;
  switch (failure.problem) {
    case 'refused-credentials':
      return {
        reason: 'index-refused-credentials',
        kind: 'build',
        ...(requirement === undefined ? {} : { requirement }),
        message: `The package index ${host} refused the credentials (${failure.detail})${what}: ${failure.url}`,
        hint: `The token may have expired or lack access: renew it (e.g. \`aws codeartifact login --tool pip …\` for CodeArtifact, or a new token in the variable the URL takes it from), or check the login for ${host} in pip's configuration, netrc or keyring.`,
      };
    case 'unreachable':
      return {
        reason: 'index-unreachable',
        kind: 'build',
        ...(requirement === undefined ? {} : { requirement }),
        message: `The package index ${host} could not be reached (${failure.detail})${what}: ${failure.url}`,
        hint: `Check the URL (index-url, extra-index-url or find-links in lbuild.toml, pip's configuration or PIP_* variables), the network, a proxy (PIP_PROXY) or VPN; lbuild -v shows where each package source came from.`,
      };
    case 'tls':
      return {
        reason: 'index-tls-failed',
        kind: 'build',
        ...(requirement === undefined ? {} : { requirement }),
        message: `The TLS connection to the package index ${host} failed (${failure.detail})${what}: ${failure.url}`,
        hint: `If the index uses a private certificate authority, point pip at it (cert in pip.conf, or PIP_CERT); check that the URL's scheme and port are right.`,
      };
    case 'server-error':
      return {
        reason: 'index-server-error',
        kind: 'build',
        ...(requirement === undefined ? {} : { requirement }),
        message: `The package index ${host} answered with an error (${failure.detail})${what}: ${failure.url}`,
        hint: 'The index may be down; try again later, or check its status.',
      };
  }
}

/** How long the index root may take to answer a diagnosis request. */
const ROOT_TIMEOUT_MS = 5000;

/**
 * When pip found nothing and a project page of an index answered 404, asks that index's root
 * (`…/simple/`) once: a 404 there too means the index URL itself is wrong (a missing `/simple/`,
 * a wrong repository name), not that the project is missing. Logins go in a header, never in a
 * message. Anything else (an answer, no answer) leaves the usual diagnosis.
 */
export async function missingIndexRoot(
  lines: readonly string[],
  indexUrls: readonly string[],
): Promise<PipFailure | undefined> {
  const notFoundPages = lines
    .map((line) => FETCH_FAILED.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && /\b404\b/.test(m[2] ?? ''))
    .map((m) => stripCredentials(m[1] ?? ''));
  for (const indexUrl of indexUrls) {
    const root = stripCredentials(indexUrl);
    if (!/^https?:/i.test(root) || !notFoundPages.some((page) => page.startsWith(`${root}/`)))
      continue;
    if ((await rootStatus(indexUrl)) !== 404) continue;
    const shown = redactUrl(indexUrl);
    return {
      reason: 'index-not-found',
      kind: 'build',
      message: `The package index ${shown} answered 404 Not Found for its root and for the project pages pip asked for: the index URL is probably wrong.`,
      hint: "A PEP 503 index URL usually ends in /simple/ (CodeArtifact: …/pypi/REPOSITORY/simple/). Check index-url and extra-index-url in lbuild.toml, pip's configuration and PIP_* variables (lbuild -v shows where each came from).",
    };
  }
  return undefined;
}

async function rootStatus(indexUrl: string): Promise<number | undefined> {
  let url: URL;
  try {
    url = new URL(indexUrl);
  } catch {
    return undefined;
  }
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    const login = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(login).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  try {
    const response = await fetch(url, {
      headers,
      redirect: 'follow',
      signal: AbortSignal.timeout(ROOT_TIMEOUT_MS),
    });
    // Only the status matters; a root listing can be large.
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}
