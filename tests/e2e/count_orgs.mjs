// Prints how many organisations the admin token sees (run.sh uses it to check
// that data survives a restart). Needs the same environment as the tests.
import { admin, listAllOrgs } from "./lib.mjs";

const all = await listAllOrgs(admin());
console.log(all.length);
