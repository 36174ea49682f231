// A service as a team would run it before Glidepath: a stable Deployment, a Service
// and an HTTPRoute sending it all traffic. Used by the demo; no vitest in here.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";

export interface SampleService {
  namespace: string;
  name: string;
  version: string;
  image: (version: string) => string;
}

export async function createSampleService(
  kubeConfig: KubeConfig,
  options: { namespace: string; name: string; version: string; replicas: number },
): Promise<SampleService> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const { namespace, name, version } = options;
  const image = (tag: string) => `registry.example.com/${name}:${tag}`;
  const labels = { app: name };
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: options.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, version } },
          spec: { containers: [{ name, image: image(version) }] },
        },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  await custom.createNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace,
    plural: "httproutes",
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name },
      spec: { parentRefs: [{ name: "public-gateway" }], rules: [{ backendRefs: [{ name, port: 80 }] }] },
    },
  });
  return { namespace, name, version, image };
}
