/** The path of a request target, without its query string (`/v1/events?x=1` -> `/v1/events`). */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
