import { Injectable } from '@nestjs/common';

type ChangeListener = (endpointId: string) => Promise<void>;

/**
 * Tells this process's endpoint cache about a change before the API answers, so a client that
 * creates an endpoint and publishes at once is matched (read-your-writes on one instance). Other
 * instances learn of it by LISTEN/NOTIFY within milliseconds.
 */
@Injectable()
export class EndpointChanges {
  private readonly listeners: ChangeListener[] = [];

  subscribe(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  async changed(endpointId: string): Promise<void> {
    // The change is committed; a cache that cannot refresh now catches up by NOTIFY or reload.
    await Promise.allSettled(this.listeners.map((listener) => listener(endpointId)));
  }
}
