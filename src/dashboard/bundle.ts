// The page's bundle: src/dashboard/web (Preact, uPlot) built by esbuild into one script
// and one stylesheet under dist/dashboard, with nothing loaded from elsewhere at run time.
// Built by `npm run build:dashboard` (and by the README's test and demo commands);
// esbuild is imported only here, so running the dashboard does not need it.
import { fileURLToPath } from "node:url";

/** Where the dashboard server reads app.js and app.css. */
export const DASHBOARD_ASSETS_DIR = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

const ENTRY = fileURLToPath(new URL("./web/main.tsx", import.meta.url));

export async function buildDashboardBundle(outDir: string = DASHBOARD_ASSETS_DIR): Promise<string[]> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: { app: ENTRY },
    outdir: outDir,
    bundle: true,
    format: "esm",
    target: ["chrome120", "firefox120", "safari17"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    sourcemap: false,
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  return Object.keys(result.metafile.outputs);
}
