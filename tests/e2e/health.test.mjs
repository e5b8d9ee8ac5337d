// Liveness/readiness endpoints, grpc.health.v1.Health and routing of unknown
// procedures.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ADMIN_PATH,
  ConnectError,
  FORMATS,
  ServingStatus,
  URL_BASE,
  assertConnectErrorBody,
  health,
  rawGet,
  rawPost,
} from "./lib.mjs";

describe("HTTP probes", () => {
  it("GET /healthz answers 200 without a token", async () => {
    const res = await fetch(`${URL_BASE}/healthz`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
  });

  it("GET /readyz answers 200 without a token", async () => {
    const res = await fetch(`${URL_BASE}/readyz`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
  });
});

for (const format of FORMATS) {
  describe(`grpc.health.v1.Health (${format})`, () => {
    it("Check without a token answers SERVING", async () => {
      const res = await health({ format }).check({});
      assert.equal(ServingStatus.SERVING, 1);
      assert.equal(res.status, ServingStatus.SERVING);
    });

    it("Check with service \"\" answers SERVING", async () => {
      const res = await health({ format }).check({ service: "" });
      assert.equal(res.status, ServingStatus.SERVING);
    });
  });
}

describe("grpc.health.v1.Health/Watch", () => {
  it("as a Connect unary call (JSON) answers unimplemented / HTTP 501", async () => {
    const res = await rawPost("/grpc.health.v1.Health/Watch", "{}", { token: null });
    assertConnectErrorBody(res, "unimplemented", 501);
  });

  it("as a Connect unary call (proto) answers unimplemented / HTTP 501", async () => {
    const res = await rawPost("/grpc.health.v1.Health/Watch", Buffer.alloc(0), {
      token: null,
      contentType: "application/proto",
    });
    assertConnectErrorBody(res, "unimplemented", 501);
  });

  it("a streaming Connect client gets an error, not a stream", async () => {
    const stream = health({ format: "binary" }).watch({});
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const _msg of stream) got++;
      })(),
      (err) => err instanceof ConnectError,
    );
    assert.equal(got, 0);
  });
});

describe("unknown procedures", () => {
  it("POST /vledger.v1.AdminService/Nope answers HTTP 404 (code unimplemented)", async () => {
    const res = await rawPost(`${ADMIN_PATH}/Nope`, "{}");
    assert.equal(res.status, 404);
    if (res.text.length > 0) assertConnectErrorBody(res, "unimplemented", 404);
  });

  it("POST to an unknown service answers HTTP 404 (code unimplemented)", async () => {
    const res = await rawPost("/vledger.v1.NoSuchService/CreateOrganization", "{}");
    assert.equal(res.status, 404);
    if (res.text.length > 0) assertConnectErrorBody(res, "unimplemented", 404);
  });

  it("GET of an unknown procedure answers HTTP 404", async () => {
    const res = await rawGet(`${ADMIN_PATH}/Nope?connect=v1&encoding=json&message=%7B%7D`);
    assert.equal(res.status, 404);
  });

  it("POST to an unknown method of the Health service answers HTTP 404", async () => {
    const res = await rawPost("/grpc.health.v1.Health/Nope", "{}", { token: null });
    assert.equal(res.status, 404);
    if (res.text.length > 0) assertConnectErrorBody(res, "unimplemented", 404);
  });
});
