// Self-test of eddsa_jcs.mjs (the independent eddsa-jcs-2022 verifier the
// certificate tests rely on) against the W3C "Data Integrity EdDSA
// Cryptosuites v1.0" example vector (w3c/vc-di-eddsa TestVectors/keyPair.json
// and TestVectors/eddsa-jcs-2022/*), and against alterations of it. Needs no
// daemon.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";

import {
  base58btcDecode,
  base58btcEncode,
  didKeyFromPublicKey,
  didKeyPublicKey,
  ed,
  hashData,
  jcs,
  jcsSha256Hex,
  leafPaths,
  alterLeaf,
  multikeySecretKey,
  signDataIntegrity,
  verifyDataIntegrity,
} from "./eddsa_jcs.mjs";

// --- The W3C vector (data only) ----------------------------------------------
const W3C_PUBLIC_MB = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const W3C_SECRET_MB = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
const W3C_SIGNED = {
  "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
  id: "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
  type: ["VerifiableCredential", "AlumniCredential"],
  name: "Alumni Credential",
  description: "A minimum viable example of an Alumni Credential.",
  issuer: "https://vc.example/issuers/5678",
  validFrom: "2023-01-01T00:00:00Z",
  credentialSubject: { id: "did:example:abcdefgh", alumniOf: "The School of Examples" },
  proof: {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    created: "2023-02-24T23:36:38Z",
    verificationMethod: "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    proofPurpose: "assertionMethod",
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    proofValue: "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4",
  },
};
// canonDocJCS.txt
const W3C_CANON_DOC =
  '{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],' +
  '"credentialSubject":{"alumniOf":"The School of Examples","id":"did:example:abcdefgh"},' +
  '"description":"A minimum viable example of an Alumni Credential.",' +
  '"id":"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33","issuer":"https://vc.example/issuers/5678",' +
  '"name":"Alumni Credential","type":["VerifiableCredential","AlumniCredential"],"validFrom":"2023-01-01T00:00:00Z"}';
// docHashJCS.txt
const W3C_DOC_HASH = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19";
// sigHexJCS.txt
const W3C_SIG_HEX =
  "fc91dec6565f35fbe185a77352e7fc512f95d1904da305cfef32ab8135469301f5a72d4e7a58368fc6ffc497b44633993bac054e3bc1436e3c846db8f1544503";
// The did:key revision of the example: proofCanonJCS.txt and combinedHashJCS.txt.
const W3C_DIDKEY_VM = `did:key:${W3C_PUBLIC_MB}#${W3C_PUBLIC_MB}`;
const W3C_DIDKEY_PROOF_CANON =
  '{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],' +
  '"created":"2023-02-24T23:36:38Z","cryptosuite":"eddsa-jcs-2022","proofPurpose":"assertionMethod",' +
  `"type":"DataIntegrityProof","verificationMethod":"${W3C_DIDKEY_VM}"}`;
const W3C_DIDKEY_COMBINED =
  "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19";

const hex = (b) => Buffer.from(b).toString("hex");
const w3cPublicKey = () => didKeyPublicKey(`did:key:${W3C_PUBLIC_MB}`);

