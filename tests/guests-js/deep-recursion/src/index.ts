// Recurses without bound: stopped by a stack limit.
import { accept, precheck, reject } from "@tollgate/plugin";

function dive(n: number): number {
  // Not a tail call: every level keeps a frame.
  return dive(n + 1) * 3 + n;
}

export default precheck({
  check(request) {
    return dive(request.quantity) === 7 ? accept() : reject(-150, "unreachable");
  },
});
