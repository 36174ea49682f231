// esbuild bundles stylesheets imported for their effect; TypeScript needs to know they exist.
declare module "*.css";
