// A minimal tollgate:plugin@2.0.0 precheck in JavaScript (componentize-js):
// accepts up to 100 seats. A probe of the host's readiness for JS, not an SDK.
export function check(request, context) {
  if (request.quantity > 100) {
    return { tag: 'reject', val: { code: -150, message: 'Orders above 100 seats need a quote.' } };
  }
  return { tag: 'accept' };
}

export function validateConfig(config) {
  try {
    JSON.parse(config);
  } catch (e) {
    // A thrown plain object is the `err` payload (a config-error record).
    throw { path: '$', message: String(e.message) };
  }
}
