import { contextFor } from '../../testing/http-context';
import { bearerToken } from './bearer-token';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Basic abc', null],
    ['Bearer', null],
    ['Bearer a b', null],
  ])('reads %p as %p', (header, token) => {
    expect(bearerToken(contextFor(header).request)).toBe(token);
  });

  it('is null without a header', () => {
    expect(bearerToken(contextFor().request)).toBeNull();
  });
});
