// `terraform fmt -check` for machines without terraform: HashiCorp's own HCL formatter
// (hclwrite.Format, which terraform fmt applies) and parser, compiled to WebAssembly in
// the npm packages @cdktf/hcl-tools and @cdktf/hcl2json.
//
//   node infra/aws/tools/fmt.mjs [--write | --json] DIR
//
// Exit status 0 when every .tf file parses and is already formatted; 3 when a file needs
// formatting (it is named with the first line that differs; --write rewrites it); 1 on a
// parse error. --json prints every file's parsed configuration, keyed by file name.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

// HCL_TOOLS_PREFIX: the folder the packages were installed into (npm install --prefix).
const require = createRequire(process.env.HCL_TOOLS_PREFIX ? resolve(process.env.HCL_TOOLS_PREFIX, "node_modules") + "/" : import.meta.url);
const { format } = require("@cdktf/hcl-tools");
const { parse } = require("@cdktf/hcl2json");

const args = process.argv.slice(2);
const write = args.includes("--write");
const json = args.includes("--json");
const dir = args.filter((a) => !a.startsWith("--"))[0];
if (!dir) {
  console.error("usage: node fmt.mjs [--write | --json] DIR");
  process.exit(2);
}

let status = 0;
const parsed = {};
for (const name of readdirSync(dir).filter((n) => n.endsWith(".tf")).sort()) {
  const path = join(dir, name);
  const source = readFileSync(path, "utf8");
  try {
    parsed[name] = await parse(name, source);
  } catch (e) {
    console.error(`${path}: does not parse: ${e.message ?? e}`);
    status = 1;
    continue;
  }
  const formatted = await format(source);
  if (formatted !== source) {
    if (write) {
      writeFileSync(path, formatted);
      console.log(`${path}: formatted`);
    } else {
      const a = source.split("\n"), b = formatted.split("\n");
      const line = a.findIndex((text, i) => text !== b[i]);
      console.error(`${path}:${line + 1}: not formatted; expected: ${JSON.stringify(b[line])}`);
      status = status || 3;
    }
  }
}
if (json) console.log(JSON.stringify(parsed));
process.exit(status);
