import { Global, Module } from '@nestjs/common';
import { systemClock } from '../domain/clock';

/** The clock (`Clock`) every time-dependent provider reads; tests construct those providers with a fake. */
export const CLOCK = Symbol('CLOCK');
/** The random source (`Random`) behind every jitter; tests pass a seeded one. */
export const RANDOM = Symbol('RANDOM');

@Global()
@Module({
  providers: [
    { provide: CLOCK, useValue: systemClock },
    { provide: RANDOM, useValue: Math.random },
  ],
  exports: [CLOCK, RANDOM],
})
export class ClockModule {}
