/** An extra CA for TLS to the platform (server.ca_file / --ca-file): read, and checked to hold a PEM certificate. */
import { readFileSync } from 'node:fs';

export function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the CA file ${file} (server.ca_file / --ca-file): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`the CA file ${file} (server.ca_file / --ca-file) holds no PEM certificate`);
  return pem;
}
