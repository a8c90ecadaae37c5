import { chmod, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { configError } from '@lbuild/core';
import { compareVersions } from './platform.js';

interface Login {
  login: string;
  /** Undefined for a token given as the user name alone (`https://TOKEN@host/`). */
  password: string | undefined;
}

/** Tokens a netrc parser of any Python reads back as written, without quotes or escapes. */
const PLAIN =
  /^[A-Za-z0-9!$%&()*+,\-./:;<=>?@[\]^_`{|}~][A-Za-z0-9!#$%&()*+,\-./:;<=>?@[\]^_`{|}~]*$/;

function netrcToken(value: string): string {
  return PLAIN.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Credentials taken out of package-source URLs before pip sees them. A URL with `user:token@`
 * on pip's command line is readable by every local user (`ps`, /proc/PID/cmdline), and pip hands
 * its index URLs on to the command line of the pip it starts to install build requirements. So
 * pip gets the URLs without their user info, and the logins from a private netrc file (NETRC),
 * which pip's HTTP layer consults per host, its child processes included.
 *
 * netrc holds one login per host name (requests ignores the port), so two URLs on one host with
 * different logins cannot both be served: that is a config error rather than a guess.
 */
export class PipCredentials {
  readonly #hosts = new Map<string, Login>();

  /** Whether any URL carried a login. */
  get empty(): boolean {
    return this.#hosts.size === 0;
  }

  /**
   * The URL without its user info, remembering the login for its host. Anything else (a path, a
   * URL without a login) comes back unchanged. Credentials in query parameters stay in the URL:
   * netrc cannot carry them.
   */
  take(url: string): string {
    if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) return url;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return url;
    }
    if (parsed.username === '' && parsed.password === '') return url;
    const login: Login = {
      login: decode(parsed.username),
      password: parsed.password === '' ? undefined : decode(parsed.password),
    };
    const host = parsed.hostname;
    const known = this.#hosts.get(host);
    if (known !== undefined && (known.login !== login.login || known.password !== login.password)) {
      throw configError(
        'index-credentials-conflict',
        `Two package-source URLs on ${host} carry different logins. lbuild passes logins to pip per host name (in a private netrc file, never on its command line), so it can pass only one for ${host}.`,
        {
          hint: `Use one login (e.g. a token with access to both) in every URL on ${host}, in lbuild.toml and the requirements files.`,
        },
      );
    }
    this.#hosts.set(host, login);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  }

  /**
   * Writes the netrc file `<dir>/netrc` (mode 0600; `dir` should be private and is removed by
   * the caller) and returns the variable that points pip at it. The user's own netrc (NETRC, or
   * ~/.netrc) comes first, so hosts it serves keep working; lbuild's logins follow and win, as
   * URL logins did. Nothing when no URL carried a login: pip then reads the user's netrc itself.
   */
  async write(
    dir: string,
    opts: { pythonVersion: string; env: Readonly<Record<string, string | undefined>> },
  ): Promise<Record<string, string>> {
    if (this.empty) return {};
    const modern = compareVersions(opts.pythonVersion, '3.10') >= 0;
    const lines: string[] = [];
    for (const [host, { login, password }] of this.#hosts) {
      const plain = PLAIN.test(login) && (password === undefined || PLAIN.test(password));
      if (!modern && (!plain || password === undefined)) {
        // Before 3.10 Python's netrc reads no quoted tokens and needs a password on every entry.
        throw configError(
          'index-credentials-unsupported',
          `The login for ${host} in a package-source URL ${password === undefined ? 'has no password' : 'contains spaces, quotes or backslashes'}, which the build Python ${opts.pythonVersion} cannot read from a netrc file (Python 3.10 or newer can).`,
          {
            hint: 'Set build-python in lbuild.toml to Python 3.10 or newer, or use a login of letters, digits and punctuation with a password.',
          },
        );
      }
      const entry = [`machine ${netrcToken(host)}`, `login ${netrcToken(login)}`];
      if (password !== undefined) entry.push(`password ${netrcToken(password)}`);
      lines.push(entry.join(' '));
    }
    const own = await userNetrc(opts.env);
    // Whoever made `dir`, only this user may list or enter it while the logins are there.
    await chmod(dir, 0o700);
    const file = join(dir, 'netrc');
    // A blank line ends any `macdef` the user's file ends with.
    await writeFile(file, `${own === '' ? '' : `${own}\n\n`}${lines.join('\n')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return { NETRC: file };
  }
}

/** The netrc pip would have read (NETRC, else ~/.netrc or ~/_netrc), or '' when there is none. */
async function userNetrc(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const home = env.HOME ?? homedir();
  const candidates =
    env.NETRC !== undefined ? [env.NETRC] : [join(home, '.netrc'), join(home, '_netrc')];
  for (const path of candidates) {
    try {
      return (await readFile(path, 'utf8')).trimEnd();
    } catch {
      // Missing or unreadable: pip would have had nothing from it either.
    }
  }
  return '';
}
