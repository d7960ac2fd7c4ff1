// Logs 90 KiB (log.*, console.log, console.error), then accepts: the log is
// truncated with a marker and the call still succeeds. (A 1 KiB line costs
// QuickJS about 30,000 fuel: megabytes would run out of fuel first.)
import { accept, log, precheck } from "@tollgate/plugin";

export default precheck({
  check() {
    const line = "flood ".repeat(170);
    // 3 × 30 × 1 KiB.
    for (let i = 0; i < 30; i++) {
      log.info(line);
      console.log(line);
      console.error(line);
    }
    return accept();
  },
});
