import { parseCidrList } from './cidr';
import { EgressPolicy, normalizeHost } from './ip-classifier';

const strict = new EgressPolicy([]);

describe('EgressPolicy.refusalReason', () => {
  const refused: Array<[string, RegExp]> = [
    ['127.0.0.1', /^loopback address 127\.0\.0\.1/],
    ['127.255.255.254', /^loopback/],
    ['10.0.0.1', /^private address 10\.0\.0\.1/],
    ['172.16.0.1', /^private/],
    ['172.31.255.255', /^private/],
    ['192.168.1.1', /^private/],
    ['169.254.169.254', /^link-local \(cloud metadata\) address 169\.254\.169\.254/],
    ['169.254.1.1', /^link-local address/],
    ['168.63.129.16', /^cloud platform \(Azure WireServer\) address 168\.63\.129\.16/],
    ['::ffff:168.63.129.16', /^IPv4-mapped/],
    ['2002:a83f:8110::1', /^6to4 embedding cloud platform/],
    ['100.64.0.1', /^carrier-grade NAT/],
    ['100.127.255.255', /^carrier-grade NAT/],
    ['224.0.0.1', /^multicast/],
    ['239.255.255.250', /^multicast/],
    ['0.0.0.0', /^unspecified/],
    ['0.1.2.3', /^unspecified/],
    ['255.255.255.255', /^broadcast/],
    ['240.0.0.1', /^reserved/],
    ['192.0.2.1', /^reserved or documentation/],
    ['198.51.100.7', /^reserved or documentation/],
    ['203.0.113.9', /^reserved or documentation/],
    ['198.18.0.1', /^reserved/],
    ['192.0.0.8', /^reserved/],
    ['::1', /^loopback address ::1/],
    ['::', /^unspecified/],
    ['fc00::1', /^unique-local/],
    ['fd12:3456::1', /^unique-local/],
    ['fe80::1', /^link-local/],
    ['fec0::1', /^site-local/],
    ['ff02::1', /^multicast/],
    ['::ffff:10.0.0.1', /^IPv4-mapped \(10\.0\.0\.1\)/],
    ['::ffff:127.0.0.1', /^IPv4-mapped \(127\.0\.0\.1\)/],
    ['::ffff:8.8.8.8', /^IPv4-mapped \(8\.8\.8\.8\)/],
    ['::ffff:0:a00:1', /^IPv4-translated/],
    ['::a00:1', /^IPv4-compatible/],
    ['64:ff9b::a00:1', /^NAT64 \(embeds 10\.0\.0\.1\)/],
    ['64:ff9b::7f00:1', /^NAT64 \(embeds 127\.0\.0\.1\)/],
    ['64:ff9b:1::a00:1', /^NAT64/],
    ['2002:a00:1::1', /^6to4 embedding private 10\.0\.0\.1/],
    ['2002:7f00:1::1', /^6to4 embedding loopback 127\.0\.0\.1/],
    ['2002:a9fe:a9fe::1', /^6to4 embedding link-local \(cloud metadata\)/],
    // Teredo with server 8.8.8.8 and client 10.0.0.1 (stored bit-inverted as f5ff:fffe).
    ['2001:0:808:808::f5ff:fffe', /^Teredo embedding private 10\.0\.0\.1/],
    ['2001:0:a00:1::1', /^Teredo embedding private 10\.0\.0\.1/],
    ['2001:db8::1', /^reserved/],
    ['2001:2::1', /^benchmarking/],
    ['100::1', /^discard-only/],
    ['4000::1', /^non-global/],
    ['not-an-ip', /is not an IP address/],
  ];

  it.each(refused)('refuses %s', (address, reason) => {
    expect(strict.refusalReason(address)).toMatch(reason);
  });

  it.each(['8.8.8.8', '93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001::200e'])(
    'allows the public address %s',
    (address) => {
      expect(strict.refusalReason(address)).toBeNull();
    },
  );

  it('allows 6to4 and Teredo addresses that embed public IPv4 addresses', () => {
    expect(strict.refusalReason('2002:808:808::1')).toBeNull();
    // server 8.8.8.8, client 1.1.1.1 inverted = fefe:fefe
    expect(strict.refusalReason('2001:0:808:808::fefe:fefe')).toBeNull();
  });

  it('accepts bracketed IPv6 literals', () => {
    expect(strict.refusalReason('[::1]')).toMatch(/^loopback/);
  });

  describe('with an allowlist', () => {
    const policy = new EgressPolicy(parseCidrList('127.0.0.0/8,::1/128,10.1.0.0/16'));

    it.each(['127.0.0.1', '127.9.9.9', '::1', '10.1.2.3', '::ffff:127.0.0.1'])('allows %s', (address) => {
      expect(policy.refusalReason(address)).toBeNull();
    });

    it.each(['10.2.0.1', '169.254.169.254', '192.168.0.1', 'fe80::1'])(
      'still refuses %s outside it',
      (address) => {
        expect(policy.refusalReason(address)).not.toBeNull();
      },
    );
  });
});

describe('normalizeHost', () => {
  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['[::1]', '::1'],
    ['[::FFFF:10.0.0.1]', '::ffff:a00:1'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
  ])('reads %s as the address %s', (host, address) => {
    expect(normalizeHost(host)).toEqual({ kind: 'ip', address });
  });

  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['localhost', 'localhost'],
    ['1.2.3.example', '1.2.3.example'],
  ])('reads %s as the DNS name %s', (host, name) => {
    expect(normalizeHost(host)).toEqual({ kind: 'name', name });
  });

  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://[::ffff:10.0.0.1]/', '::ffff:a00:1'],
    ['http://[64:ff9b::a00:1]/', '64:ff9b::a00:1'],
  ])('agrees with the WHATWG URL parser for %s', (url, address) => {
    expect(normalizeHost(new URL(url).hostname)).toEqual({ kind: 'ip', address });
  });
});
