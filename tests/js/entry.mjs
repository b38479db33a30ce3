// Bundled by esbuild for Node: actor-kit/server ships TypeScript and actor-kit/browser
// imports a CommonJS module by name, so neither loads in plain Node as published.
export { createAccessToken, createActorFetch } from "actor-kit/server";
export { createActorKitClient } from "actor-kit/browser";