describe("base58btc and did:key", () => {
  it("decodes and encodes known values, leading zeros and random bytes", () => {
    assert.deepEqual(base58btcDecode(""), new Uint8Array(0));
    assert.deepEqual(base58btcDecode("1"), Uint8Array.of(0));
    assert.deepEqual(base58btcDecode("112"), Uint8Array.of(0, 0, 1));
    assert.equal(Buffer.from(base58btcDecode("2NEpo7TZRRrLZSi2U")).toString(), "Hello World!");
    assert.equal(Buffer.from(base58btcDecode("StV1DL6CwTryKyV")).toString(), "hello world");
    assert.equal(base58btcEncode(Buffer.from("Hello World!")), "2NEpo7TZRRrLZSi2U");
    assert.equal(base58btcEncode(Uint8Array.of(0, 0, 0xff)), "115Q");
    assert.deepEqual(base58btcDecode("115Q"), Uint8Array.of(0, 0, 0xff));
    for (let i = 0; i < 200; i++) {
      const b = randomBytes(i % 70);
      if (i % 7 === 0 && b.length > 2) b[0] = b[1] = 0;
      assert.deepEqual(base58btcDecode(base58btcEncode(b)), Uint8Array.from(b));
    }
    for (const bad of ["0", "O", "I", "l", "+", "abc0", " 2N"]) assert.throws(() => base58btcDecode(bad), /alphabet/, bad);
  });

  it("did:key names the W3C example's key; the secret key derives it", () => {
    const pub = w3cPublicKey();
    assert.equal(pub.length, 32);
    assert.equal(didKeyFromPublicKey(pub), `did:key:${W3C_PUBLIC_MB}`);
    assert.deepEqual(didKeyPublicKey(W3C_DIDKEY_VM), pub);
    const seed = multikeySecretKey(W3C_SECRET_MB);
    assert.deepEqual(ed.getPublicKey(seed), pub);
    // Any Ed25519 did:key starts with z6Mk.
    for (let i = 0; i < 20; i++) assert.match(didKeyFromPublicKey(randomBytes(32)), /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
  });

  it("refuses malformed did:keys", () => {
    const other = didKeyFromPublicKey(randomBytes(32)).slice(8);
    const bad = [
      "did:web:example.com",
      `did:key:${W3C_PUBLIC_MB}#${other}`, // fragment names another key
      `did:key:${W3C_PUBLIC_MB.slice(1)}`, // no multibase prefix
      `did:key:m${Buffer.from([0xed, 1, ...randomBytes(32)]).toString("base64")}`, // base64 multibase
      `did:key:z${base58btcEncode(Uint8Array.of(0xe7, 0x01, ...randomBytes(33)))}`, // secp256k1-pub
      `did:key:z${base58btcEncode(Uint8Array.of(0xed, 0x01, ...randomBytes(31)))}`, // 31 bytes
      `did:key:z${base58btcEncode(Uint8Array.of(0xed, 0x01, ...randomBytes(33)))}`, // 33 bytes
      "did:key:z6Mk0OIl",
    ];
    for (const d of bad) assert.throws(() => didKeyPublicKey(d), /did:key/, d);
  });
});

describe("eddsa-jcs-2022 against the W3C example", () => {
  it("JCS text and document hash match the published ones", () => {
    const unsecured = structuredClone(W3C_SIGNED);
    delete unsecured.proof;
    assert.equal(jcs(unsecured), W3C_CANON_DOC);
    assert.equal(jcsSha256Hex(unsecured), W3C_DOC_HASH);
  });

  it("the published signature verifies under the example key", async () => {
    const r = await verifyDataIntegrity(W3C_SIGNED, { publicKey: w3cPublicKey() });
    assert.deepEqual(r, { ok: true, reason: "", publicKey: w3cPublicKey() });
    // As JSON text, too.
    assert.equal((await verifyDataIntegrity(JSON.stringify(W3C_SIGNED), { publicKey: w3cPublicKey() })).ok, true);
    const pv = base58btcDecode(W3C_SIGNED.proof.proofValue.slice(1));
    assert.equal(hex(pv), W3C_SIG_HEX);
  });

  it("offline, an https verification method is an unknown key", async () => {
    const r = await verifyDataIntegrity(W3C_SIGNED);
    assert.equal(r.ok, false);
    assert.match(r.reason, /verificationMethod: unknown key/);
  });

  it("signing the example with the example key reproduces the published proofValue", () => {
    const seed = multikeySecretKey(W3C_SECRET_MB);
    const signed = signDataIntegrity(W3C_SIGNED, seed, {
      created: W3C_SIGNED.proof.created,
      verificationMethod: W3C_SIGNED.proof.verificationMethod,
      context: true,
    });
    assert.deepEqual(signed, W3C_SIGNED);
  });

  it("the did:key revision: canonical proof configuration and hashData match; a did:key proof verifies offline", async () => {
    const unsecured = structuredClone(W3C_SIGNED);
    delete unsecured.proof;
    const config = { ...W3C_SIGNED.proof, verificationMethod: W3C_DIDKEY_VM };
    delete config.proofValue;
    assert.equal(jcs(config), W3C_DIDKEY_PROOF_CANON);
    assert.equal(hex(hashData(unsecured, config)), W3C_DIDKEY_COMBINED);
    const signed = signDataIntegrity(unsecured, multikeySecretKey(W3C_SECRET_MB), { created: config.created });
    assert.deepEqual(signed.proof["@context"], unsecured["@context"]);
    assert.equal(signed.proof.verificationMethod, W3C_DIDKEY_VM);
    const r = await verifyDataIntegrity(signed);
    assert.equal(r.ok, true, r.reason);
    assert.deepEqual(r.publicKey, w3cPublicKey());
    // Without a proof @context too: Create Proof step 2 is only strongly advised,
    // and Verify Proof then hashes the proof options as they are.
    const bare = signDataIntegrity(unsecured, multikeySecretKey(W3C_SECRET_MB), { context: false });
    assert.equal("@context" in bare.proof, false);
    assert.equal((await verifyDataIntegrity(bare)).ok, true);
  });

  it("changing any single leaf of the document or its proof makes it fail", async () => {
    const paths = leafPaths(W3C_SIGNED);
    assert.equal(paths.length, 19);
    for (const p of paths) {
      const r = await verifyDataIntegrity(alterLeaf(W3C_SIGNED, p), { publicKey: w3cPublicKey() });
      assert.equal(r.ok, false, `altering ${p.join(".")} still verifies`);
      assert.ok(r.reason.length > 0);
    }
  });

  it("adding or removing a member, reordering an array, or adding a proof set fails; key order and whitespace do not matter", async () => {
    const pub = w3cPublicKey();
    const check = async (doc, want, what) => assert.equal((await verifyDataIntegrity(doc, { publicKey: pub })).ok, want, what);
    await check({ ...W3C_SIGNED, extra: 1 }, false, "added member");
    const removed = structuredClone(W3C_SIGNED);
    delete removed.description;
    await check(removed, false, "removed member");
    await check({ ...W3C_SIGNED, type: ["AlumniCredential", "VerifiableCredential"] }, false, "reordered type");
    await check({ ...W3C_SIGNED, proof: [W3C_SIGNED.proof] }, false, "proof set");
    const noProof = structuredClone(W3C_SIGNED);
    delete noProof.proof;
    await check(noProof, false, "no proof");
    const noCtx = structuredClone(W3C_SIGNED);
    delete noCtx.proof["@context"];
    await check(noCtx, false, "proof @context removed");
    // The proof @context must be a prefix of the document's.
    const ctxMismatch = structuredClone(W3C_SIGNED);
    ctxMismatch["@context"] = [W3C_SIGNED["@context"][1], W3C_SIGNED["@context"][0]];
    await check(ctxMismatch, false, "document @context reordered");
    // Member order and whitespace are not part of the signed bytes.
    const reordered = Object.fromEntries(Object.entries(structuredClone(W3C_SIGNED)).reverse());
    reordered.proof = Object.fromEntries(Object.entries(reordered.proof).reverse());
    await check(reordered, true, "reordered members");
    assert.equal((await verifyDataIntegrity(JSON.stringify(W3C_SIGNED, null, 3), { publicKey: pub })).ok, true);
    // Malformed proofValues.
    for (const pv of ["u3q2e", "z0OIl", "z2NEpo7TZRRrLZSi2U", "", 5, null]) {
      const d = structuredClone(W3C_SIGNED);
      d.proof.proofValue = pv;
      const r = await verifyDataIntegrity(d, { publicKey: pub });
      assert.equal(r.ok, false, `proofValue ${pv}`);
      assert.match(r.reason, /proofValue/);
    }
    // Another key does not verify it.
    const r = await verifyDataIntegrity(W3C_SIGNED, { publicKey: ed.getPublicKey(randomBytes(32)) });
    assert.equal(r.ok, false);
    assert.match(r.reason, /signature does not verify/);
    // Not JSON, not an object.
    assert.match((await verifyDataIntegrity("{not json")).reason, /not JSON/);
    assert.match((await verifyDataIntegrity("[1]")).reason, /JSON object/);
  });
});
