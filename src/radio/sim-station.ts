/**
 * Binds a SyncNode to a send function under virtual time: the node is polled
 * exactly when it asks to be, and after every frame it receives.
 */
import type { SyncNode } from "../engine/sync/sync-node.js";
import type { VirtualScheduler } from "./virtual-time.js";

export interface SimStation {
  /** Re-plans the next poll (call after anything that may make the node want to send sooner). */
  kick(): void;
  /** Hand a received frame to the node. */
  receive(frame: Uint8Array): void;
}

export function createSimStation(node: SyncNode, send: (frame: Uint8Array) => void, scheduler: VirtualScheduler): SimStation {
  let plannedAt = Number.POSITIVE_INFINITY;

  function plan(): void {
    const wake = Math.max(node.nextWake(), scheduler.now());
    if (wake >= plannedAt) return;
    plannedAt = wake;
    scheduler.at(wake, () => {
      if (plannedAt !== wake) return; // superseded by an earlier plan
      plannedAt = Number.POSITIVE_INFINITY;
      for (const frame of node.poll()) send(frame);
      plan();
    });
  }

  return {
    kick: plan,
    receive(frame) {
      node.receive(frame);
      plan();
    },
  };
}
