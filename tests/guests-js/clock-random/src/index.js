// Reads the clocks and Math.random and reports what it saw in its rejection
// message (plain JavaScript), in the Rust probe's format: "wall=… now=…
// slept=0 …". The host freezes the clocks at the decision's `now` and seeds
// random per call from the input: wall equals now, no time passes while it
// works, the same input says the same, another seed draws other numbers.
import { precheck, reject } from "@tollgate/plugin";

export default precheck({
  check(request, context) {
    const [wall, mono] = [Date.now(), performance.now()];
    let work = 0;
    for (let i = 0; i < 1000; i++) work = (work + i * i) % 65521;
    const random = [Math.random(), Math.random()].map((r) => r.toFixed(17)).join(",");
    return reject(
      -150,
      `wall=${wall} now=${context.now} slept=${performance.now() - mono} random=${random} ` +
        `date=${new Date().toISOString()} later=${Date.now()} work=${work}`,
    );
  },
});
