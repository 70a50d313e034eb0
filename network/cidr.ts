/**
 * IPv4 addresses and prefixes as numbers: parsing, formatting, overlap, and the addresses a subnet
 * hands out. Only IPv4: the networks are IPv4 bridges (as docker's default).
 */
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../core/index.js';

export interface Cidr {
  /** The network address (host bits cleared). */
  readonly base: number;
  readonly prefixLen: number;
}

/** 'a.b.c.d' → a 32-bit unsigned number; undefined when it is not an IPv4 address. */
export function parseIPv4(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function size(prefixLen: number): number {
  return 2 ** (32 - prefixLen);
}

/** 'a.b.c.d/n' → a Cidr (host bits cleared); undefined when malformed. */
export function tryParseCidr(text: string): Cidr | undefined {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const address = parseIPv4(match[1] ?? '');
  const prefixLen = Number(match[2]);
  if (address === undefined || prefixLen > 32) return undefined;
  return { base: address - (address % size(prefixLen)), prefixLen };
}

/** A subnet given by the user (`flag` names it in the error): IPv4, /8 to /30. */
export function parseSubnet(text: string, flag: string): Cidr {
  const cidr = tryParseCidr(text);
  if (cidr === undefined)
    throw new InvalidArgumentError(
      `invalid ${flag} ${JSON.stringify(text)}: want an IPv4 subnet such as 172.30.5.0/24`,
    );
  if (cidr.prefixLen < 8 || cidr.prefixLen > 30)
    throw new InvalidArgumentError(`invalid ${flag} ${text}: the prefix length must be between 8 and 30`);
  return cidr;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.base)}/${cidr.prefixLen}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b.prefixLen) && b.base < a.base + size(a.prefixLen);
}

/** Whether `address` is a usable host address of `cidr` (not its network or broadcast address). */
export function isHostAddress(cidr: Cidr, address: number): boolean {
  return address > cidr.base && address < cidr.base + size(cidr.prefixLen) - 1;
}

/** The first host address of `cidr` (the default gateway). */
export function firstHost(cidr: Cidr): number {
  return cidr.base + 1;
}

/** The lowest host address of `cidr` not in `taken`, or undefined when the subnet is full. */
export function freeHost(cidr: Cidr, taken: ReadonlySet<number>): number | undefined {
  for (let a = cidr.base + 1; a < cidr.base + size(cidr.prefixLen) - 1; a++) if (!taken.has(a)) return a;
  return undefined;
}

/** The /24s of `pool`, in order. */
export function* subnetsOf(pool: Cidr, prefixLen: number): Generator<Cidr> {
  for (let base = pool.base; base < pool.base + size(pool.prefixLen); base += size(prefixLen))
    yield { base, prefixLen };
}

/** docker's MAC for an address: 02:42 and the four bytes of the IPv4 address. */
export function macForAddress(address: number): string {
  const bytes = [0x02, 0x42, ...formatIPv4(address).split('.').map(Number)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
