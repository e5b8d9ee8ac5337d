// Bytes no well-behaved client sends: oversize, malformed and mistyped
// bodies, invalid UTF-8, wrong content types and methods. Each gets the right
// code and writes nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  ADMIN_PATH,
  Kind,
  admin,
  assertConnectErrorBody,
  assertNoOrgNamed,
  fieldBytes,
  fieldVarint,
  key,
  orgCount,
  postLarge,
  rawGet,
  rawPost,
  uid,
} from "./lib.mjs";

const CREATE = `${ADMIN_PATH}/CreateOrganization`;

describe("bad input writes nothing", () => {
  let countBefore;
  const names = [];
  const name = (label) => {
    const n = `bad-${label}-${uid()}`;
    names.push(n);
    return n;
  };

  before(async () => {
    countBefore = await orgCount();
  });

  after(async () => {
    assert.equal(await orgCount(), countBefore, "a rejected request wrote an organisation");
    for (const n of names) await assertNoOrgNamed(n);
  });

  it("a 2 MiB body (Content-Length) is resource_exhausted / HTTP 429", async () => {
    const res = await postLarge(CREATE, 2 << 20, { contentType: "application/proto" });
    assertConnectErrorBody(res, "resource_exhausted", 429);
  });

  it("a 2 MiB body (chunked) is resource_exhausted / HTTP 429", async () => {
    const res = await postLarge(CREATE, 2 << 20, { contentType: "application/json", chunked: true });
    assertConnectErrorBody(res, "resource_exhausted", 429);
  });

  it("the daemon still answers after refusing large bodies", async () => {
    const res = await admin().listOrganizations({ pageSize: 1 });
    assert.ok(res.organizations.length <= 1);
    const res2 = await rawPost(`${ADMIN_PATH}/ListOrganizations`, JSON.stringify({ pageSize: 1 }));
    assert.equal(res2.status, 200, res2.text);
  });

  it("a body just under 1 MiB is not refused for its size", async () => {
    // A valid request padded with an unknown JSON field to ~1000 KiB.
    const body = JSON.stringify({ name: name("big-ok"), kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key(), pad: "x".repeat(1000 * 1024) });
    names.pop(); // this one may legitimately be created
    const res = await rawPost(CREATE, body);
    assert.notEqual(res.status, 429, res.text.slice(0, 200));
    if (res.status === 200) countBefore += 1;
  });

  it("malformed protobuf is invalid_argument", async () => {
    const res = await rawPost(CREATE, Buffer.from([0xff, 0xff, 0xff]), { contentType: "application/proto" });
    assertConnectErrorBody(res, "invalid_argument", 400);
    // A length prefix longer than the body.
    const res2 = await rawPost(CREATE, Buffer.from([0x0a, 0x05, 0x61]), { contentType: "application/proto" });
    assertConnectErrorBody(res2, "invalid_argument", 400);
    // The name field sent with the varint wire type.
    const res3 = await rawPost(CREATE, Buffer.concat([fieldVarint(1, 7), fieldVarint(2, 1), fieldBytes(4, key())]), {
      contentType: "application/proto",
    });
    assertConnectErrorBody(res3, "invalid_argument", 400);
  });

  it("malformed JSON is invalid_argument", async () => {
    assertConnectErrorBody(await rawPost(CREATE, '{"name":'), "invalid_argument", 400);
    assertConnectErrorBody(await rawPost(CREATE, "[1,2]"), "invalid_argument", 400);
    assertConnectErrorBody(await rawPost(CREATE, `{"name":"${name("trail")}","kind":1,"idempotencyKey":"${key()}"} x`), "invalid_argument", 400);
  });

  it("JSON of the wrong type is invalid_argument naming the field", async () => {
    const res = await rawPost(CREATE, JSON.stringify({ name: 5, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key() }));
    assertConnectErrorBody(res, "invalid_argument", 400, "name");
    const res2 = await rawPost(CREATE, JSON.stringify({ name: name("kindtype"), kind: { x: 1 }, idempotencyKey: key() }));
    assertConnectErrorBody(res2, "invalid_argument", 400, "kind");
    const res3 = await rawPost(CREATE, JSON.stringify({ name: name("kindname"), kind: "ORGANIZATION_KIND_BOGUS", idempotencyKey: key() }));
    assertConnectErrorBody(res3, "invalid_argument", 400, "kind");
    const res4 = await rawPost(`${ADMIN_PATH}/ListOrganizations`, JSON.stringify({ pageSize: "many" }));
    assertConnectErrorBody(res4, "invalid_argument", 400, "pageSize");
  });

  it("invalid UTF-8 inside a JSON string is invalid_argument", async () => {
    const n = name("utf8json");
    const body = Buffer.concat([
      Buffer.from(`{"name":"${n}`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"${key()}"}`),
    ]);
    assertConnectErrorBody(await rawPost(CREATE, body), "invalid_argument", 400);
  });

  it("a lone surrogate escape in JSON is invalid_argument", async () => {
    const n = name("surrogate");
    const body = `{"name":"${n}\\ud800","kind":"ORGANIZATION_KIND_DISTRICT","idempotencyKey":"${key()}"}`;
    assertConnectErrorBody(await rawPost(CREATE, body), "invalid_argument", 400);
  });

  it("invalid UTF-8 in a protobuf string is invalid_argument", async () => {
    const n = name("utf8proto");
    const bytes = Buffer.concat([
      fieldBytes(1, Buffer.concat([Buffer.from(n), Buffer.from([0xc3, 0x28])])),
      fieldVarint(2, Kind.DISTRICT),
      fieldBytes(4, key()),
    ]);
    assertConnectErrorBody(await rawPost(CREATE, bytes, { contentType: "application/proto" }), "invalid_argument", 400);
    // An overlong encoding of '/' and a surrogate encoded in UTF-8.
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const b = Buffer.concat([fieldBytes(1, Buffer.concat([Buffer.from(n), Buffer.from(bad)])), fieldVarint(2, Kind.DISTRICT), fieldBytes(4, key())]);
      assertConnectErrorBody(await rawPost(CREATE, b, { contentType: "application/proto" }), "invalid_argument", 400);
    }
  });

  it("a NUL character in a name is refused cleanly or stored exactly", async () => {
    const n = `nul-${uid()}\u0000end`;
    const res = await rawPost(CREATE, JSON.stringify({ name: n, kind: "ORGANIZATION_KIND_EMPLOYER", idempotencyKey: key() }));
    if (res.status === 200) {
      countBefore += 1;
      const got = await admin().getOrganization({ id: res.json.organization.id });
      assert.equal(got.organization.name, n);
    } else {
      // Refused before field decoding (PostgreSQL text cannot hold NUL).
      assertConnectErrorBody(res, "invalid_argument", 400);
    }
  });

  it("unknown procedure and unknown service are HTTP 404", async () => {
    const res = await rawPost(`${ADMIN_PATH}/Nope`, JSON.stringify({ name: name("nope"), kind: 1, idempotencyKey: key() }));
    assert.equal(res.status, 404);
    if (res.text.length > 0) assertConnectErrorBody(res, "unimplemented", 404);
    const res2 = await rawPost("/vledger.v9.AdminService/CreateOrganization", JSON.stringify({ name: name("nosvc"), kind: 1, idempotencyKey: key() }));
    assert.equal(res2.status, 404);
    if (res2.text.length > 0) assertConnectErrorBody(res2, "unimplemented", 404);
  });

  it("a text/plain body is HTTP 415", async () => {
    const res = await rawPost(CREATE, JSON.stringify({ name: name("text"), kind: 1, idempotencyKey: key() }), { contentType: "text/plain" });
    assert.equal(res.status, 415, res.text);
  });

  it("a GET of CreateOrganization (not NO_SIDE_EFFECTS) is refused", async () => {
    const msg = encodeURIComponent(JSON.stringify({ name: name("get"), kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key() }));
    const res = await rawGet(`${CREATE}?connect=v1&encoding=json&message=${msg}`);
    assert.ok(res.status < 200 || res.status >= 300, `GET CreateOrganization answered ${res.status}: ${res.text}`);
    assert.ok(res.status === 405 || res.json?.code, `neither 405 nor a Connect error: ${res.status} ${res.text}`);
  });

  it("requests without a valid token write nothing", async () => {
    const body = () => JSON.stringify({ name: name("noauth"), kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key() });
    assertConnectErrorBody(await rawPost(CREATE, body(), { token: null }), "unauthenticated", 401);
    assertConnectErrorBody(await rawPost(CREATE, body(), { token: `vlt_${uid(32)}` }), "unauthenticated", 401);
  });

  it("unknown JSON fields are ignored", async () => {
    const n = `extra-${uid()}`;
    const res = await rawPost(CREATE, JSON.stringify({ name: n, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key(), bogusField: 1, other: { a: [1, 2] } }));
    assert.equal(res.status, 200, res.text);
    countBefore += 1;
    assert.equal(res.json.organization.name, n);
    assert.match(res.json.organization.id, /^org_/);
  });

  it("proto field names and numeric enums are accepted in JSON (protobuf JSON mapping)", async () => {
    const n = `protonames-${uid()}`;
    const res = await rawPost(CREATE, JSON.stringify({ name: n, kind: 1, idempotency_key: key() }));
    assert.equal(res.status, 200, res.text);
    countBefore += 1;
    assert.equal(res.json.organization.kind, "ORGANIZATION_KIND_DISTRICT");
  });

  it("the error body is Connect error JSON with application/json", async () => {
    const res = await rawPost(CREATE, Buffer.from([0xff]), { contentType: "application/proto" });
    assert.equal(res.status, 400);
    assert.match(res.contentType, /^application\/json/);
    assert.equal(res.json.code, "invalid_argument");
    assert.equal(typeof res.json.message, "string");
    assert.ok(res.json.message.length > 0);
  });
});

describe("validation errors over both codecs", () => {
  it("name: required is reported with JSON and proto bodies alike", async () => {
    const j = await rawPost(CREATE, JSON.stringify({ kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key() }));
    assertConnectErrorBody(j, "invalid_argument", 400, "name");
    const p = await rawPost(CREATE, Buffer.concat([fieldVarint(2, Kind.DISTRICT), fieldBytes(4, key())]), { contentType: "application/proto" });
    assertConnectErrorBody(p, "invalid_argument", 400, "name");
  });

  it("unknown protobuf fields are skipped", async () => {
    const n = `unk-${uid()}`;
    const bytes = Buffer.concat([fieldBytes(1, n), fieldVarint(2, Kind.EMPLOYER), fieldBytes(4, key()), fieldVarint(99, 12345), fieldBytes(100, "zz")]);
    const res = await rawPost(CREATE, bytes, { contentType: "application/proto" });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.bytes.includes(Buffer.from(n)));
    const all = await admin().listOrganizations({ pageSize: 500 });
    assert.ok(all.organizations.length > 0);
  });

  it("a proto GET message that is not valid base64 is invalid_argument", async () => {
    const res = await rawGet(`${ADMIN_PATH}/GetOrganization?connect=v1&encoding=proto&base64=1&message=***`);
    assertConnectErrorBody(res, "invalid_argument", 400);
  });
});
