// A second client stack: the official MCP TypeScript SDK client (1.x) drives the stdio server.
//
// Usage: node tests/ts_client.mjs <spec.json>
// spec: {"sdk": "<dir of @modelcontextprotocol/sdk>", "command": "...", "args": [...], "env": {...},
//        "client": {"name": "...", "version": "..."}, "calls": [{"name": "...", "arguments": {...}}, ...]}
// Prints one JSON object: {"sdkVersion", "serverVersion", "tools": [...], "results": [...]}, where each
// result is the CallToolResult, or {"thrown": message, "code": n} when the SDK raised instead (for
// example "Structured content does not match the tool's output schema").
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const load = (relative) => import(pathToFileURL(join(spec.sdk, "dist/esm", relative)).href);
const { Client } = await load("client/index.js");
const { StdioClientTransport } = await load("client/stdio.js");
const sdkVersion = JSON.parse(readFileSync(join(spec.sdk, "package.json"), "utf8")).version;

const transport = new StdioClientTransport({
  command: spec.command,
  args: spec.args,
  env: spec.env,
  stderr: "inherit",
});
const client = new Client(spec.client ?? { name: "generate-media-ts-test", version: "0.0.0" });
await client.connect(transport);

const listed = await client.listTools();
const results = [];
for (const call of spec.calls ?? []) {
  try {
    results.push(await client.callTool({ name: call.name, arguments: call.arguments }));
  } catch (error) {
    results.push({ thrown: String(error?.message ?? error), code: error?.code ?? null });
  }
}
const serverVersion = client.getServerVersion();
await client.close();
process.stdout.write(JSON.stringify({ sdkVersion, serverVersion, tools: listed.tools, results }));
