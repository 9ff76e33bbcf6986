import { gunzipSync } from 'node:zlib';

/** The largest bundle accepted: a policy is kilobytes; anything near this is a mistake, not a policy. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** PAX extended headers ("<len> key=value\n" records): only `path` matters to us. */
function paxPath(body: Buffer): string | null {
  for (const record of body.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match?.[1]) return match[1];
  }
  return null;
}

/**
 * The regular files of a .tar.gz (ustar, with GNU and PAX long names), by path without a leading slash. OPA writes
 * bundles with Go's archive/tar; this reads that format and refuses anything truncated or oversized.
 */
export function readTarGz(compressed: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(compressed, { maxOutputLength: MAX_BUNDLE_BYTES });
  const files = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | null = null;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new Error('corrupt tar header (size)');
    const type = String.fromCharCode(header[156] ?? 0);
    const bodyStart = offset + BLOCK;
    if (bodyStart + size > tar.length) throw new Error('truncated tar archive');
    const body = tar.subarray(bodyStart, bodyStart + size);
    offset = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(body);
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = null;
    if (type === '0' || type === '\0') files.set(name.replace(/^\.?\/+/, ''), Buffer.from(body));
  }
  return files;
}
