// The plan's per-instance IP allowlists: parsing and matching, nothing of HTTP. node:net's BlockList does the
// matching; the parsing is strict here because BlockList takes whatever prefix it is handed, and a lax split once
// read `10.0.0.0/` as /0 (everyone) and ignored the tail of `10.0.0.0/8/99`.
import { BlockList, isIP } from 'node:net';
import { BadRequest } from '../errors.js';

/** An address, optionally followed by `/` and a decimal prefix length: nothing else, no spaces inside. */
const ENTRY = /^([0-9A-Fa-f:.]+)(?:\/(0|[1-9]\d{0,2}))?$/;

/** Parses CIDRs or single addresses into a BlockList; throws BadRequest naming the first bad entry. */
export function parseAllowlist(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const match = ENTRY.exec(entry.trim());
    const family = match ? isIP(match[1] as string) : 0;
    const max = family === 6 ? 128 : 32;
    const prefix = match?.[2] === undefined ? max : Number(match[2]);
    if (!match || family === 0 || prefix > max) {
      throw new BadRequest(`"${entry}" is not an IP address or address/prefix (for example 10.0.0.0/8 or fd00::/8)`);
    }
    list.addSubnet(match[1] as string, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether `ip` (as Node reports it: IPv4-mapped IPv6 included) is on the list. */
export function isAllowed(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = mapped ?? ip;
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
