// Lint runs as part of `npm test`; type-aware rules catch floating promises and `any` leaks.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "data/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
    },
  },
  {
    // The admin page's plain ES modules run in the browser (no bundler); the few browser globals they use, declared here.
    files: ["src/http/admin/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        ["window", "document", "location", "fetch", "URLSearchParams", "AbortSignal", "DOMException", "CSS", "Node", "Element", "Event", "HTMLElement", "HTMLDialogElement", "HTMLInputElement", "SVGElement"].map((g) => [g, "readonly"]),
      ),
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-restricted-properties": ["error",
        { property: "innerHTML", message: "build elements with dom.js: server data must never be parsed as HTML" },
        { property: "outerHTML", message: "build elements with dom.js: server data must never be parsed as HTML" },
        { property: "insertAdjacentHTML", message: "build elements with dom.js: server data must never be parsed as HTML" },
      ],
      "no-restricted-globals": ["error", { name: "eval", message: "the page runs no generated code" }],
    },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
);
