/** A one-shot HTTPS request with explicit trust (`ca`) and SNI (`servername`), for tests of TLS-served fakes. */
import https from 'node:https';

export interface HttpsRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The only certificates trusted; omitted = Node's bundled public roots. */
  ca?: string;
  /** The name the certificate must carry (sent as SNI); defaults to the URL's host. */
  servername?: string;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function httpsRequest(url: string, options: HttpsRequestOptions = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.body === undefined ? options.headers : { 'content-type': 'application/json', ...options.headers },
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.servername !== undefined ? { servername: options.servername } : {}),
        // A fresh connection per request: a pooled socket would skip the handshake this request means to test.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
