// Spins forever: stopped by the fuel limit (or the deadline, whichever is lower).
import { accept, precheck } from "@tollgate/plugin";

export default precheck({
  check(request) {
    let n = request.quantity;
    for (;;) n = (n * 31 + 7) % 1_000_003;
    return n < 0 ? accept() : accept();
  },
});
