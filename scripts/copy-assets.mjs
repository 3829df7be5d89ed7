// Copies the files tsc does not emit (the admin page's HTML, script and style) beside the compiled modules.
import { cpSync, rmSync } from "node:fs";

rmSync("dist/src/http/admin", { recursive: true, force: true });
cpSync("src/http/admin", "dist/src/http/admin", { recursive: true });
