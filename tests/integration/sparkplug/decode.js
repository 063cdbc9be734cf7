// Decodes (or encodes) Sparkplug B payloads with Eclipse Tahu's JavaScript implementation
// (npm sparkplug-payload), independently of Loopgate's C++ code. Used by test_sparkplug.py.
//
//   node decode.js          stdin: one base64 payload per line; stdout: one JSON object per line
//   node decode.js encode   stdin: one JSON payload object per line (Tahu's form); stdout: base64
//
// 64-bit integers are printed as decimal strings. Each decoded object is Tahu's decodePayload()
// result plus, per metric, `raw`: the protobuf fields as received (DDATA metrics carry no datatype,
// so a host resolves their value through the alias and the DBIRTH's datatype, as the test does).
"use strict";
const readline = require("readline");
const Long = require("long");
const sparkplug = require("sparkplug-payload").get("spBv1.0");
const { Payload } = require("sparkplug-payload/lib/sparkplugPayloadProto").org.eclipse.tahu.protobuf;

const encode = process.argv[2] === "encode";
const rl = readline.createInterface({ input: process.stdin, terminal: false });
const replacer = (_key, v) => (Long.isLong(v) ? v.toString() : typeof v === "bigint" ? v.toString() : v);

rl.on("line", (line) => {
  if (!line.trim()) return;
  if (encode) {
    const obj = JSON.parse(line);
    process.stdout.write(Buffer.from(sparkplug.encodePayload(obj)).toString("base64") + "\n");
    return;
  }
  const buf = Buffer.from(line.trim(), "base64");
  let out;
  try {
    out = sparkplug.decodePayload(buf);
    const raw = Payload.toObject(Payload.decode(buf), { longs: String, bytes: String, defaults: false });
    (out.metrics || []).forEach((m, i) => { m.raw = raw.metrics[i]; });
  } catch (e) {
    out = { error: String(e) };
  }
  process.stdout.write(JSON.stringify(out, replacer) + "\n");
});
