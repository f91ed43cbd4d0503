import type { HoldRequest } from '../retry/held-deliveries';
import { DeliveryGate } from './delivery-gate';

describe('DeliveryGate', () => {
  const nowMs = Date.UTC(2026, 11, 3, 8);
  /** `ep-own` is this process's; the others belong to another worker or replica. */
  function gate(remoteRefusesUntil: Record<string, number>, localRoom: Record<string, number> = {}) {
    return new DeliveryGate(
      { room: (endpointId) => localRoom[endpointId] ?? Number.POSITIVE_INFINITY },
      { holdAtFanout: async (_request: HoldRequest) => undefined },
      { ownsEndpoint: (endpointId) => endpointId === 'ep-own' },
      {
        refuses: (endpointId, at) =>
          remoteRefusesUntil[endpointId] !== undefined && at < remoteRefusesUntil[endpointId],
      },
      { now: () => nowMs },
    );
  }

  it('holds at the fan-out for an endpoint whose owner elsewhere refuses (open circuit, hanging lane)', () => {
    expect(gate({ 'ep-other': nowMs + 1_000 }).room('ep-other')).toBe(0);
  });

  it('sends once that refusal has ended, or when no owner reported one', () => {
    expect(gate({ 'ep-other': nowMs }).room('ep-other')).toBe(Number.POSITIVE_INFINITY);
    expect(gate({}).room('ep-other')).toBe(Number.POSITIVE_INFINITY);
  });

  it('judges an endpoint this process owns by its own circuit and lane, not the stored row', () => {
    // The stored row lags the owner's own circuit (it closed a moment ago): the owner knows better.
    expect(gate({ 'ep-own': nowMs + 1_000 }).room('ep-own')).toBe(Number.POSITIVE_INFINITY);
    expect(gate({}, { 'ep-own': 3 }).room('ep-own')).toBe(3);
    expect(gate({}, { 'ep-own': 0 }).room('ep-own')).toBe(0);
  });
});
