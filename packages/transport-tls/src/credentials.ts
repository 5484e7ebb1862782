import { readFileSync } from 'node:fs';
import { TLSConfigError } from './tls-errors.js';

/** PEM text or bytes. */
export type PEM = string | Uint8Array;

/**
 * Resolves one credential given either inline (`value`, PEM text/bytes, or a path when the
 * text holds no PEM block) or as a file (`file`). Giving both is an error.
 */
export function loadPEM(name: string, value: PEM | undefined, fileName: string, file: string | undefined): Buffer | undefined {
  if (value !== undefined && file !== undefined) {
    throw new TLSConfigError(name, `give either ${name} or ${fileName}, not both`);
  }
  if (file !== undefined) return readPEMFile(fileName, file);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value.includes('-----BEGIN ')) return Buffer.from(value);
  return readPEMFile(name, value);
}

/** Like `loadPEM` for options that take one PEM or a list of them (CA bundles). */
export function loadPEMList(
  name: string,
  value: PEM | PEM[] | undefined,
  fileName: string,
  file: string | string[] | undefined,
): Buffer[] | undefined {
  if (value !== undefined && file !== undefined) {
    throw new TLSConfigError(name, `give either ${name} or ${fileName}, not both`);
  }
  if (file !== undefined) {
    const files = Array.isArray(file) ? file : [file];
    return files.map((f) => readPEMFile(fileName, f));
  }
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => loadPEM(name, v, fileName, undefined) as Buffer);
}

function readPEMFile(option: string, path: string): Buffer {
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'read error';
    throw new TLSConfigError(option, `cannot read ${path} (${code})`, { cause: err });
  }
  if (!contents.includes('-----BEGIN ')) {
    throw new TLSConfigError(option, `${path} holds no PEM block`);
  }
  return contents;
}
