const crypto = require("node:crypto");

// True when Weir signed this request (rawBody: the exact bytes received) with `secret`, recently.
function verify(secret, headers, rawBody, toleranceSeconds = 300) {
  const timestamp = headers["weir-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false; // replayed
  const expected = crypto.createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest();
  return headers["weir-signature"].split(",").map((part) => part.trim())
    .filter((part) => part.startsWith("v1=")).map((part) => Buffer.from(part.slice(3), "hex"))
    .some((given) => given.length === expected.length && crypto.timingSafeEqual(given, expected));
}
module.exports = { verify };
