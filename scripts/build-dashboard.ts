// `npm run build:dashboard`: bundles the dashboard's page (src/dashboard/web) into dist/dashboard.
import { buildDashboardBundle, DASHBOARD_ASSETS_DIR } from "../src/dashboard/bundle.ts";

const files = await buildDashboardBundle();
console.log(`[build-dashboard] ${files.length} files in ${DASHBOARD_ASSETS_DIR}`);
