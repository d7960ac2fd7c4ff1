// Allocates without bound, doubling: stopped by the memory limit. (Filling
// memory costs fuel, so small steps would run out of fuel first.)
import { accept, precheck } from "@tollgate/plugin";

export default precheck({
  check() {
    const hoard: ArrayBuffer[] = [];
    for (let size = 1 << 20; ; size *= 2) hoard.push(new ArrayBuffer(size));
    return hoard.length ? accept() : accept();
  },
});
