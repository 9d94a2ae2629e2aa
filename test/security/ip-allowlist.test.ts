import { expect } from 'chai';
import { isAllowed, parseAllowlist } from '../../src/security/ip-allowlist.js';

describe('IP allowlist parsing', function () {
  it('parses addresses and CIDR ranges of both families', function () {
    const list = parseAllowlist(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', ' 172.16.0.0/12 ']);
    expect(isAllowed(list, '10.1.2.3')).to.equal(true);
    expect(isAllowed(list, '::ffff:10.1.2.3')).to.equal(true);
    expect(isAllowed(list, '192.168.1.7')).to.equal(true);
    expect(isAllowed(list, '192.168.1.8')).to.equal(false);
    expect(isAllowed(list, '172.31.255.255')).to.equal(true);
    expect(isAllowed(list, 'fd12::1')).to.equal(true);
    expect(isAllowed(list, 'fe80::1')).to.equal(false);
    expect(isAllowed(list, '')).to.equal(false);
  });

  it('refuses anything that is not exactly an address or address/prefix, naming the entry', function () {
    const bad = [
      '10.0.0.0/', '10.0.0.0/8/99', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/08',
      '10.0.0.0 /8', '10.0.0.0/ 8', '/8', '', 'example.com', '10.0.0', '10.0.0.0/8,11.0.0.0/8', '10.0.0.0/1e1',
      '10.0.0.0/0x8', '256.0.0.0/8', 'fe80::1%eth0', '*',
    ];
    for (const entry of bad) {
      expect(() => parseAllowlist([entry]), JSON.stringify(entry)).to.throw(entry.trim() === '' ? /is not an IP/ : entry);
    }
  });

  it('accepts the extremes that are meant', function () {
    expect(isAllowed(parseAllowlist(['0.0.0.0/0']), '203.0.113.9')).to.equal(true);
    expect(isAllowed(parseAllowlist(['::/0']), '2001:db8::1')).to.equal(true);
    expect(isAllowed(parseAllowlist(['203.0.113.9/32']), '203.0.113.9')).to.equal(true);
  });
});
