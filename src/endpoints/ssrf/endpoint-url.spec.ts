import { parseCidrList } from '../../domain/egress/cidr';
import { EgressPolicy } from '../../domain/egress/ip-classifier';
import { checkEndpointUrl, type HostLookup } from './endpoint-url';

const strict = new EgressPolicy([]);

describe('checkEndpointUrl', () => {
  const names: Record<string, string[]> = {
    'public.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'rebind.test': ['93.184.215.14', '10.0.0.5'],
    'metadata.test': ['169.254.169.254'],
    'empty.test': [],
  };
  const lookups: string[] = [];
  const lookup: HostLookup = async (host) => {
    lookups.push(host);
    const found = names[host];
    if (!found) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return found;
  };
  const check = (url: string, httpsOnly = false, policy = strict) =>
    checkEndpointUrl(url, policy, { httpsOnly, lookup });

  beforeEach(() => lookups.splice(0));

  it('accepts a public https URL without a lookup for literal addresses', async () => {
    await expect(check('https://93.184.215.14/hooks')).resolves.toEqual([]);
    expect(lookups).toEqual([]);
  });

  it('accepts a name whose every address is public', async () => {
    await expect(check('https://public.test/hooks?x=1')).resolves.toEqual([]);
    expect(lookups).toEqual(['public.test']);
  });

  it.each([
    ['ftp://public.test/', /scheme must be http or https/],
    ['javascript:alert(1)', /scheme must be http or https/],
    ['not a url', /absolute http or https URL/],
    ['https://user:pass@public.test/', /must not contain credentials/],
    ['https://user@public.test/', /must not contain credentials/],
    ['https://rebind.test/', /^url host rebind\.test does not resolve to an address endpoints may use/],
    ['https://metadata.test/', /^url host metadata\.test does not resolve to an address endpoints may use/],
    ['https://empty.test/', /^url host empty\.test does not resolve to an address endpoints may use/],
    ['https://missing.test/', /^url host missing\.test does not resolve to an address endpoints may use/],
    ['http://10.0.0.1/', /private address 10\.0\.0\.1/],
    ['http://169.254.169.254/latest/meta-data', /link-local \(cloud metadata\)/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://[::ffff:10.0.0.1]/', /IPv4-mapped/],
    ['http://[64:ff9b::a00:1]/', /NAT64/],
    ['http://0x7f.1/', /loopback address 127\.0\.0\.1/],
    ['http://2130706433/', /loopback address 127\.0\.0\.1/],
    ['http://017700000001/', /loopback address 127\.0\.0\.1/],
    ['http://[::1]:8080/', /loopback address ::1/],
    ['http://0/', /unspecified/],
  ])('refuses %s', async (url, problem) => {
    const problems = await check(url);
    expect(problems.join('\n')).toMatch(problem);
  });

  it("tells a name's refusal apart from nothing: not its addresses, their range, or whether it resolves", async () => {
    const answers = await Promise.all(
      ['rebind', 'metadata', 'empty', 'missing'].map(async (name) => {
        const [problem] = await check(`https://${name}.test/`);
        return problem.replace(`${name}.test`, 'NAME');
      }),
    );
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).not.toMatch(/\d+\.\d+|private|metadata|ENOTFOUND/);
  });

  it('refuses a URL over 2048 characters', async () => {
    await expect(check(`https://public.test/${'a'.repeat(2048)}`)).resolves.toEqual([
      'url must be at most 2048 characters',
    ]);
  });

  it('requires https when httpsOnly is set', async () => {
    await expect(check('http://public.test/', true)).resolves.toEqual(['url must use https']);
    await expect(check('https://public.test/', true)).resolves.toEqual([]);
  });

  it('accepts loopback only when allowlisted', async () => {
    const dev = new EgressPolicy(parseCidrList('127.0.0.0/8'));
    await expect(check('http://127.0.0.1:3000/hook', false, dev)).resolves.toEqual([]);
    await expect(check('http://0x7f.1:3000/hook', false, dev)).resolves.toEqual([]);
    await expect(check('http://127.0.0.1:3000/hook')).resolves.toHaveLength(1);
  });
});

describe('checkEndpointUrl, characters', () => {
  const allowAll = new EgressPolicy(parseCidrList('0.0.0.0/0,::/0'));
  it.each([
    ['a tab the URL parser would drop', 'http://127.0.0.1/a\tb'],
    ['a NUL', 'http://127.0.0.1/\u0000'],
    ['an unpaired surrogate', 'http://127.0.0.1/\ud800'],
    ['a space', 'http://127.0.0.1/a b'],
  ])('refuses %s, so the stored URL is the one dialled', async (_what, url) => {
    expect(await checkEndpointUrl(url, allowAll, { httpsOnly: false, lookup: async () => [] })).toEqual([
      'url must not contain spaces, control characters or unpaired surrogates',
    ]);
  });
});
