/** GET /metrics of a running service, as text. */
export async function scrape(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/**
 * The value of one series in a Prometheus text exposition, named as it is printed
 * (`name{label="value",...}` with the labels in the registry's order), or 0 when absent: a counter
 * not yet incremented is not printed.
 */
export function sampleOf(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The sum of one series over several services (replicas). */
export async function summed(baseUrls: string[], series: string): Promise<number> {
  const texts = await Promise.all(baseUrls.map(scrape));
  return texts.reduce((total, text) => total + sampleOf(text, series), 0);
}
