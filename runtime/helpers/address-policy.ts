// Which addresses a replica may fetch from. Under `public`, only public unicast: a URL a client
// sends must not reach the pod's own loopback, the cluster's private network, or the cloud's
// metadata service at 169.254.169.254 / fd00:ec2::254, whichever way the address is spelled.
import { BlockList, isIPv4 } from 'node:net';
import type { FetchPolicy } from '../settings.js';

const notPublic = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT, also where some clouds keep their metadata service
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: the metadata service
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and broadcast
] as const) notPublic.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, fd00:ec2::254 among them
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local, deprecated but routed by some
  ['ff00::', 8], // multicast
  ['64:ff9b:1::', 48], // local-use NAT64
] as const) notPublic.addSubnet(net, bits, 'ipv6');

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), which is what it reaches. */
function embeddedIPv4(address: string): string | undefined {
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1];
  const groups = expand(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && (groups[5] === 0xffff || groups[5] === 0)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return undefined;
}

/** Eight 16-bit groups; the input is an address net.isIP already accepted. */
function expand(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -tail[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16));
}

export function isPublic(address: string): boolean {
  if (isIPv4(address)) return !notPublic.check(address, 'ipv4');
  const v4 = embeddedIPv4(address.replace(/%.*$/, ''));
  if (v4 !== undefined && !isPublic(v4)) return false;
  return !notPublic.check(address.replace(/%.*$/, ''), 'ipv6');
}

export function allowed(policy: FetchPolicy, address: string): boolean {
  if (policy.addresses === 'any' || isPublic(address)) return true;
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  return policy.allow.check(address, family);
}
