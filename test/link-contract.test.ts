import { setTimeout as sleep } from "node:timers/promises";
import { createSimLink } from "../src/radio/sim-link.js";
import { createUdpLink, type UdpLink } from "../src/radio/udp-link.js";
import { runLinkContract } from "./support/link-contract.js";
import { SF7_868, createVirtualAir } from "./support/sim-air.js";

runLinkContract("sim link over the LoRa medium (virtual clock)", async () => {
  const air = createVirtualAir(7);
  const make = (id: string) => createSimLink({ medium: air.medium, id, settings: SF7_868, clock: air.clock });
  const a = make("a");
  const b = make("b");
  await a.start();
  await b.start();
  return {
    a,
    b,
    settle: async () => air.settle(),
    close: async () => {
      await a.stop();
      await b.stop();
    },
  };
});

/** Stops waiting after this long and lets the assertions report what is missing. */
const UDP_SETTLE_LIMIT_MS = 5_000;

function sending(link: UdpLink): number {
  return Number(link.status().details?.["sending"] ?? 0);
}

/** True once nothing is awaiting its send callback and every frame sent each way has been received. */
function quiet(a: UdpLink, b: UdpLink): boolean {
  const sa = a.status();
  const sb = b.status();
  return sending(a) + sending(b) === 0 && sa.framesSent === sb.framesReceived && sb.framesSent === sa.framesReceived;
}

runLinkContract("UDP link on 127.0.0.1", async () => {
  const a = createUdpLink({ bind: { address: "127.0.0.1", port: 0 }, peers: [] });
  await a.start();
  const b = createUdpLink({ bind: { address: "127.0.0.1", port: 0 }, peers: [a.address()!] });
  await b.start();
  a.setPeers([b.address()!]);
  return {
    a,
    b,
    settle: async () => {
      for (let waited = 0; waited < UDP_SETTLE_LIMIT_MS; waited += 2) {
        await sleep(2);
        if (quiet(a, b)) return;
      }
    },
    close: async () => {
      await a.stop();
      await b.stop();
    },
  };
});
