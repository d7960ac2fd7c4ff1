// Logs megabytes (log.*, console.log, console.error), then accepts: the log
// is truncated with a marker and the call still succeeds.
import { accept, log, precheck } from "@tollgate/plugin";

export default precheck({
  check() {
    const line = "flood ".repeat(170);
    // 3 × 1000 × 1 KiB: 3 MiB of output.
    for (let i = 0; i < 1000; i++) {
      log.info(line);
      console.log(line);
      console.error(line);
    }
    return accept();
  },
});
