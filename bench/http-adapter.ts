/**
 * Runs only the HTTP adapter comparison (bench/lib/http-adapter.ts): Nest on Express against Nest
 * on Fastify with the service's pipes and DTO, and bare, alternated over rounds. Prints each
 * variant's rounds and the median round as JSON lines, then the savings.
 *
 *   npm run bench:http-adapter        (BENCH_QUICK=1 for a short smoke run)
 */
import { httpAdapterPhase } from './lib/http-adapter';

async function main(): Promise<void> {
  const result = await httpAdapterPhase();
  for (const variant of result.variants) console.log(JSON.stringify(variant));
  console.log(JSON.stringify({ ...result, variants: undefined }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
