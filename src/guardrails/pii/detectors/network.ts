import { isIPv6 } from 'node:net';
import { textBefore } from '../context.ts';
import { isNonPersonalIPv4, isNonPersonalIPv6 } from '../placeholders.ts';
import type { Detector, Range } from './detector.ts';

/**
 * IP addresses of hosts, public or private. Loopback, unspecified, broadcast, multicast and documentation ranges
 * identify nobody; a dotted quad that is a version ("v1.2.3.4"), part of an OID or a longer dotted number is not an
 * address; a network written with its prefix length (10.0.0.0/8) is a range, not a host.
 */

const IPV4 = /(?<![\w.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\w]|\.\d)(\/\d{1,2})?/g;

const VERSION_CUE = /(?<![a-z])(?:v|(?:upgrade|update|bump|downgrade|pin|migrate)(?:d|ed)? to|version|ver\.?|release|build|phiên bản|bản|firmware|node|python|java|go|ruby|php|npm|pip|chrome|firefox|ios|android|windows|kernel|sdk|api|oid|@|==|>=|<=|~=|\^|~)\s*$/;

/**
 * Versions written like addresses (firmware 3.0.4.6, "the lib pins urllib3 2.1.1.6", "Chrome … worked on 2.8.7.5"):
 * a quad whose first part is one digit, in a sentence about versions and not about networks.
 */
const VERSION_TALK = /(?<![a-z])(?:version|versions|firmware|release|build|upgrade|downgrade|pins?|pinned|regression|changelog|patch|phiên bản|bản|chrome|firefox|safari|edge|windows|macos|ios|android|kernel|python|node|npm|pip|package|lib|library)(?![a-z])/;
const NETWORK_TALK = /(?<![a-z])(?:ip|ips|ipv4|address|addr|host|hosts|server|ping|ssh|router|gateway|dns|subnet|proxy|firewall|connect|connection|nat|vpn|lan|wan|địa chỉ|máy chủ)(?![a-z])/;

function versionLike(text: string, start: number, octets: number[]): boolean {
  if ((octets[0] ?? 0) >= 10) return false;
  const sentence = text.slice(Math.max(0, start - 80), start).split(/[.!?\n](?=\s)/).at(-1)?.toLowerCase() ?? '';
  return VERSION_TALK.test(sentence) && !NETWORK_TALK.test(sentence);
}

const ipv4: Detector = {
  type: 'ip_address',
  name: 'IPv4 address',
  find(text: string, into: Range[]): void {
    IPV4.lastIndex = 0;
    for (let match = IPV4.exec(text); match; match = IPV4.exec(text)) {
      const address = match[1] ? match[0].slice(0, -match[1].length) : match[0];
      const octets = address.split('.').map(Number);
      if (isNonPersonalIPv4(octets)) continue;
      // 10.0.0.0/8 is a network; 10.0.0.7/24 is a host with its netmask (the host is the value).
      if (match[1] && octets[3] === 0) continue;
      // Subnet masks (255.255.255.0, 255.255.0.0) fall under isNonPersonalIPv4 (255.x); 0.x likewise.
      if (VERSION_CUE.test(textBefore(text, match.index, 16)) || versionLike(text, match.index, octets)) continue;
      into.push([match.index, match.index + address.length]);
    }
  },
};

/** Candidate IPv6: hex groups and colons (with an optional embedded IPv4 tail); the parser decides. */
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)/g;

const ipv6: Detector = {
  type: 'ip_address',
  name: 'IPv6 address',
  requires: ':',
  find(text: string, into: Range[]): void {
    IPV6_CANDIDATE.lastIndex = 0;
    for (let match = IPV6_CANDIDATE.exec(text); match; match = IPV6_CANDIDATE.exec(text)) {
      const value = match[0];
      if (match[0].length === 0) {
        IPV6_CANDIDATE.lastIndex += 1;
        continue;
      }
      const lower = value.toLowerCase();
      // Three groups at least, and digits: "a::b" and "dead:beef::" are more likely code than an address.
      if (!isIPv6(value) || isNonPersonalIPv6(lower) || (lower.match(/[0-9a-f]+/g)?.length ?? 0) < 3 || !/\d/.test(value)) continue;
      into.push([match.index, match.index + value.length]);
    }
  },
};

export const IP_DETECTORS: readonly Detector[] = [ipv4, ipv6];
