import { InputError } from './errors.js';

/**
 * HOST:PORT as given to --head: a name or IPv4 address, or an IPv6 address in brackets, and a port
 * 1-65535. `field` names the flag in the error.
 */
export function splitHostPort(text: string, field: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new InputError(field, `${field} must be HOST:PORT (got ${JSON.stringify(text)})`);
  return { host: (m[1] ?? m[2]) as string, port };
}
