import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey } from './api-key';

describe('API keys', () => {
  it('are hs_ + base64url of 32 bytes, hashed with SHA-256', () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^hs_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toBe(hash);
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix).toHaveLength(11);
    expect(generateApiKey().key).not.toBe(key);
  });
});
