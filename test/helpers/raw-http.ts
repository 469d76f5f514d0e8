/**
 * One HTTP/1.1 request written byte for byte on a socket: the request target goes out exactly as given
 * (absolute-form, `//`, `%2e%2e`, what `curl --path-as-is` sends), where `app.inject()` and fetch would parse and
 * tidy it first.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body when the answer gives its length (not for HEAD); '' otherwise, as a stream is not waited for. */
  body: string;
}

export function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target} in 10 s`)));
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    let head: Omit<RawResponse, 'body'> | undefined;
    let bodyStart = 0;
    let done = false;
    const finish = (body: string): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ ...head!, body });
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (head === undefined) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const [statusLine, ...fields] = buffered.subarray(0, end).toString('latin1').split('\r\n');
        const parsed: Record<string, string> = {};
        for (const f of fields) {
          const colon = f.indexOf(':');
          parsed[f.slice(0, colon).trim().toLowerCase()] = f.slice(colon + 1).trim();
        }
        head = { status: Number(statusLine!.split(' ')[1]), headers: parsed };
        bodyStart = end + 4;
        if (method === 'HEAD' || parsed['content-length'] === undefined) return finish('');
      }
      const length = Number(head.headers['content-length']);
      if (buffered.length - bodyStart >= length) finish(buffered.subarray(bodyStart, bodyStart + length).toString('utf8'));
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (head === undefined) reject(new Error(`connection closed before an answer to ${method} ${target}`));
      else finish(buffered.subarray(bodyStart).toString('utf8'));
    });
  });
}
