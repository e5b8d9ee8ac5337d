// An independent implementation of the eddsa-jcs-2022 Data Integrity
// cryptosuite, written from the W3C specifications and NOT from vledger's C
// code, so that the e2e tests can check vledger's certificates the way any
// third party would:
//
//   - Verifiable Credential Data Integrity 1.0 (the proof object, "verify proof")
//   - Data Integrity EdDSA Cryptosuites v1.0, §3.3 eddsa-jcs-2022:
//       Verify Proof, Transformation, Hashing, Proof Configuration,
//       Proof Serialization / Verification
//   - The did:key Method v0.7 (Ed25519: multicodec ed25519-pub 0xed 0x01)
//   - Multibase (base58btc, prefix 'z'), the Bitcoin base58 alphabet
//   - RFC 8785 JSON Canonicalization Scheme (the `canonicalize` npm package)
//
// Signatures: @noble/ed25519 v3, with node:crypto's SHA-512 for its hash.
//
// Exports:
//   verifyDataIntegrity(doc, { publicKey }?) -> { ok, reason, publicKey }
//   signDataIntegrity(doc, secretKey, { created, verificationMethod, context }?)
//   didKeyPublicKey(didOrVerificationMethod) -> Uint8Array(32)
//   didKeyFromPublicKey(pub) -> "did:key:z6Mk..."
//   base58btcDecode(s) / base58btcEncode(bytes)
//   multibaseDecodeKey(mb) -> { codec, key }
//   jcsSha256Hex(value) -> hex SHA-256 of the RFC 8785 form
//   leafPaths(json) / alterLeaf(json, path): every leaf, and a copy with one leaf changed

import { createHash } from "node:crypto";

import canonicalize from "canonicalize";
import * as ed from "@noble/ed25519";

ed.hashes.sha512 = (m) => new Uint8Array(createHash("sha512").update(m).digest());

const sha256 = (bytes) => new Uint8Array(createHash("sha256").update(bytes).digest());
const utf8 = (s) => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------
// base58btc (Bitcoin alphabet). Each leading '1' is one leading zero byte.

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHABET_MAP = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Decodes base58btc text (no multibase prefix) into bytes; throws on a character outside the alphabet. */
export function base58btcDecode(s) {
  if (typeof s !== "string") throw new TypeError("base58btc: not a string");
  let zeros = 0;
  while (zeros < s.length && s[zeros] === "1") zeros++;
  // Big-endian base-256 digits of the value, built one base-58 digit at a time.
  const bytes = [];
  for (let i = zeros; i < s.length; i++) {
    const d = ALPHABET_MAP.get(s[i]);
    if (d === undefined) throw new Error(`base58btc: character ${JSON.stringify(s[i])} at ${i} is not in the alphabet`);
    let carry = d;
    for (let j = bytes.length - 1; j >= 0; j--) {
      const v = bytes[j] * 58 + carry;
      bytes[j] = v & 0xff;
      carry = v >> 8;
    }
    while (carry > 0) {
      bytes.unshift(carry & 0xff);
      carry >>= 8;
    }
  }
  return Uint8Array.from([...new Array(zeros).fill(0), ...bytes]);
}

/** Encodes bytes as base58btc text (no multibase prefix). */
export function base58btcEncode(bytes) {
  const b = Uint8Array.from(bytes);
  let zeros = 0;
  while (zeros < b.length && b[zeros] === 0) zeros++;
  const digits = []; // base-58, big-endian
  for (let i = zeros; i < b.length; i++) {
    let carry = b[i];
    for (let j = digits.length - 1; j >= 0; j--) {
      const v = digits[j] * 256 + carry;
      digits[j] = v % 58;
      carry = Math.floor(v / 58);
    }
    while (carry > 0) {
      digits.unshift(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  return "1".repeat(zeros) + digits.map((d) => ALPHABET[d]).join("");
}

// ---------------------------------------------------------------------------
// Multikey / did:key.

/** Reads an unsigned varint (multicodec) at the start of `bytes`: { value, length }. */
function readVarint(bytes) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < bytes.length && i < 9; i++) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return { value, length: i + 1 };
    shift += 7;
  }
  throw new Error("multicodec: truncated varint");
}

const ED25519_PUB = 0xed;
const ED25519_PRIV = 0x1300;

/** A multibase ('z' base58btc) multicodec key: { codec, key }. */
export function multibaseDecodeKey(mb) {
  if (typeof mb !== "string" || mb.length < 2) throw new Error("multibase: empty");
  if (mb[0] !== "z") throw new Error(`multibase: prefix ${JSON.stringify(mb[0])} is not base58btc ('z')`);
  const raw = base58btcDecode(mb.slice(1));
  const { value, length } = readVarint(raw);
  return { codec: value, key: raw.slice(length) };
}

