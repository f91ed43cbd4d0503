import { withEndpointOrigins, type OpsSummaryView } from './ops-summary';

describe('withEndpointOrigins', () => {
  it("cuts each endpoint URL to its origin, so a URL's path or query credential stays with the admin token", () => {
    const endpoint = (url: string) => ({ id: url, url }) as OpsSummaryView['endpoints'][number];
    const view = {
      endpointCount: 3,
      endpoints: [
        endpoint('https://hooks.slack.com/services/T01/B02/XXXXXXXX'),
        endpoint('https://receiver.example:8443/hook?token=abc'),
        endpoint('http://127.0.0.1:9/'),
      ],
    } as OpsSummaryView;
    expect(withEndpointOrigins(view)).toEqual({
      endpointCount: 3,
      endpoints: [
        { id: 'https://hooks.slack.com/services/T01/B02/XXXXXXXX', url: 'https://hooks.slack.com' },
        { id: 'https://receiver.example:8443/hook?token=abc', url: 'https://receiver.example:8443' },
        { id: 'http://127.0.0.1:9/', url: 'http://127.0.0.1:9' },
      ],
    });
  });
});
