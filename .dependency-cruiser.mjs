// The layer order of src/ (docs/architecture.md, "Layers"), checked by `npm run lint`:
// a module may import its own folder and the folders of lower layers, never a higher one,
// and no import cycle may form. The pure layers (api, engine, record) do no I/O.
//
//   7  main.ts, wiring.ts, cli-main.ts           composition roots: the controller (built in wiring.ts), the CLI
//   6  dashboard                                 the CLI's web face, built on the CLI
//   5  hooks, notify, cli                        ways in and out (HTTP hooks, notifiers, people)
//   4  controller, admission                     reconcile loop; the admission webhook
//   3  analysis, workload, traffic               the engine's world: Prometheus, Deployments, routes
//   2  kube, telemetry, http, config             plumbing: API client and caches, logs and metrics, the HTTP
//                                                server, the files and secrets the process is given
//   1  engine, record                            pure decisions; the change record, DORA
//   0  api                                       schemas, types, names

const LAYERS = [
  ["api"],
  ["engine", "record"],
  ["kube", "telemetry", "http", "config"],
  ["analysis", "workload", "traffic"],
  ["controller", "admission"],
  ["hooks", "notify", "cli"],
  ["dashboard"],
];

/** Imports across folders of one layer that are allowed, as from → to. */
const SIDEWAYS = [
  ["telemetry", "kube"], // the logger describes API errors
  ["traffic", "workload"], // the replica split scales through the WorkloadManager
];

const folder = (name) => `^src/${name}/`;
const rules = [];
LAYERS.forEach((layer, rank) => {
  const higher = LAYERS.slice(rank + 1).flat();
  for (const name of layer) {
    const sameLayerForbidden = layer.filter(
      (other) => other !== name && !SIDEWAYS.some(([from, to]) => from === name && to === other),
    );
    const forbidden = [...higher, ...sameLayerForbidden];
    if (forbidden.length === 0) continue;
    rules.push({
      name: `layer-${name}`,
      comment: `src/${name} (layer ${rank}) may not import ${forbidden.join(", ")}: see docs/architecture.md, Layers`,
      severity: "error",
      from: { path: folder(name) },
      to: { path: `^src/(${forbidden.join("|")})/|^src/[^/]+\\.ts$` },
    });
  }
});

export default {
  forbidden: [
    ...rules,
    {
      name: "no-circular",
      comment:
        "an import cycle at run time: the modules cannot be read, tested or loaded one without the other " +
        "(type-only imports vanish when the code runs, so they make none)",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "pure-layers-do-no-io",
      comment: "api, engine and record decide and describe; I/O belongs to the layers above",
      severity: "error",
      from: { path: "^src/(api|engine|record)/" },
      to: {
        dependencyTypesNot: ["type-only"],
        path: "^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|dns|tls)$|^(axios|@kubernetes/client-node|prom-client|pino)$",
      },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