/** The Ed25519 public key a did:key (or its verification method "did:key:X#X") names. */
export function didKeyPublicKey(did) {
  if (typeof did !== "string") throw new Error("did:key: not a string");
  const m = /^did:key:([^#?/]+)(?:#(.*))?$/.exec(did);
  if (!m) throw new Error(`did:key: ${JSON.stringify(did)} is not a did:key`);
  const mb = m[1];
  if (m[2] !== undefined && m[2] !== mb) {
    throw new Error("did:key: the fragment must repeat the multibase key (the only Ed25519 verification method did:key defines)");
  }
  // did:key v0.7: the method-specific id is "z" base58btc(multicodec || raw key).
  if (!mb.startsWith("z")) throw new Error("did:key: the key must be base58btc multibase ('z')");
  let codec, key;
  try {
    ({ codec, key } = multibaseDecodeKey(mb));
  } catch (e) {
    throw new Error(`did:key: ${e.message}`);
  }
  if (codec !== ED25519_PUB) throw new Error(`did:key: multicodec 0x${codec.toString(16)} is not ed25519-pub (0xed)`);
  if (key.length !== 32) throw new Error(`did:key: an Ed25519 public key has 32 bytes, not ${key.length}`);
  return key;
}

/** "did:key:z6Mk..." for a 32-byte Ed25519 public key. */
export function didKeyFromPublicKey(pub) {
  if (pub.length !== 32) throw new Error("an Ed25519 public key has 32 bytes");
  return `did:key:z${base58btcEncode(Uint8Array.from([0xed, 0x01, ...pub]))}`;
}

/** The 32-byte Ed25519 seed of a multibase Multikey secret ("z3u2..."): multicodec ed25519-priv (0x1300). */
export function multikeySecretKey(mb) {
  const { codec, key } = multibaseDecodeKey(mb);
  if (codec !== ED25519_PRIV) throw new Error(`multikey: multicodec 0x${codec.toString(16)} is not ed25519-priv (0x1300)`);
  if (key.length !== 32) throw new Error("multikey: an Ed25519 secret key has 32 bytes");
  return key;
}

// ---------------------------------------------------------------------------
// JCS and hashing.

/** RFC 8785 text of `value`. Throws for values JCS cannot represent. */
export function jcs(value) {
  const s = canonicalize(value);
  if (typeof s !== "string") throw new Error("JCS: value cannot be canonicalized");
  return s;
}

/** Hex SHA-256 of the RFC 8785 canonical form of `value`. */
export function jcsSha256Hex(value) {
  return Buffer.from(sha256(utf8(jcs(value)))).toString("hex");
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// XMLSCHEMA11-2 dateTimeStamp (a date-time with a time zone), as the
// Proof Configuration step requires of `created`.
const DATE_TIME_STAMP = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)$/;

/** hashData = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document)). */
export function hashData(unsecuredDocument, proofConfig) {
  const proofHash = sha256(utf8(jcs(proofConfig)));
  const docHash = sha256(utf8(jcs(unsecuredDocument)));
  const out = new Uint8Array(64);
  out.set(proofHash, 0);
  out.set(docHash, 32);
  return out;
}

// ---------------------------------------------------------------------------
// Verify (Data Integrity EdDSA Cryptosuites v1.0, eddsa-jcs-2022 "Verify Proof").

const fail = (reason) => ({ ok: false, reason, publicKey: null });

/**
 * Verifies `doc` (a parsed JSON object or JSON text) carrying one
 * eddsa-jcs-2022 DataIntegrityProof. The verification method is resolved
 * offline as a did:key, unless `publicKey` is given (a caller that resolved
 * the method itself). Never throws: { ok, reason, publicKey }.
 */
export async function verifyDataIntegrity(doc, { publicKey: givenKey = null } = {}) {
  try {
    if (typeof doc === "string") {
      try {
        doc = JSON.parse(doc);
      } catch (e) {
        return fail(`document: not JSON: ${e.message}`);
      }
    }
    if (!isObject(doc)) return fail("document: must be a JSON object");
    if (!("proof" in doc)) return fail("proof: missing");
    const proof = doc.proof;
    if (!isObject(proof)) return fail("proof: must be one object (proof sets and chains are not supported)");

    // 1. unsecuredDocument: the document without its proof.
    const unsecured = { ...doc };
    delete unsecured.proof;
    // 2. proofOptions: the proof without proofValue.
    const options = { ...proof };
    delete options.proofValue;

    if (options.type !== "DataIntegrityProof") return fail(`proof.type: must be "DataIntegrityProof", not ${JSON.stringify(options.type)}`);
    if (options.cryptosuite !== "eddsa-jcs-2022") return fail(`proof.cryptosuite: must be "eddsa-jcs-2022", not ${JSON.stringify(options.cryptosuite)}`);
    if (options.proofPurpose !== "assertionMethod") return fail(`proof.proofPurpose: must be "assertionMethod", not ${JSON.stringify(options.proofPurpose)}`);
    if ("created" in options && (typeof options.created !== "string" || !DATE_TIME_STAMP.test(options.created))) {
      return fail(`proof.created: not an XMLSCHEMA11-2 dateTimeStamp: ${JSON.stringify(options.created)}`);
    }
    if ("expires" in options && (typeof options.expires !== "string" || !DATE_TIME_STAMP.test(options.expires))) {
      return fail(`proof.expires: not an XMLSCHEMA11-2 dateTimeStamp: ${JSON.stringify(options.expires)}`);
    }
    if ("expires" in options && Date.parse(options.expires) < Date.now()) return fail("proof.expires: the proof has expired");

    // 3. proofBytes: multibase base58btc proofValue.
    const pv = proof.proofValue;
    if (typeof pv !== "string" || pv.length < 2 || pv[0] !== "z") return fail("proof.proofValue: must be a multibase base58btc ('z') string");
    let signature;
    try {
      signature = base58btcDecode(pv.slice(1));
    } catch (e) {
      return fail(`proof.proofValue: ${e.message}`);
    }
    if (signature.length !== 64) return fail(`proof.proofValue: an Ed25519 signature has 64 bytes, not ${signature.length}`);

    // 4. A proof @context must be a prefix of the document's; it becomes the document's @context.
    if ("@context" in options) {
      const pc = Array.isArray(options["@context"]) ? options["@context"] : [options["@context"]];
      const dc = Array.isArray(doc["@context"]) ? doc["@context"] : doc["@context"] === undefined ? [] : [doc["@context"]];
      if (pc.length > dc.length || pc.some((c, i) => jcs(c) !== jcs(dc[i]))) {
        return fail("proof.@context: the document's @context does not start with the proof's @context");
      }
      unsecured["@context"] = options["@context"];
    }

    // The verification method: a string; offline only did:key is resolvable.
    const vm = options.verificationMethod;
    if (typeof vm !== "string" || vm === "") return fail("proof.verificationMethod: must be a non-empty string");
    let pub = givenKey;
    if (!pub) {
      if (!vm.startsWith("did:key:")) return fail(`proof.verificationMethod: unknown key: ${JSON.stringify(vm)} is not a did:key`);
      try {
        pub = didKeyPublicKey(vm);
      } catch (e) {
        return fail(`proof.verificationMethod: ${e.message}`);
      }
    }

    // 5-6. Transformation (JCS) and hashing.
    let data;
    try {
      data = hashData(unsecured, options);
    } catch (e) {
      return fail(`JCS: ${e.message}`);
    }

    // 7. Proof verification: Ed25519 (RFC 8032, strict).
    let good;
    try {
      good = ed.verify(signature, data, pub, { zip215: false });
    } catch (e) {
      return fail(`proof: signature check failed: ${e.message}`);
    }
    if (!good) return fail("proof: signature does not verify");
    return { ok: true, reason: "", publicKey: Uint8Array.from(pub) };
  } catch (e) {
    return fail(`verifier error: ${e && e.message}`);
  }
}

// ---------------------------------------------------------------------------
// Sign (Add Proof), for tests that need a document signed by another key.

/**
 * Returns a copy of `doc` (without any proof) with an eddsa-jcs-2022 proof
 * by the 32-byte Ed25519 `secretKey` (Create Proof, eddsa-jcs-2022).
 * verificationMethod defaults to the key's did:key#fragment. `context`
 * (default true) is Create Proof step 2: copy the document's @context into
 * the proof; the Recommendation strongly advises it but does not require
 * it, so `context: false` makes the other conformant form.
 */
export function signDataIntegrity(doc, secretKey, { created = new Date().toISOString().replace(/\.\d+Z$/, "Z"), verificationMethod, context = true } = {}) {
  const unsecured = structuredClone(doc);
  delete unsecured.proof;
  const pub = ed.getPublicKey(secretKey);
  const did = didKeyFromPublicKey(pub);
  const options = {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    created,
    verificationMethod: verificationMethod ?? `${did}#${did.slice("did:key:".length)}`,
    proofPurpose: "assertionMethod",
  };
  if (context && unsecured["@context"] !== undefined) options["@context"] = unsecured["@context"];
  const sig = ed.sign(hashData(unsecured, options), secretKey);
  return { ...unsecured, proof: { ...options, proofValue: `z${base58btcEncode(sig)}` } };
}

// ---------------------------------------------------------------------------
// Tampering helpers for tests.

/** Every leaf path of a JSON value (empty objects and arrays count as leaves). */
export function leafPaths(v, prefix = []) {
  if (v !== null && typeof v === "object") {
    const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    if (keys.length === 0) return [prefix];
    return keys.flatMap((k) => leafPaths(v[k], [...prefix, k]));
  }
  return [prefix];
}

/** A deep copy of `doc` with the leaf at `path` changed to a different value. */
export function alterLeaf(doc, path) {
  const copy = structuredClone(doc);
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k];
  const last = path[path.length - 1];
  const v = parent[last];
  let nv;
  if (typeof v === "string") nv = v.length > 2 ? v.slice(0, 1) + (v[1] === "X" ? "Y" : "X") + v.slice(2) : v + "X";
  else if (typeof v === "number") nv = v + 1;
  else if (typeof v === "boolean") nv = !v;
  else if (v === null) nv = 0;
  else if (Array.isArray(v)) nv = ["X"];
  else nv = { X: 1 };
  parent[last] = nv;
  return copy;
}

export { ed };
