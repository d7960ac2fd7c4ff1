// Allocates without bound: stopped by the memory limit.
import { accept, precheck } from "@tollgate/plugin";

export default precheck({
  check() {
    const hoard: Uint8Array[] = [];
    for (;;) hoard.push(new Uint8Array(1 << 20));
    return hoard.length ? accept() : accept();
  },
});
