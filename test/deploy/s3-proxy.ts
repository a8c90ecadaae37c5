import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the proxy passed on (or answered itself), as lbuild sent it. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, e.g. `/bucket/key.zip`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** How the request ended: the status sent back to lbuild. */
  status?: number;
}

/**
 * An HTTP proxy between lbuild and s3rver: it records every request, and on demand
 * - `corruptPuts`: flips one byte in the middle of each PUT body on the way (same length, headers
 *   untouched), as a faulty network or middlebox would;
 * - `checkDigests`: answers a PUT whose body does not match its Content-MD5 or
 *   x-amz-checksum-sha256 header as S3 does (400 BadDigest / XAmzContentChecksumMismatch).
 *   s3rver 3.7.1 accepts any value of either header, so without this nothing checks them;
 * - `versionId`: adds x-amz-version-id to PUT answers, as a versioned bucket does.
 */
export interface S3Proxy {
  endpoint: string;
  requests: ProxiedRequest[];
  corruptPuts: boolean;
  checkDigests: boolean;
  versionId: string | undefined;
  close(): Promise<void>;
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** Why S3 would refuse this PUT body, or undefined when its digest headers match it. */
function digestMismatch(body: Buffer, headers: IncomingHttpHeaders): string | undefined {
  const md5 = headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5)
    return s3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  const sha256 = headers['x-amz-checksum-sha256'];
  if (typeof sha256 === 'string' && createHash('sha256').update(body).digest('base64') !== sha256)
    return s3Error(
      'XAmzContentChecksumMismatch',
      'The SHA256 you specified did not match the calculated checksum.',
    );
  return undefined;
}

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const proxy: S3Proxy = {
    endpoint: '',
    requests: [],
    corruptPuts: false,
    checkDigests: false,
    versionId: undefined,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record: ProxiedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: { ...req.headers },
      };
      proxy.requests.push(record);
      const body = Buffer.concat(chunks);
      const isPut = req.method === 'PUT' && body.length > 0;
      if (isPut && proxy.corruptPuts) {
        const middle = Math.floor(body.length / 2);
        body[middle] = (body[middle] ?? 0) ^ 0xff;
      }
      const refusal = isPut && proxy.checkDigests ? digestMismatch(body, req.headers) : undefined;
      if (refusal !== undefined) {
        record.status = 400;
        res.writeHead(400, { 'content-type': 'application/xml' }).end(refusal);
        return;
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (answer) => {
          record.status = answer.statusCode;
          const headers = { ...answer.headers };
          if (isPut && proxy.versionId !== undefined) headers['x-amz-version-id'] = proxy.versionId;
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        record.status = 502;
        res.writeHead(502).end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  return proxy;
}
