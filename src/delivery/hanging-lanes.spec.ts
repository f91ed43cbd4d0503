import pino from 'pino';
import { Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { HangingLanes, LANE_HANG_VOUCH_MS } from './hanging-lanes';

describe('HangingLanes', () => {
  const config = { roles: new Set(['delivery']) } as unknown as AppConfig;

  function setUp() {
    const clock = { nowMs: 1_000_000 };
    const state = { hanging: [] as string[], fail: false };
    const saves: Array<{ hanging: string[]; forMs: number; recovered: string[] }> = [];
    const registry = new Registry();
    const lanes = new HangingLanes(
      config,
      { hangingEndpoints: () => state.hanging },
      { ownsEndpoint: (id) => id !== 'ep-handed-away' },
      {
        save: async (hanging, forMs, recovered) => {
          if (state.fail) throw new Error('PostgreSQL is down');
          saves.push({ hanging, forMs, recovered });
        },
      },
      { now: () => clock.nowMs },
      registry,
      pino({ level: 'silent' }),
    );
    const gauge = async () =>
      (await registry.getSingleMetric('hookstream_lanes_hanging')!.get()).values[0]?.value;
    return { clock, state, saves, lanes, gauge };
  }

  it('writes a new hang at once, renews it each second, and deletes it once the lane moves', async () => {
    const { clock, state, saves, lanes } = setUp();
    state.hanging = ['ep-hang'];
    await lanes.write();
    clock.nowMs += 250;
    await lanes.write();
    clock.nowMs += 750;
    await lanes.write();
    state.hanging = [];
    clock.nowMs += 250;
    await lanes.write();
    await lanes.write();
    expect(saves).toEqual([
      { hanging: ['ep-hang'], forMs: LANE_HANG_VOUCH_MS, recovered: [] },
      { hanging: ['ep-hang'], forMs: LANE_HANG_VOUCH_MS, recovered: [] },
      { hanging: [], forMs: LANE_HANG_VOUCH_MS, recovered: ['ep-hang'] },
    ]);
  });

  it('reports only the endpoints this process owns, and counts them in hookstream_lanes_hanging', async () => {
    const { state, saves, lanes, gauge } = setUp();
    state.hanging = ['ep-hang', 'ep-handed-away'];
    await lanes.write();
    expect(saves.map((save) => save.hanging)).toEqual([['ep-hang']]);
    expect(await gauge()).toBe(1);
    state.hanging = [];
    await lanes.write();
    expect(await gauge()).toBe(0);
  });

  it('writes again after a failed write, the hang and the recovery alike', async () => {
    const { clock, state, saves, lanes } = setUp();
    state.hanging = ['ep-hang'];
    state.fail = true;
    await expect(lanes.write()).rejects.toThrow('PostgreSQL is down');
    state.fail = false;
    clock.nowMs += 250;
    await lanes.write();
    state.hanging = [];
    state.fail = true;
    await expect(lanes.write()).rejects.toThrow('PostgreSQL is down');
    state.fail = false;
    await lanes.write();
    expect(saves.map((save) => [save.hanging, save.recovered])).toEqual([
      [['ep-hang'], []],
      [[], ['ep-hang']],
    ]);
  });
});
