// RFC 6962 / RFC 9162 hashing and inclusion-proof verification for the
// e2e tests, written from the RFCs (receipts.test.mjs checks that it can
// fail); shared so that every test verifies receipts the same way.
import { createHash } from "node:crypto";

export const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
export const leafHash = (entry) => sha256(Buffer.from([0x00]), entry);
export const nodeHash = (l, r) => sha256(Buffer.from([0x01]), l, r);

/**
 * RFC 9162 §2.1.3.2: verify an inclusion proof (audit path) for the leaf
 * hash at `index` in a tree of `size` leaves with root `root`.
 */
export function verifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      // p is a left sibling (or we are the last node of a level: climb
      // past the levels where we have no right sibling).
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}
