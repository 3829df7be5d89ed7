import { runLinkContract } from "./support/link-contract.js";
import { createRig } from "./support/rnode-rig.js";

/** Virtual time one settle() runs through: a dozen frames at SF7 take about 2 s of air. */
const SETTLE_MS = 10_000;

runLinkContract("RNode link over two virtual RNodes (serialport mock binding, stepped time)", async () => {
  const rig = createRig();
  // Boards that keep running across port opens, so a start() needs no waiting for a boot.
  const devices = [rig.device("a", { resetOnOpen: false }), rig.device("b", { resetOnOpen: false })] as const;
  await rig.time.advance(2_000);
  const a = rig.link(devices[0]);
  const b = rig.link(devices[1]);
  await rig.up(a);
  await rig.up(b);
  return {
    a,
    b,
    settle: () => rig.time.advance(SETTLE_MS),
    close: async () => {
      await rig.time.run(a.stop());
      await rig.time.run(b.stop());
    },
  };
});
