/**
 * Where a webhook may go. By default only https to public addresses: loopback, private,
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, reserved and
 * IPv6 unique-local addresses are refused unless `rules.webhooks.allowHosts` names the host
 * or `allowCidrs` holds the address. The check runs on the addresses DNS gives, at the
 * moment of connecting (so a name that changes its answer between a check and the call
 * gains nothing), and redirects are never followed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';

export interface DestinationPolicy {
  allowHosts: string[];
  allowCidrs: string[];
  allowHttp: boolean;
}

/** A destination the policy refuses: never retried, dead-lettered with this reason. */
export class DestinationRefused extends Error {
  override readonly name = 'DestinationRefused';
}

const hostAllowed = (host: string, p: DestinationPolicy) =>
  p.allowHosts.some((h) => h.toLowerCase() === host.toLowerCase());

/** Why this address may not be reached, or undefined when it may. */
export function refusedAddress(address: string, p: DestinationPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const a = ipaddr.process(address); // IPv4-mapped IPv6 judged as the IPv4 it is
  for (const cidr of p.allowCidrs) {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    if (net.kind() === a.kind() && a.match([net, bits] as never)) return undefined;
  }
  const range = a.range();
  if (range === 'unicast') return undefined;
  return `${address} is a ${range} address (allow it with rules.webhooks.allowHosts or allowCidrs)`;
}

/** Why the URL may not be called at all (scheme, credentials, a refused literal address). */
export function refusedUrl(raw: string, p: DestinationPolicy): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `${JSON.stringify(raw)} is not a URL`;
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && p.allowHttp))
    return `${u.protocol}// is not allowed (https only, unless rules.webhooks.allowHttp)`;
  if (u.username || u.password) return 'credentials in the URL are not allowed';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (hostAllowed(host, p)) return undefined;
  if (ipaddr.isValid(host)) return refusedAddress(host, p);
  return undefined; // a name: judged on the addresses it resolves to, when connecting
}

/** The DNS lookup of the policy's connections: refuses a name resolving to a refused address. */
function policyLookup(p: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { ...(options as object), all: true };
    dnsLookup(hostname, all, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      if (!hostAllowed(hostname, p))
        for (const a of addresses) {
          const why = refusedAddress(a.address, p);
          if (why) return callback(new DestinationRefused(`${hostname} resolves to ${why}`), '', 4);
        }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** An HTTP agent whose every connection goes where the policy allows. */
export function policyAgent(p: DestinationPolicy, timeoutMs: number): Agent {
  return new Agent({
    connect: { lookup: policyLookup(p), timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}
