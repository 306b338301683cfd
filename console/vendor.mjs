// Copies the console's pinned libraries, unmodified, from node_modules (installed by `npm ci`
// from package-lock.json) into the server's static folder, and records where each file came
// from: package, version, the lock file's tarball integrity and the file's SHA-256. The console
// has no build step; these files are served as they are.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "server", "web", "static", "console", "vendor");
// served name -> [package, path inside the package]
const FILES = {
  "preact.mjs": ["preact", "dist/preact.mjs"],
  "hooks.mjs": ["preact", "hooks/dist/hooks.mjs"],
  "htm.mjs": ["htm", "dist/htm.module.js"],
  "graphql-ws.min.js": ["graphql-ws", "umd/graphql-ws.min.js"],
  "cronstrue.min.js": ["cronstrue", "dist/cronstrue.min.js"],
};
const LICENSES = { preact: "LICENSE", htm: "LICENSE", "graphql-ws": "LICENSE.md", cronstrue: "LICENSE" };

const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
mkdirSync(target, { recursive: true });
const vendored = {};
for (const [name, [pkg, path]] of Object.entries(FILES)) {
  const source = join(here, "node_modules", pkg, path);
  const locked = lock.packages[`node_modules/${pkg}`];
  copyFileSync(source, join(target, name));
  vendored[name] = {
    package: pkg,
    version: locked.version,
    path,
    tarball_integrity: locked.integrity,
    sha256: createHash("sha256").update(readFileSync(source)).digest("hex"),
  };
}
writeFileSync(join(target, "VENDORED.json"), JSON.stringify(vendored, null, 2) + "\n");

let notice = "# Third-party files served by the console\n\n| File | Package |\n| --- | --- |\n";
for (const [name, entry] of Object.entries(vendored)) notice += `| ${name} | ${entry.package}@${entry.version} |\n`;
for (const [pkg, file] of Object.entries(LICENSES)) {
  const version = lock.packages[`node_modules/${pkg}`].version;
  notice += `\n## ${pkg}@${version}: ${file}\n\n` + readFileSync(join(here, "node_modules", pkg, file), "utf8").trim() + "\n";
}
writeFileSync(join(target, "THIRD_PARTY_LICENSES.md"), notice);
console.log(`vendored ${Object.keys(vendored).length} files into ${target}`);
