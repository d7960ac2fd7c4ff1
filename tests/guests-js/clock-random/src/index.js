// Reads the clocks and Math.random and reports what it saw in its rejection
// message (plain JavaScript). The host freezes the clocks at the decision's
// `now` and seeds random per call from the input, so: both walls equal now,
// mono is 0, two runs of one input say the same, another seed differs.
import { precheck, reject } from "@tollgate/plugin";

export default precheck({
  check(request, context) {
    const [wall, mono] = [Date.now(), performance.now()];
    let work = 0;
    for (let i = 0; i < 1000; i++) work = (work + i * i) % 65521;
    const random = [Math.random(), Math.random()].map((r) => r.toFixed(17)).join(",");
    return reject(
      -150,
      `wall=${wall},${Date.now()} now=${context.now} date=${new Date().toISOString()} ` +
        `mono=${performance.now() - mono} random=${random} work=${work}`,
    );
  },
});
